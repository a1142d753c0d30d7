/* Structs and constants shared by bpf/dns.bpf.c and collectors/dns/: the one
 * definition of everything that crosses the kernel/user boundary of the dns
 * collector. Plain __u8/__u16/__u32/__u64 with explicit padding; compiles as
 * C (clang -target bpf, after vmlinux.h) and as C++ (after <linux/types.h>).
 */
#ifndef NETOBS_BPF_DNS_H_
#define NETOBS_BPF_DNS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Most ports treated as DNS (collectors.dns.ports). */
#define DNS_MAX_PORTS 8

/* Latency histogram: upper bounds in nanoseconds, 10 us .. 10 s in 1-2.5-5
 * steps; bucket DNS_LATENCY_BOUNDS holds everything above the last bound
 * (+Inf). User space divides by 1e9 for the `le` labels in seconds. */
#define DNS_LATENCY_BOUNDS 19
#define DNS_LATENCY_BUCKETS (DNS_LATENCY_BOUNDS + 1)
#define DNS_LATENCY_BOUNDS_NS                                                              \
  {                                                                                        \
    10000ULL, 25000ULL, 50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL, \
        5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,     \
        500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL          \
  }

/* Bytes of a DNS message copied into a ring-buffer record (names and answers
 * are decoded in user space from these; longer messages are cut). */
#define DNS_CAPTURE_BYTES 1024

/* transport */
#define DNS_TRANSPORT_UDP 0
#define DNS_TRANSPORT_TCP 1
#define DNS_TRANSPORTS 2

/* family: addresses are stored in 16 bytes; IPv4 uses the first 4. */
#define DNS_FAMILY_IPV4 4
#define DNS_FAMILY_IPV6 6

/* Kinds of entries in the `dns_stats` map. */
#define DNS_STAT_QUERY 0
#define DNS_STAT_RESPONSE 1

/* Why a packet on a DNS port was not a DNS message netobs could read. */
enum dns_malformed_reason {
  DNS_MALFORMED_SHORT_HEADER = 0, /* fewer than 12 bytes after UDP/TCP (+2-byte length) */
  DNS_MALFORMED_TCP_LENGTH = 1,   /* TCP length prefix smaller than a DNS header */
  DNS_MALFORMED_NO_QUESTION = 2,  /* a query with QDCOUNT 0 */
  DNS_MALFORMED_BAD_NAME = 3,     /* label type 0x40/0x80, or name longer than 255 bytes */
  DNS_MALFORMED_TRUNCATED = 4,    /* question runs past the end of the packet */
  DNS_MALFORMED_REASONS = 5,
};

/* Indexes of the per-CPU `dns_counters` array. Per-transport counters use
 * index + transport. */
enum dns_counter {
  DNS_C_MALFORMED = 0, /* + reason * DNS_TRANSPORTS + transport */
  DNS_C_TRUNCATED = DNS_C_MALFORMED + DNS_MALFORMED_REASONS * DNS_TRANSPORTS, /* + transport */
  DNS_C_UNMATCHED_RESPONSES = DNS_C_TRUNCATED + DNS_TRANSPORTS,               /* + transport */
  DNS_C_RETRANSMITTED_QUERIES = DNS_C_UNMATCHED_RESPONSES + DNS_TRANSPORTS,   /* + transport */
  DNS_C_CORR_INSERTS = DNS_C_RETRANSMITTED_QUERIES + DNS_TRANSPORTS,          /* entries added */
  DNS_C_CORR_MATCHED,        /* entries claimed (WAITING -> ANSWERED) by a response */
  DNS_C_CORR_INSERT_ERRORS,  /* update failed (not EEXIST): query not tracked */
  DNS_C_STATS_UPDATE_ERRORS, /* dns_stats full: that count was dropped */
  DNS_C_SERVERS_OVERFLOW,    /* dns_servers full: query counted as `other` */
  DNS_C_EVENTS_LOST,         /* ring buffer full */
  DNS_C_LOOPBACK_DUPLICATES, /* second copy of a loopback packet, skipped */
  DNS_C_OTHERHOST,           /* promiscuous copies of other hosts' packets, skipped */
  DNS_C_IPV6_EXT_TOO_DEEP,   /* more extension headers than walked: skipped */
  DNS_C_PROC_UPDATES,        /* process attributions recorded (sock_send_length) */
  DNS_C_FILTERED,            /* messages left out by network.* CIDR / port filters */
  DNS_C_CGROUP_OVERFLOW,     /* responses folded into the `other` cgroup */
  DNS_COUNTERS,
};

/* Key of the query/response correlation map: the query's client and server
 * ends (a response has them swapped) and the DNS ID. 40 bytes. */
struct dns_flow_key {
  __u8 client[16];
  __u8 server[16];
  __u16 client_port; /* host byte order */
  __u16 server_port;
  __u16 id;
  __u8 transport;
  __u8 family;
};

/* dns_pending.state. An entry is claimed exactly once, by an atomic
 * compare-and-swap from DNS_PENDING_WAITING: to ANSWERED by the response (in
 * the socket filter), or to EXPIRED by the timeout sweep (user space runs
 * dns_claim_expired through BPF_PROG_TEST_RUN, since it cannot do atomics on
 * a hash map value itself). Answered entries stay in the map until the next
 * sweep removes them (or LRU reclaims them): no delete on the response path. */
#define DNS_PENDING_WAITING 0
#define DNS_PENDING_ANSWERED 1
#define DNS_PENDING_EXPIRED 2

/* A query waiting for its response (or answered, until swept). */
struct dns_pending {
  __u64 ts_ns;    /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when the query was seen */
  __u64 state;    /* DNS_PENDING_*; 64-bit: the only atomic size BPF v1-v2 ISA CPUs get */
  __u32 proc_key; /* dns_procs key when a local socket sent it (see dns_proc_key), else 0 */
  __u16 qtype;
  __u16 pad;
};

/* dns_claim_expired's input, after a 14-byte dummy Ethernet header (the
 * BPF_PROG_TEST_RUN packet). Its return value is one of DNS_CLAIM_*. */
#define DNS_CLAIM_NOT_FOUND 0
#define DNS_CLAIM_EXPIRED 1     /* was waiting: now counted unanswered by the caller, removed */
#define DNS_CLAIM_NOT_WAITING 2 /* answered (or claimed) meanwhile: removed, not counted */

/* Key of the dns_procs map: the sending socket's local port and transport.
 * Ephemeral client ports identify the socket on this host; 0 is never a key. */
static inline __u32 dns_proc_key(__u16 local_port, __u8 transport) {
  return (__u32)local_port | ((__u32)transport << 16) | (1U << 24);
}

/* Common query types get fixed slots in the per-CPU array `dns_stats_fast`
 * (an array lookup is inlined by the verifier; a hash lookup is a call and
 * a hash of the key); every other type goes to the `dns_stats` hash.
 * Index: ((transport * DNS_FAST_QTYPES + slot) * DNS_FAST_COLUMNS) + column,
 * column = rcode (0..15) for responses, DNS_FAST_QUERY_COLUMN for queries. */
#define DNS_FAST_QTYPES 16
#define DNS_FAST_QTYPE_LIST \
  { 1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 48, 64, 65, 255, 257 }
#define DNS_FAST_QUERY_COLUMN 16
#define DNS_FAST_COLUMNS 17
#define DNS_FAST_ENTRIES (DNS_TRANSPORTS * DNS_FAST_QTYPES * DNS_FAST_COLUMNS)

struct dns_stats_key {
  __u16 qtype;
  __u8 rcode; /* 0 for queries */
  __u8 transport;
  __u8 kind; /* DNS_STAT_* */
  __u8 pad[3];
};

/* Per CPU. Queries use `count` only. */
struct dns_stats_value {
  __u64 count;
  __u64 sum_ns;
  __u64 buckets[DNS_LATENCY_BUCKETS];
};

/* Opt-in per-server counts (collectors.dns.server_labels). */
struct dns_server_key {
  __u8 addr[16];
  __u8 family;
  __u8 pad[7];
};

struct dns_server_value {
  __u64 queries;
  __u64 responses;
};

/* Process that last sent on a local port (dns_procs map, key dns_proc_key). */
struct dns_proc {
  __u32 tgid;
  __u32 pad;
  char comm[16];
  __u64 cgroup_id; /* cgroup v2 id of the sender (rodata attribute_cgroup), else 0 */
};

/* Responses by the querying process's cgroup (collectors.dns.attribution:
 * cgroup). Cgroup id 0 holds the `other` series (past max_cgroups). */
#define DNS_CGROUP_OTHER 0ull
struct dns_cgroup_key {
  __u64 cgroup_id;
  __u8 rcode;
  __u8 pad[7];
};

/* Ring-buffer record kinds. */
#define DNS_EVENT_EXCHANGE 1     /* a response matched to its query */
#define DNS_EVENT_QUERY_SAMPLE 2 /* 1-in-N query for the top-domains metric */

struct dns_event {
  __u32 kind;
  __u32 tgid; /* 0 when unknown */
  __u64 ts_ns;
  __u64 latency_ns; /* exchanges only */
  char comm[16];
  __u8 client[16];
  __u8 server[16];
  __u16 client_port;
  __u16 server_port;
  __u16 id;
  __u16 qtype; /* from the query */
  __u16 flags; /* DNS header flags of the captured message */
  __u8 transport;
  __u8 family;
  __u16 msg_len;   /* bytes in msg (<= DNS_CAPTURE_BYTES) */
  __u16 msg_total; /* length of the whole DNS message */
  __u8 msg[DNS_CAPTURE_BYTES];
};

#endif /* NETOBS_BPF_DNS_H_ */
