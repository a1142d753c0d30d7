/* The socket collector's kernel/user boundary: map layouts and the event
 * record. The ONE definition of each struct; included by bpf/socket.bpf.c
 * and by collectors/socket/ (C++). Plain __u32/__u64 with explicit padding,
 * no vmlinux.h.
 */
#ifndef NETOBS_BPF_SOCKET_H_
#define NETOBS_BPF_SOCKET_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SOCKET_COMM_LEN 16

/* Histogram slots. Sizes: slot k counts bytes in (2^(k-1), 2^k] (slot 0:
 * 0 and 1), so Prometheus le = 2^k holds exactly; the last slot is +Inf.
 * Latency: nanoseconds, slot k counts (2^(k+9), 2^(k+10)] ns, i.e. le =
 * 2^(k+10) ns (slot 0: everything up to 1.024 us); the last slot is +Inf. */
#define SOCKET_SIZE_SLOTS 28
#define SOCKET_LAT_SLOTS 26
#define SOCKET_LAT_FIRST_SHIFT 10

/* The MSG_* flags counted, in this order (bit values of linux/socket.h). */
#define SOCKET_FLAG_COUNT 8

/* Index of a protocol in the stats layout and in `protocol_mask`, the
 * direction, and the IP version index. Macros, not enums: C++ refuses
 * arithmetic between different enumeration types. */
#define SOCKET_PROTO_TCP 0
#define SOCKET_PROTO_UDP 1
#define SOCKET_PROTO_COUNT 2
#define SOCKET_DIR_SEND 0
#define SOCKET_DIR_RECV 1
#define SOCKET_DIR_COUNT 2
#define SOCKET_IPV4 0
#define SOCKET_IPV6 1
#define SOCKET_IPVER_COUNT 2

/* stats map (per-CPU array): index = comm_slot * SOCKET_STATS_PER_SLOT +
 * proto * SOCKET_DIR_COUNT + direction. comm_slot is 0 when per_process is
 * off; otherwise the slot from comm_slots, and max_processes is the `other`
 * slot every comm beyond the cap folds into. */
#define SOCKET_STATS_PER_SLOT (SOCKET_PROTO_COUNT * SOCKET_DIR_COUNT)

struct socket_stats {
  __u64 calls[SOCKET_IPVER_COUNT]; /* every operation, failed ones included */
  __u64 bytes[SOCKET_IPVER_COUNT]; /* bytes moved by successful operations (MSG_PEEK: 0) */
  __u64 size_sum;                  /* bytes returned by successful operations */
  /* Operations that failed with EAGAIN, the usual error of a non-blocking
   * socket: counted here, next to calls, instead of in the errors hash. */
  __u64 eagain;
  __u64 size_slots[SOCKET_SIZE_SLOTS]; /* successful operations by returned size */
  __u64 lat_slots[SOCKET_LAT_SLOTS];   /* operations with a known start time */
  __u64 lat_sum_ns;
  __u64 flags[SOCKET_FLAG_COUNT]; /* operations carrying each MSG_* flag */
};

/* EAGAIN (= EWOULDBLOCK) on Linux. */
#define SOCKET_EAGAIN 11

/* errors map (per-CPU hash): key -> operations that returned -errno, EAGAIN
 * excepted (socket_stats.eagain). */
struct socket_error_key {
  __u32 comm_slot;
  __u8 proto;     /* SOCKET_PROTO_* */
  __u8 direction; /* SOCKET_DIR_* */
  __u16 err;      /* positive errno */
};

/* counters map (per-CPU array) indexes. */
enum socket_counter {
  SOCKET_CTR_EVENTS_LOST = 0,     /* ring buffer full: event dropped */
  SOCKET_CTR_ERRORS_FULL = 1,     /* errors map full: error not counted by errno */
  SOCKET_CTR_FOLDED_OPS = 2,      /* operations attributed to comm "other" */
  SOCKET_CTR_FOLDED_COMMS = 3,    /* distinct comms folded into "other" (see folded_comms) */
  SOCKET_CTR_SAMPLE = 4,          /* running count for 1-in-N event sampling */
  SOCKET_CTR_EVENTS_SAMPLED = 5,  /* events skipped by sampling */
  SOCKET_CTR_THREAD_OPS_FULL = 6, /* thread_ops full: an operation without flags/latency */
  SOCKET_CTR_COUNT = 7,
};

/* comm_slots / comm_filter / folded_comms key. */
struct socket_comm {
  char comm[SOCKET_COMM_LEN] __attribute__((aligned(8))); /* compared as two __u64 */
};

/* One send or receive, as the ring buffer carries it. Addresses are in
 * network byte order, 4 bytes used for IPv4 (IPv4-mapped IPv6 is reported as
 * IPv4); ports in host byte order. src/dst follow the data: a send goes
 * local -> remote, a receive remote -> local. */
struct socket_event {
  __u64 ts_ns;      /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  __u64 latency_ns; /* 0: unknown (no syscall entry seen) */
  __u32 pid;        /* thread group id */
  __u32 tid;
  __u32 size;  /* bytes returned; 0 on error */
  __u32 err;   /* positive errno, 0 on success */
  __u32 flags; /* MSG_* flags of the call */
  __u16 sport;
  __u16 dport;
  __u8 saddr[16];
  __u8 daddr[16];
  char comm[SOCKET_COMM_LEN];
  __u8 protocol;   /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
  __u8 ip_version; /* 4 or 6 */
  __u8 direction;  /* SOCKET_DIR_* */
  __u8 pad[5];
};

#endif /* NETOBS_BPF_SOCKET_H_ */
