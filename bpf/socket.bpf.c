// SPDX-License-Identifier: GPL-2.0
/* socket collector: every send and receive on TCP and UDP sockets (IPv4 and
 * IPv6), aggregated in per-CPU maps, and optionally streamed as events.
 *
 * Hooks (each a rung of an attach ladder, see collectors/socket/):
 *   sock:sock_send_length / sock:sock_recv_length (Linux 6.3+): tp_btf ->
 *     raw_tp -> classic tracepoint. They fire once per protocol sendmsg /
 *     recvmsg with its return value (bytes or -errno); recv also gets flags.
 *   syscalls:sys_{enter,exit}_{sendto,sendmsg,sendmmsg,recvfrom,recvmsg,
 *     recvmmsg}: classic tracepoints only. They record per thread the MSG_*
 *     flags the caller passed and the start time, which the sock_* handlers
 *     read for flags and latency. raw_tp sys_enter would also work without
 *     tracefs, but it runs for every syscall of every process (and needs a
 *     syscall-number filter on each); the per-syscall tracepoints run only
 *     for these six, which is what keeps the collector cheap.
 *   Fallback for kernels without sock_*_length: tcp_sendmsg, tcp_recvmsg,
 *     udp_sendmsg, udp_recvmsg, udpv6_sendmsg, udpv6_recvmsg via
 *     fentry/fexit, else kprobe/kretprobe.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/log2_slot.h"
#include "lib/network_filter.h"
#include "socket.h"

#define AF_INET 2
#define AF_INET6 10

/* MSG_* values of linux/socket.h. The product specification's table prints wrong hex for
 * four of them (DONTWAIT 0x20, NOSIGNAL 0x40, MORE 0x4000, ZEROCOPY
 * 0x8000000 are MSG_TRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_SPLICE_PAGES);
 * the names are what matters, so the kernel's values are used. */
#define MSG_OOB 0x01
#define MSG_PEEK 0x02
#define MSG_DONTROUTE 0x04
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define MSG_MORE 0x8000
#define MSG_ZEROCOPY 0x4000000

/* ---- configuration (skel->rodata, set before load) ---- */

const volatile __u8 protocol_mask = (1 << SOCKET_PROTO_TCP) | (1 << SOCKET_PROTO_UDP);
const volatile bool filter_pids = false;
const volatile bool filter_comms = false;
const volatile bool per_process = true;
/* The syscall tracepoints are attached (collectors.socket.syscall_details). */
const volatile bool syscall_details = true;
const volatile __u32 max_processes = 64; /* slot max_processes is "other" */
/* attribution: cgroup. The slot key is the task's cgroup v2 id (first 8
 * bytes of struct socket_comm, the rest zero) instead of its comm. */
const volatile bool attribute_cgroup = false;
const volatile bool events_enabled = false;
/* Nothing but counting is asked (no pid/comm/port/CIDR filter, no syscall
 * records, no events: the default). The tp_btf hooks then take
 * handle_count_only, a short path the compiler lays out on its own, and the
 * verifier drops the general one as dead code (rodata is frozen). */
const volatile bool count_only = false;
const volatile __u32 sample_rate = 1; /* events: keep 1 in N */
/* Wake the event reader once this much is queued (see submit_flags). */
const volatile __u64 wakeup_bytes = 0;

/* Set by user space once the filter maps are filled: until then nothing is
 * counted, so no operation slips past a filter that is still empty. */
bool filters_ready = false;

/* Bumped by user space around freeing idle slots: a cached slot taken under
 * another epoch is resolved again, so no task keeps counting into a slot
 * that was given to someone else. */
__u32 slot_epoch = 0;

/* ---- maps ---- */

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, (64 + 1) * SOCKET_STATS_PER_SLOT); /* resized from max_processes */
  __type(key, __u32);
  __type(value, struct socket_stats);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct socket_error_key);
  __type(value, __u64);
} errors SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SOCKET_CTR_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* comm -> slot in `stats`; capacity max_processes (resized before load). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct socket_comm);
  __type(value, __u32);
} comm_slots SEC(".maps");

/* The comm label of a task, resolved once: `tag` is the task's comm as it
 * was (16 raw bytes of task->comm, two direct loads to revalidate), `slot`
 * its row in `stats` ("other" included) and `pass` the comm filter's
 * verdict. prctl(PR_SET_NAME), /proc/PID/comm writes and exec change
 * task->comm in place, so a changed tag is seen on the next operation; the
 * slot depends on the name only, so a reused entry stays right. */
struct comm_cache {
  __u64 tag[2];
  __u64 cgroup; /* attribute_cgroup: the cgroup id the slot is for */
  __u32 slot;
  __u32 epoch; /* slot_epoch when the slot was resolved */
  __u8 valid;
  __u8 pass;
  __u8 pad[6];
};

/* Where the comm cache lives without task storage (kernels before 5.12):
 * the last comm seen on this CPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct comm_cache);
} comm_cache SEC(".maps");

/* Slots nobody holds, as a queue: user space pushes 0..max_processes-1 at
 * start and each slot it frees; a new comm (or cgroup) pops one. A pop is
 * atomic, so two CPUs never get the same slot. */
struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 64);
  __type(value, __u32);
} free_slots SEC(".maps");

/* comms already counted as folded (LRU: beyond its size a comm may count twice). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, struct socket_comm);
  __type(value, __u8);
} folded_comms SEC(".maps");

/* Filters; sized and filled by user space when the matching flag is set. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8);
} pid_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct socket_comm);
  __type(value, __u8);
} comm_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096); /* resized from events.ring_buffer_size */
} events SEC(".maps");

/* A socket syscall in progress on a thread (sys_enter -> sys_exit). */
#define UADDR_NONE 0
#define UADDR_SOCKADDR 1 /* uaddr is a struct sockaddr * (sendto, recvfrom) */
#define UADDR_MSGHDR 2   /* uaddr is a struct user_msghdr * (sendmsg, recvmsg) */
#define UADDR_MMSGHDR 3  /* uaddr is a struct mmsghdr[] (sendmmsg, recvmmsg) */
struct thread_op {
  __u64 start_ns;
  __u64 uaddr; /* user pointer naming the peer of an unconnected socket */
  __u32 flags;
  __u16 msg_index; /* recvmmsg: messages received so far in this call */
  __u8 direction;
  __u8 uaddr_kind;
  __u8 active; /* task storage outlives the syscall: cleared at sys_exit */
  __u8 pad[7];
};

/* Everything kept per thread, so the hot path does one lookup: the syscall
 * record and the comm label cache. */
struct task_state {
  struct thread_op op;
  struct comm_cache comm;
};

/* Where task_state lives. Task local storage (Linux 5.12+ for tracing
 * programs) is found through a per-task cache, about 40 ns per event
 * cheaper than hashing the tid, and freed with the task; every thread that
 * touches a socket gets one entry (BPF_F_NO_PREALLOC: allocated on first
 * use). Older kernels get the tid hash for the syscall record (an entry per
 * syscall in flight) and the per-CPU comm cache. User space creates only the
 * map in use, and the verifier skips the other branch because
 * use_task_storage is a known constant. */
const volatile bool use_task_storage = true;

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_state);
} task_ops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32); /* tid */
  __type(value, struct thread_op);
} thread_ops SEC(".maps");

/* The current thread's task_state (task storage only); created on first use. */
static __always_inline struct task_state* current_state(struct task_struct* task) {
  return bpf_task_storage_get(&task_ops, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* The current thread's syscall record; `create` makes one (sys_enter). */
static __always_inline struct thread_op* current_op(bool create) {
  __u32 tid;

  if (use_task_storage) {
    struct task_state* st = bpf_task_storage_get(&task_ops, bpf_get_current_task_btf(), 0,
                                                 create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);

    return st ? &st->op : NULL;
  }
  tid = (__u32)bpf_get_current_pid_tgid();
  if (create) {
    struct thread_op zero = {};

    bpf_map_update_elem(&thread_ops, &tid, &zero, BPF_ANY);
  }
  return bpf_map_lookup_elem(&thread_ops, &tid);
}

/* A receive on an unconnected socket waiting to learn its sender, which
 * the kernel writes to the caller's buffer only after sock_recv_length:
 * at sys_exit (recvfrom, recvmsg) or, for recvmmsg, before the next
 * message (see finish_pending). `count`: the metrics still have to count it
 * (deferred because a CIDR filter needs the sender); `emit`: an event. */
struct pending_recv {
  struct socket_event event;
  __u32 slot;
  __u16 msg_index; /* recvmmsg: which message of the vector */
  __u8 count;
  __u8 emit;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* tid */
  __type(value, struct pending_recv);
} pending_events SEC(".maps");

/* Fallback (kprobe/fentry) state: the entry's arguments, keyed by
 * tid << 8 | function, so udpv6_sendmsg -> udp_sendmsg nesting keeps both. */
struct fallback_call {
  struct sock* sk;
  __u64 start_ns;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, struct fallback_call);
} fallback_calls SEC(".maps");

/* ---- helpers ---- */

static __always_inline void count(__u32 counter, __u64 delta) {
  __u64* value = bpf_map_lookup_elem(&counters, &counter);

  if (value) *value += delta;
}

static __always_inline bool comm_passes(const struct socket_comm* comm) {
  return !filter_comms || bpf_map_lookup_elem(&comm_filter, comm) != NULL;
}

static __always_inline bool pid_passes(__u32 tgid) {
  return !filter_pids || bpf_map_lookup_elem(&pid_filter, &tgid) != NULL;
}

/* The slot of a comm (or cgroup) in `stats`: looked up, else claimed while
 * slots remain, else the "other" slot (max_processes); a key seen folding
 * for the first time is counted once. User space frees slots idle for
 * attribution.label_idle_time. */
static __always_inline __u32 comm_slot(const struct socket_comm* comm) {
  __u32 *found, slot;

  if (!per_process) return 0;
  found = bpf_map_lookup_elem(&comm_slots, comm);
  if (found) return *found;
  if (bpf_map_pop_elem(&free_slots, &slot) == 0) {
    if (bpf_map_update_elem(&comm_slots, comm, &slot, BPF_NOEXIST) == 0) return slot;
    /* Another CPU added this comm meanwhile: its slot wins, ours goes back. */
    bpf_map_push_elem(&free_slots, &slot, 0);
    found = bpf_map_lookup_elem(&comm_slots, comm);
    if (found) return *found;
  }
  if (!bpf_map_lookup_elem(&folded_comms, comm)) {
    __u8 one = 1;

    bpf_map_update_elem(&folded_comms, comm, &one, BPF_ANY);
    count(SOCKET_CTR_FOLDED_COMMS, 1);
  }
  return max_processes;
}

/* The current task's comm slot and comm-filter verdict (false: filtered
 * out), through `cache` (NULL: resolved every time). The cache tag is read
 * with two 8-byte loads from task->comm through the BTF pointer (the
 * verifier allows a wider load inside a scalar array; the load is
 * fault-safe), which is cheaper than the bpf_get_current_comm helper (a
 * strscpy) that only a miss pays. A rename between the two reads only
 * costs a miss on the next operation. */
static __always_inline bool resolve_comm(struct comm_cache* cache, struct task_struct* task,
                                         __u32* slot) {
  struct socket_comm comm = {};
  __u64 tag0, tag1, cgroup = 0;
  __u32 epoch;
  bool pass;

  *slot = 0;
  if (!per_process && !filter_comms) return true;
  tag0 = *(__u64*)&task->comm[0];
  tag1 = *(__u64*)&task->comm[8];
  /* Re-read every operation: a task moved to another cgroup counts there
   * from its next operation on. */
  if (attribute_cgroup) cgroup = bpf_get_current_cgroup_id();
  epoch = slot_epoch;
  if (cache && cache->valid && cache->tag[0] == tag0 && cache->tag[1] == tag1 &&
      cache->cgroup == cgroup && cache->epoch == epoch) {
    *slot = cache->slot;
    return cache->pass;
  }
  bpf_get_current_comm(comm.comm, sizeof(comm.comm));
  pass = comm_passes(&comm);
  if (pass && attribute_cgroup) {
    struct socket_comm key = {};

    *(__u64*)key.comm = cgroup;
    *slot = comm_slot(&key);
  } else if (pass) {
    *slot = comm_slot(&comm);
  }
  if (cache) {
    cache->tag[0] = tag0;
    cache->tag[1] = tag1;
    cache->cgroup = cgroup;
    cache->epoch = epoch;
    cache->slot = *slot;
    cache->pass = pass;
    cache->valid = 1;
  }
  return pass;
}

static __always_inline bool is_v4_mapped(const __u32* a) {
  return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

static __always_inline bool is_unspecified(const __u32* a) {
  return (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* Endpoint addresses of one operation, in the order of struct socket_event:
 * src/dst as the data flows. */
struct endpoints {
  __u32 local[4];
  __u32 remote[4];
  __u16 lport;
  __u16 rport;
  __u8 ipver; /* 4 or 6 */
};

/* The peer the caller named (sendto's dest_addr, sendmsg's msg_name) or
 * the kernel wrote back (recvfrom's src_addr, recvmsg's msg_name, msg_name
 * of message `index` of recvmmsg), as the remote end. False when absent,
 * unreadable or not IP. */
static __always_inline bool read_user_remote(const struct thread_op* op, __u32 index,
                                             struct endpoints* ep) {
  struct sockaddr_in6 sa = {};
  void* uaddr = (void*)op->uaddr;

  if (op->uaddr_kind == UADDR_MMSGHDR) {
    /* msg_hdr is the first member of struct mmsghdr (64 bytes on 64-bit). */
    uaddr = (void*)((struct mmsghdr*)uaddr + (index & 1023)); /* UIO_MAXIOV */
  }
  if (op->uaddr_kind == UADDR_MSGHDR || op->uaddr_kind == UADDR_MMSGHDR) {
    struct user_msghdr* msg = uaddr;

    if (bpf_probe_read_user(&uaddr, sizeof(uaddr), &msg->msg_name) != 0) return false;
  }
  if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr) != 0) return false;
  if (sa.sin6_family == AF_INET) {
    struct sockaddr_in* in = (struct sockaddr_in*)&sa;

    ep->remote[0] = in->sin_addr.s_addr;
    ep->rport = bpf_ntohs(in->sin_port);
    return true;
  }
  if (sa.sin6_family != AF_INET6) return false;
  __builtin_memcpy(ep->remote, &sa.sin6_addr, sizeof(ep->remote));
  ep->rport = bpf_ntohs(sa.sin6_port);
  return true;
}

/* Reads a struct sock field: `direct` (tp_btf, fexit: BTF-typed pointer)
 * dereferences it, which the verifier turns into a fault-safe load; raw_tp,
 * tracepoint and kprobe get an untyped pointer and must use
 * bpf_probe_read_kernel. Both are CO-RE relocated. `direct` is a constant
 * at every call site, so the compiler drops the other branch and the
 * verifier never sees a direct load in an untyped program. */
#define SK_READ(direct, sk, ...) \
  ((direct) ? __builtin_preserve_access_index((sk)->__VA_ARGS__) : BPF_CORE_READ(sk, __VA_ARGS__))

/* Fills `ep` from the socket (and, for unconnected sockets, the caller's
 * destination). Addresses are only read when `want_addrs`; the IPv4-mapped
 * check always is (it decides the ip_version label). */
static __always_inline void read_endpoints(struct sock* sk, bool direct, __u16 family,
                                           const struct thread_op* op, bool want_addrs,
                                           bool want_ports, struct endpoints* ep) {
  if (want_ports || want_addrs) {
    /* inet_sport, not skc_num: a TCP socket that went to CLOSE (a reset
     * arrived during this very send or receive) has released its port and
     * skc_num is 0, while the header's source port stays in inet_sport. */
    /* Always a probe read: inet_sport lies beyond struct sock, and the
     * verifier bounds direct loads by the BTF type it knows (struct sock). */
    struct inet_sock* inet = (struct inet_sock*)sk;

    ep->lport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
    if (!ep->lport) ep->lport = SK_READ(direct, sk, __sk_common.skc_num);
    ep->rport = bpf_ntohs(SK_READ(direct, sk, __sk_common.skc_dport));
  }
  if (family == AF_INET) {
    ep->ipver = 4;
    if (want_addrs) {
      ep->local[0] = SK_READ(direct, sk, __sk_common.skc_rcv_saddr);
      ep->remote[0] = SK_READ(direct, sk, __sk_common.skc_daddr);
    }
  } else {
    if (direct) {
      __builtin_memcpy(ep->remote, &sk->__sk_common.skc_v6_daddr, sizeof(ep->remote));
      __builtin_memcpy(ep->local, &sk->__sk_common.skc_v6_rcv_saddr, sizeof(ep->local));
    } else {
      BPF_CORE_READ_INTO(&ep->remote, sk, __sk_common.skc_v6_daddr);
      BPF_CORE_READ_INTO(&ep->local, sk, __sk_common.skc_v6_rcv_saddr);
    }
    ep->ipver = 6;
    if (is_unspecified(ep->remote) && op && op->direction == SOCKET_DIR_SEND &&
        op->uaddr_kind != UADDR_NONE && (want_addrs || want_ports || is_unspecified(ep->local))) {
      /* Unconnected send: the destination is in the caller's arguments. */
      __u32 port_before = ep->rport;

      if (!read_user_remote(op, 0, ep)) ep->rport = port_before;
    }
    if (is_v4_mapped(ep->remote) || (is_unspecified(ep->remote) && is_v4_mapped(ep->local))) {
      ep->ipver = 4;
      ep->local[0] = ep->local[3];
      ep->remote[0] = ep->remote[3];
      ep->local[1] = ep->local[2] = ep->local[3] = 0;
      ep->remote[1] = ep->remote[2] = ep->remote[3] = 0;
    }
    return;
  }
  if (ep->remote[0] == 0 && op && op->direction == SOCKET_DIR_SEND &&
      op->uaddr_kind != UADDR_NONE && (want_addrs || want_ports)) {
    /* Unconnected IPv4 send. */
    if (!read_user_remote(op, 0, ep)) ep->remote[0] = 0;
  }
}

static __always_inline bool ports_pass(const struct endpoints* ep) {
  return network_filter_port_bits_pass(network_filter_port_bits(ep->lport) |
                                       network_filter_port_bits(ep->rport));
}

#define FILTER_CIDRS NETWORK_FILTER_CIDRS

/* The peer address against network.include_cidrs / exclude_cidrs. `remote`
 * as in struct endpoints (IPv4 in remote[0]). A peer that is not known (an
 * unconnected receive whose caller asked for no source address) is in no
 * network: it fails include_cidrs and passes exclude_cidrs. */
static __always_inline bool cidrs_pass(const __u32* remote, __u8 ipver, bool known) {
  if (!known) return !filter_include_cidrs;
  if (ipver == 4) return network_filter_ipv4_passes(remote[0]);
  return network_filter_address_passes((const __u8*)remote);
}

static __always_inline void count_flags(struct socket_stats* s, __u32 flags) {
  /* Same order as kSocketFlags in collectors/socket/socket_format.cc. Most
   * operations carry none: one test skips the eight. */
  if (!flags) return;
  /* A read() or recv() on a non-blocking socket: the common receive. */
  if (flags == MSG_DONTWAIT) {
    s->flags[3]++;
    return;
  }
  if (flags & MSG_OOB) s->flags[0]++;
  if (flags & MSG_PEEK) s->flags[1]++;
  if (flags & MSG_DONTROUTE) s->flags[2]++;
  if (flags & MSG_DONTWAIT) s->flags[3]++;
  if (flags & MSG_NOSIGNAL) s->flags[4]++;
  if (flags & MSG_WAITALL) s->flags[5]++;
  if (flags & MSG_MORE) s->flags[6]++;
  if (flags & MSG_ZEROCOPY) s->flags[7]++;
}

/* Latency slot: (2^(k+9), 2^(k+10)] ns -> k, clamped to the table. */
static __always_inline __u32 latency_slot(__u64 ns) {
  __u32 slot = netobs_log2_slot(ns ? ns - 1 : 0, 64);

  slot = slot > SOCKET_LAT_FIRST_SHIFT ? slot - SOCKET_LAT_FIRST_SHIFT : 0;
  if (slot >= SOCKET_LAT_SLOTS) slot = SOCKET_LAT_SLOTS - 1;
  return slot;
}

/* Size slot of a returned length (0..INT_MAX): netobs_log2_slot in 32 bits,
 * which a length never exceeds (the 64-bit form costs a branch and a shift
 * more on every operation). Slot k is (2^(k-1), 2^k]. */
static __always_inline __u32 size_slot(int ret) {
  __u32 v = ret > 0 ? (__u32)ret - 1 : 0;
  __u32 slot = v == 0 ? 0 : netobs_log2_u32(v) + 1;

  return slot < SOCKET_SIZE_SLOTS ? slot : SOCKET_SIZE_SLOTS - 1;
}

/* Counts one operation in the metrics maps. `ipver` is 4 or 6. */
static __always_inline void account_op(__u32 slot, __u32 proto, __u32 direction, __u8 ipver,
                                       int ret, __u32 flags, __u64 latency) {
  __u32 index = slot * SOCKET_STATS_PER_SLOT + proto * SOCKET_DIR_COUNT + direction;
  struct socket_stats* s;

  if (per_process && slot == max_processes) count(SOCKET_CTR_FOLDED_OPS, 1);
  s = bpf_map_lookup_elem(&stats, &index);
  if (s) {
    __u32 v = ipver == 4 ? SOCKET_IPV4 : SOCKET_IPV6;

    s->calls[v & 1]++;
    if (ret >= 0) {
      /* MSG_PEEK leaves the data queued: a later receive moves those bytes. */
      if (!(flags & MSG_PEEK)) s->bytes[v & 1] += (__u64)ret;
      s->size_sum += (__u64)ret;
      /* Shifted by one so slot k is (2^(k-1), 2^k]: Prometheus le = 2^k is exact. */
      s->size_slots[size_slot(ret)]++;
    }
    if (latency) {
      s->lat_slots[latency_slot(latency)]++;
      s->lat_sum_ns += latency;
    }
    count_flags(s, flags);
  }
  if (ret == -SOCKET_EAGAIN && s) {
    s->eagain++;
  } else if (ret < 0) {
    struct socket_error_key key = {
        .comm_slot = slot, .proto = proto, .direction = direction, .err = (__u16)-ret};
    __u64 one = 1, *n = bpf_map_lookup_elem(&errors, &key);

    if (n)
      *n += 1;
    else if (bpf_map_update_elem(&errors, &key, &one, BPF_NOEXIST) != 0 &&
             (n = bpf_map_lookup_elem(&errors, &key)) != NULL)
      *n += 1; /* lost a race to another CPU's insert */
    else if (!n && bpf_map_lookup_elem(&errors, &key) == NULL)
      count(SOCKET_CTR_ERRORS_FULL, 1);
  }
}

/* Whether the event may be emitted under events.sample_rate (1-in-N, per CPU). */
static __always_inline bool sampled_in(void) {
  __u32 key = SOCKET_CTR_SAMPLE;
  __u64* seen;

  if (sample_rate <= 1) return true;
  seen = bpf_map_lookup_elem(&counters, &key);
  if (!seen) return false;
  if ((*seen)++ % sample_rate == 0) return true;
  count(SOCKET_CTR_EVENTS_SAMPLED, 1);
  return false;
}

/* One send or receive on its way through handle_op's stages: the hook's
 * inputs, then what each stage learns for the next. */
struct op_ctx {
  /* From the hook. */
  struct sock* sk;
  int ret;              /* bytes or -errno */
  __u32 tp_flags;       /* the flags the hook saw (recv only) */
  __u32 direction;      /* SOCKET_DIR_* */
  bool direct;          /* sk is BTF-typed (see SK_READ); a constant per hook */
  __u64 fallback_start; /* kernel-function entry time (fallback), 0 on tracepoints */
  /* From the stages. */
  __u16 family;
  __u32 proto;    /* SOCKET_PROTO_* */
  __u64 pid_tgid; /* read only when a filter or an event needs it */
  struct task_struct* task;
  struct thread_op* op; /* the syscall in progress, NULL when none matches */
  struct comm_cache* cache;
  __u32 slot;           /* comm row in `stats` */
  struct endpoints* ep; /* not inside: probe reads write to it */
  bool defer;           /* a receive waiting for its sender (struct pending_recv) */
  bool count_now;       /* false: counted when the sender is known */
  __u64 now, latency;
  __u32 flags; /* MSG_* */
};

static __always_inline void fill_event(struct socket_event* e, const struct op_ctx* c,
                                       const struct socket_comm* comm) {
  const struct endpoints* ep = c->ep;

  e->ts_ns = c->now;
  e->latency_ns = c->latency;
  e->pid = c->pid_tgid >> 32;
  e->tid = (__u32)c->pid_tgid;
  e->size = c->ret > 0 ? (__u32)c->ret : 0;
  e->err = c->ret < 0 ? (__u32)-c->ret : 0;
  e->flags = c->flags;
  if (c->direction == SOCKET_DIR_SEND) {
    e->sport = ep->lport;
    e->dport = ep->rport;
    __builtin_memcpy(e->saddr, ep->local, 16);
    __builtin_memcpy(e->daddr, ep->remote, 16);
  } else {
    e->sport = ep->rport;
    e->dport = ep->lport;
    __builtin_memcpy(e->saddr, ep->remote, 16);
    __builtin_memcpy(e->daddr, ep->local, 16);
  }
  __builtin_memcpy(e->comm, comm->comm, SOCKET_COMM_LEN);
  e->protocol = c->proto == SOCKET_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
  e->ip_version = ep->ipver;
  e->direction = c->direction;
  __builtin_memset(e->pad, 0, sizeof(e->pad));
}

/* Wakes the reader only once wakeup_bytes are queued: a wakeup per event
 * (an irq_work each) costs more than the event itself. The reader also
 * polls on a timer, so a quiet trickle still arrives within its period. */
static __always_inline __u64 submit_flags(void) {
  return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                       : BPF_RB_NO_WAKEUP;
}

/* Copies an event into the ring buffer. Full: drop and count, never wait
 * (this runs inside the workload's syscall). */
static __always_inline void submit_event(const struct socket_event* event) {
  struct socket_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

  if (!e) {
    count(SOCKET_CTR_EVENTS_LOST, 1);
    return;
  }
  __builtin_memcpy(e, event, sizeof(*e));
  bpf_ringbuf_submit(e, submit_flags());
}

/* Completes the thread's receive waiting for its sender (struct
 * pending_recv): reads the address the kernel wrote to the caller's buffer,
 * applies the CIDR filters if they were waiting for it, counts and emits. */
static __always_inline void finish_pending(__u32 tid, const struct thread_op* op) {
  struct pending_recv* p = bpf_map_lookup_elem(&pending_events, &tid);
  struct endpoints ep = {};
  bool known;

  if (!p) return;
  known = op && op->active && read_user_remote(op, p->msg_index, &ep);
  if (known) {
    if (is_v4_mapped(ep.remote)) ep.remote[0] = ep.remote[3];
    if (is_v4_mapped(ep.remote) || p->event.ip_version == 4) {
      ep.remote[1] = ep.remote[2] = ep.remote[3] = 0;
    }
    __builtin_memcpy(p->event.saddr, ep.remote, 16);
    p->event.sport = ep.rport;
  }
  if (!p->count || cidrs_pass(ep.remote, p->event.ip_version, known)) {
    if (p->count) {
      account_op(p->slot, p->event.protocol == IPPROTO_TCP ? SOCKET_PROTO_TCP : SOCKET_PROTO_UDP,
                 SOCKET_DIR_RECV, p->event.ip_version, (int)p->event.size, p->event.flags,
                 p->event.latency_ns);
    }
    if (p->emit) submit_event(&p->event);
  }
  bpf_map_delete_elem(&pending_events, &tid);
}

/* ---- handle_op: one send or receive, in stages ----
 * The default configuration's path: one task-storage lookup (syscall
 * record and comm cache), two loads of task->comm, one per-CPU array
 * update; no other helper unless a syscall record is active (the clock).
 * Every stage that returns false drops the operation. */

/* TCP or UDP over IPv4 or IPv6, among the configured protocols. */
static __always_inline bool op_socket_kind(struct op_ctx* c) {
  /* A local: inside SK_READ's __builtin_preserve_access_index, c->sk
   * would pin all of `c` to the stack and `direct` would stop being a
   * constant the compiler can drop branches on. */
  struct sock* sk = c->sk;
  __u16 protocol;

  if (!sk || !filters_ready) return false;
  c->family = SK_READ(c->direct, sk, __sk_common.skc_family);
  if (c->family != AF_INET && c->family != AF_INET6) return false;
  protocol = SK_READ(c->direct, sk, sk_protocol);
  if (protocol == IPPROTO_TCP)
    c->proto = SOCKET_PROTO_TCP;
  else if (protocol == IPPROTO_UDP)
    c->proto = SOCKET_PROTO_UDP;
  else
    return false;
  return protocol_mask & (1 << c->proto);
}

static __always_inline bool op_pid_passes(struct op_ctx* c) {
  if (!filter_pids && !events_enabled) return true;
  c->pid_tgid = bpf_get_current_pid_tgid();
  return pid_passes(c->pid_tgid >> 32);
}

/* The thread's syscall record and comm cache. With syscall details and task
 * storage both come from one lookup; otherwise the record comes from the
 * tid hash and the comm cache is a per-CPU array (inlined lookup, no
 * helper), enough as a thread usually runs many operations in a row. A
 * record counts only for the syscall in progress in this direction. */
static __always_inline void op_thread_state(struct op_ctx* c) {
  __u32 zero = 0;

  c->task = (use_task_storage && syscall_details) || per_process || filter_comms
                ? bpf_get_current_task_btf()
                : NULL;
  if (use_task_storage && syscall_details) {
    struct task_state* st = current_state(c->task);

    if (st) {
      c->op = &st->op;
      c->cache = &st->comm;
    }
  } else {
    if (syscall_details) c->op = current_op(false);
    if (per_process || filter_comms) c->cache = bpf_map_lookup_elem(&comm_cache, &zero);
  }
  if (c->op && (!c->op->active || c->op->direction != c->direction)) c->op = NULL;
}

#define FILTER_PORTS NETWORK_FILTER_PORTS

static __always_inline bool op_endpoints_pass(struct op_ctx* c) {
  read_endpoints(c->sk, c->direct, c->family, c->op, events_enabled || FILTER_CIDRS,
                 FILTER_PORTS || events_enabled, c->ep);
  return !FILTER_PORTS || ports_pass(c->ep);
}

/* An unconnected receive names its sender only in the caller's buffer,
 * after this hook: its event (and, with CIDR filters, its counting) waits
 * for it when the caller passed a buffer. */
static __always_inline bool op_cidrs_pass(struct op_ctx* c) {
  bool peer_known = !is_unspecified(c->ep->remote) || c->ep->rport != 0;

  c->defer = c->direction == SOCKET_DIR_RECV && c->ret >= 0 && !peer_known && c->op &&
             c->op->uaddr_kind != UADDR_NONE;
  c->count_now = true;
  if (!FILTER_CIDRS) return true;
  if (c->defer) {
    c->count_now = false;
    return true;
  }
  return cidrs_pass(c->ep->remote, c->ep->ipver, peer_known);
}

/* Flags and latency. The clock is read only when something uses it (a
 * helper call each). */
static __always_inline void op_timing(struct op_ctx* c) {
  c->now = c->op || c->fallback_start || events_enabled ? bpf_ktime_get_ns() : 0;
  if (c->op) {
    c->flags = c->op->flags;
    c->latency = c->now - c->op->start_ns;
    return;
  }
  /* read()/write(), sendfile, io_uring...: no syscall flags seen; a
   * receive still has the ones the kernel passed down. */
  c->flags = c->direction == SOCKET_DIR_RECV ? c->tp_flags : 0;
  if (c->fallback_start) c->latency = c->now - c->fallback_start;
}

static __always_inline void op_account(const struct op_ctx* c) {
  account_op(c->slot, c->proto, c->direction, c->ep->ipver, c->ret, c->flags, c->latency);
}

/* Parks a receive in pending_events until its sender is known (see
 * finish_pending). No room to wait: counted (unfiltered) and emitted
 * without the sender. */
static __always_inline void op_defer(struct op_ctx* c, const struct socket_comm* comm,
                                     __u32 msg_index) {
  struct pending_recv pending = {};
  __u32 tid;

  c->pid_tgid = bpf_get_current_pid_tgid();
  tid = (__u32)c->pid_tgid;
  pending.emit = events_enabled && sampled_in();
  pending.count = !c->count_now;
  if (!pending.emit && !pending.count) return;
  fill_event(&pending.event, c, comm);
  pending.slot = c->slot;
  pending.msg_index = msg_index;
  if (bpf_map_update_elem(&pending_events, &tid, &pending, BPF_ANY) != 0) {
    if (pending.count) op_account(c);
    if (pending.emit) submit_event(&pending.event);
  }
}

static __always_inline void op_submit(const struct op_ctx* c, const struct socket_comm* comm) {
  struct socket_event* e;

  if (!sampled_in()) return;
  e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count(SOCKET_CTR_EVENTS_LOST, 1);
    return;
  }
  fill_event(e, c, comm);
  bpf_ringbuf_submit(e, submit_flags());
}

/* The event, now or deferred; also a deferred count (CIDR filters). */
static __always_inline void op_emit(struct op_ctx* c) {
  struct socket_comm comm = {};
  __u32 msg_index = 0;

  if (events_enabled) bpf_get_current_comm(comm.comm, sizeof(comm.comm));
  if (c->op && c->op->uaddr_kind == UADDR_MMSGHDR) {
    /* recvmmsg: the previous message's sender is in place by now. */
    finish_pending((__u32)bpf_get_current_pid_tgid(), c->op);
    msg_index = c->op->msg_index++;
  }
  if (c->defer)
    op_defer(c, &comm, msg_index);
  else
    op_submit(c, &comm);
}

/* `c` holds the hook's inputs (struct op_ctx). */
static __always_inline int handle_op(struct op_ctx* c) {
  struct endpoints ep = {};

  c->ep = &ep;
  if (!op_socket_kind(c) || !op_pid_passes(c)) return 0;
  op_thread_state(c);
  if (!resolve_comm(c->cache, c->task, &c->slot)) return 0;
  if (!op_endpoints_pass(c) || !op_cidrs_pass(c)) return 0;
  op_timing(c);
  if (c->count_now) op_account(c);
  if (events_enabled || !c->count_now) op_emit(c);
  return 0;
}

/* The ip_version label of an IPv6 socket, as read_endpoints decides it
 * without addresses or a syscall record: IPv4 when the peer is IPv4-mapped
 * (an IPv4 peer of a dual-stack socket), or when there is no peer and the
 * local address is. */
static __always_inline __u8 v6_socket_ipver(struct sock* sk) {
  const __u32* remote = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
  const __u32* local = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32;
  __u32 r0 = remote[0], r1 = remote[1], r2 = remote[2];

  if ((r0 | r1) == 0 && r2 == bpf_htonl(0x0000ffff)) return 4;
  if ((r0 | r1 | r2 | remote[3]) != 0) return 6;
  return (local[0] | local[1]) == 0 && local[2] == bpf_htonl(0x0000ffff) ? 4 : 6;
}

/* handle_op of the default configuration (count_only), BTF-typed hooks:
 * socket kind, comm slot through the per-CPU cache, one stats update. The
 * same counts as handle_op with no filter, record or event. */
static __always_inline int handle_count_only(struct sock* sk, int ret, __u32 flags,
                                             __u32 direction) {
  __u32 zero = 0, slot = 0, proto;
  __u16 family, protocol;
  __u8 ipver;

  if (!sk || !filters_ready) return 0;
  family = sk->__sk_common.skc_family;
  if (family == AF_INET)
    ipver = 4;
  else if (family == AF_INET6)
    ipver = v6_socket_ipver(sk);
  else
    return 0;
  protocol = sk->sk_protocol;
  if (protocol == IPPROTO_TCP)
    proto = SOCKET_PROTO_TCP;
  else if (protocol == IPPROTO_UDP)
    proto = SOCKET_PROTO_UDP;
  else
    return 0;
  if (!(protocol_mask & (1 << proto))) return 0;
  if (per_process) {
    resolve_comm(bpf_map_lookup_elem(&comm_cache, &zero), bpf_get_current_task_btf(), &slot);
  }
  account_op(slot, proto, direction, ipver, ret, flags, 0);
  return 0;
}

/* ---- sock:sock_send_length / sock:sock_recv_length ----
 * TP_PROTO(struct sock *sk, int ret, int flags); send passes flags = 0. */

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_btf, struct sock* sk, int ret, int flags) {
  struct op_ctx c = {.sk = sk, .ret = ret, .direction = SOCKET_DIR_SEND, .direct = true};

  if (count_only) return handle_count_only(sk, ret, 0, SOCKET_DIR_SEND);
  return handle_op(&c);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv_btf, struct sock* sk, int ret, int flags) {
  struct op_ctx c = {
      .sk = sk, .ret = ret, .tp_flags = flags, .direction = SOCKET_DIR_RECV, .direct = true};

  if (count_only) return handle_count_only(sk, ret, flags, SOCKET_DIR_RECV);
  return handle_op(&c);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(on_send_raw, struct sock* sk, int ret, int flags) {
  struct op_ctx c = {.sk = sk, .ret = ret, .direction = SOCKET_DIR_SEND};

  return handle_op(&c);
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(on_recv_raw, struct sock* sk, int ret, int flags) {
  struct op_ctx c = {.sk = sk, .ret = ret, .tp_flags = flags, .direction = SOCKET_DIR_RECV};

  return handle_op(&c);
}

SEC("tracepoint/sock/sock_send_length")
int on_send_tp(struct trace_event_raw_sock_msg_length* ctx) {
  struct op_ctx c = {.sk = (struct sock*)ctx->sk, .ret = ctx->ret, .direction = SOCKET_DIR_SEND};

  return handle_op(&c);
}

SEC("tracepoint/sock/sock_recv_length")
int on_recv_tp(struct trace_event_raw_sock_msg_length* ctx) {
  struct op_ctx c = {.sk = (struct sock*)ctx->sk,
                     .ret = ctx->ret,
                     .tp_flags = ctx->flags,
                     .direction = SOCKET_DIR_RECV};

  return handle_op(&c);
}

/* ---- syscalls: flags and start time per thread ----
 * Classic tracepoint layout: args[] in syscall order, each widened to 8 bytes.
 *   sendto(fd, buf, len, flags, dest_addr, addrlen)
 *   sendmsg(fd, msg, flags)          recvmsg(fd, msg, flags)
 *   sendmmsg(fd, msgvec, vlen, flags) recvmmsg(fd, msgvec, vlen, flags, timeout)
 *   recvfrom(fd, buf, len, flags, src_addr, addrlen) */

static __always_inline int syscall_enter(__u32 direction, __u64 flags, __u64 uaddr,
                                         __u8 uaddr_kind) {
  struct thread_op* op;

  if (!filters_ready) return 0;
  if (filter_pids && !pid_passes(bpf_get_current_pid_tgid() >> 32)) return 0;
  if (filter_comms) {
    /* Not through the comm cache: that would claim a label slot for a
     * process whose sendmsg may be on a unix socket. */
    struct socket_comm comm = {};

    bpf_get_current_comm(comm.comm, sizeof(comm.comm));
    if (!comm_passes(&comm)) return 0;
  }
  op = current_op(true);
  if (!op) {
    count(SOCKET_CTR_THREAD_OPS_FULL, 1);
    return 0;
  }
  op->start_ns = bpf_ktime_get_ns();
  op->flags = (__u32)flags;
  op->direction = direction;
  op->uaddr = uaddr;
  op->uaddr_kind = uaddr ? uaddr_kind : UADDR_NONE;
  op->msg_index = 0;
  op->active = 1;
  return 0;
}

static __always_inline int syscall_exit(bool may_have_pending) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct thread_op* op = NULL;

  if (use_task_storage || ((events_enabled || FILTER_CIDRS) && may_have_pending)) {
    op = current_op(false);
  }
  if ((events_enabled || FILTER_CIDRS) && may_have_pending) finish_pending(tid, op);
  if (use_task_storage) {
    if (op) op->active = 0;
  } else {
    bpf_map_delete_elem(&thread_ops, &tid);
  }
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int on_enter_sendto(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_SEND, ctx->args[3], ctx->args[4], UADDR_SOCKADDR);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int on_enter_sendmsg(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_SEND, ctx->args[2], ctx->args[1], UADDR_MSGHDR);
}

/* sendmmsg: the first message's name stands for all (mmsghdr starts with msg_hdr). */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int on_enter_sendmmsg(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_SEND, ctx->args[3], ctx->args[1], UADDR_MSGHDR);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int on_enter_recvfrom(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_RECV, ctx->args[3], ctx->args[4], UADDR_SOCKADDR);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int on_enter_recvmsg(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_RECV, ctx->args[2], ctx->args[1], UADDR_MSGHDR);
}

/* recvmmsg: each message's sender is in its own msg_hdr.msg_name. */
SEC("tracepoint/syscalls/sys_enter_recvmmsg")
int on_enter_recvmmsg(struct trace_event_raw_sys_enter* ctx) {
  return syscall_enter(SOCKET_DIR_RECV, ctx->args[3], ctx->args[1], UADDR_MMSGHDR);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int on_exit_sendto(void* ctx) { return syscall_exit(false); }

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int on_exit_sendmsg(void* ctx) { return syscall_exit(false); }

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int on_exit_sendmmsg(void* ctx) { return syscall_exit(false); }

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int on_exit_recvfrom(void* ctx) { return syscall_exit(true); }

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int on_exit_recvmsg(void* ctx) { return syscall_exit(true); }

SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int on_exit_recvmmsg(void* ctx) { return syscall_exit(true); }

/* ---- fallback: protocol functions (kernels before sock_*_length) ----
 * Flags come from the syscall tracepoints only: the recvmsg functions lost
 * their `nonblock` argument in 5.19, so the flags argument moves. The fexit
 * receive handlers read the return value with bpf_get_func_ret (5.17+) for
 * the same reason; older kernels use the kretprobe rung. */

enum fallback_fn {
  FN_TCP_SENDMSG = 1,
  FN_TCP_RECVMSG,
  FN_UDP_SENDMSG,
  FN_UDP_RECVMSG,
  FN_UDPV6_SENDMSG,
  FN_UDPV6_RECVMSG,
};

static __always_inline int fallback_entry(struct sock* sk, __u32 fn) {
  __u64 key = (bpf_get_current_pid_tgid() << 8) | fn;
  struct fallback_call call = {.sk = sk, .start_ns = bpf_ktime_get_ns()};

  bpf_map_update_elem(&fallback_calls, &key, &call, BPF_ANY);
  return 0;
}

/* `direct`: called with a BTF-typed sk (fexit) rather than a saved pointer. */
static __always_inline int fallback_exit(struct sock* sk, int ret, __u32 fn, __u32 direction,
                                         bool direct) {
  __u64 key = (bpf_get_current_pid_tgid() << 8) | fn;
  struct fallback_call* call = bpf_map_lookup_elem(&fallback_calls, &key);
  __u64 start = 0;

  if (call) {
    start = call->start_ns;
    if (!direct) sk = call->sk;
    bpf_map_delete_elem(&fallback_calls, &key);
  }
  if (!direct && !call) return 0;
  /* udpv6_sendmsg hands IPv4-mapped destinations to udp_sendmsg: count once. */
  if (fn == FN_UDP_SENDMSG && SK_READ(direct, sk, __sk_common.skc_family) == AF_INET6) return 0;
  struct op_ctx c = {
      .sk = sk, .ret = ret, .direction = direction, .direct = direct, .fallback_start = start};

  return handle_op(&c);
}

#define FALLBACK_SEND(name, fn)                                                               \
  SEC("fentry/" #name)                                                                        \
  int BPF_PROG(on_##name##_fentry, struct sock* sk) { return fallback_entry(sk, fn); }        \
  SEC("fexit/" #name)                                                                         \
  int BPF_PROG(on_##name##_fexit, struct sock* sk, struct msghdr* msg, size_t len, int ret) { \
    return fallback_exit(sk, ret, fn, SOCKET_DIR_SEND, true);                                 \
  }                                                                                           \
  SEC("kprobe/" #name)                                                                        \
  int BPF_KPROBE(on_##name##_kprobe, struct sock* sk) { return fallback_entry(sk, fn); }      \
  SEC("kretprobe/" #name)                                                                     \
  int BPF_KRETPROBE(on_##name##_kretprobe, int ret) {                                         \
    return fallback_exit(NULL, ret, fn, SOCKET_DIR_SEND, false);                              \
  }

#define FALLBACK_RECV(name, fn)                                                          \
  SEC("fentry/" #name)                                                                   \
  int BPF_PROG(on_##name##_fentry, struct sock* sk) { return fallback_entry(sk, fn); }   \
  SEC("fexit/" #name)                                                                    \
  int BPF_PROG(on_##name##_fexit, struct sock* sk) {                                     \
    __u64 ret = 0;                                                                       \
                                                                                         \
    bpf_get_func_ret(ctx, &ret);                                                         \
    return fallback_exit(sk, (int)ret, fn, SOCKET_DIR_RECV, true);                       \
  }                                                                                      \
  SEC("kprobe/" #name)                                                                   \
  int BPF_KPROBE(on_##name##_kprobe, struct sock* sk) { return fallback_entry(sk, fn); } \
  SEC("kretprobe/" #name)                                                                \
  int BPF_KRETPROBE(on_##name##_kretprobe, int ret) {                                    \
    return fallback_exit(NULL, ret, fn, SOCKET_DIR_RECV, false);                         \
  }

FALLBACK_SEND(tcp_sendmsg, FN_TCP_SENDMSG)
FALLBACK_RECV(tcp_recvmsg, FN_TCP_RECVMSG)
FALLBACK_SEND(udp_sendmsg, FN_UDP_SENDMSG)
FALLBACK_RECV(udp_recvmsg, FN_UDP_RECVMSG)
FALLBACK_SEND(udpv6_sendmsg, FN_UDPV6_SENDMSG)
FALLBACK_RECV(udpv6_recvmsg, FN_UDPV6_RECVMSG)

char LICENSE[] SEC("license") = "GPL";
