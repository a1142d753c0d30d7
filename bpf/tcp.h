/* The tcp collector's kernel/user contract: map layouts, indices and
 * constants shared by bpf/tcp.bpf.c and collectors/tcp/. The ONE definition
 * of each struct; plain __u32/__u64 with explicit padding, no vmlinux.h.
 */
#ifndef NETOBS_BPF_TCP_H_
#define NETOBS_BPF_TCP_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Log2 histograms: one layout for every histogram of the collector; each
 * metric uses the first N slots (the last one it uses also holds overflow). */
#define NETOBS_TCP_HIST_SLOTS 48
/* RTT in microseconds: slot 26 starts at 2^25 us = 33.5 s (+Inf beyond). */
#define NETOBS_TCP_RTT_SLOTS 27
/* Connection duration in microseconds: slot 39 starts at 2^38 us = 3.2 days. */
#define NETOBS_TCP_DURATION_SLOTS 40
/* Bytes per connection: slot 47 starts at 2^46 bytes = 64 TiB. */
#define NETOBS_TCP_BYTES_SLOTS 48

struct netobs_tcp_hist {
  __u64 slots[NETOBS_TCP_HIST_SLOTS];
  __u64 sum; /* in the histogram's unit (us or bytes) */
};

/* Indices of the per-connection histograms array `conn_hists`. */
enum netobs_tcp_conn_hist {
  NETOBS_TCP_HIST_DURATION = 0,
  NETOBS_TCP_HIST_SENT_BYTES = 1,
  NETOBS_TCP_HIST_RECEIVED_BYTES = 2,
  NETOBS_TCP_CONN_HIST_COUNT = 3,
};

/* Retransmission kinds (the `kind` label). */
enum netobs_tcp_retrans_kind {
  NETOBS_TCP_RETRANS_RTO = 0,    /* retransmission timeout: congestion state Loss */
  NETOBS_TCP_RETRANS_FAST = 1,   /* fast retransmit: congestion state Recovery */
  NETOBS_TCP_RETRANS_TLP = 2,    /* tail loss probe (loss-probe timer) */
  NETOBS_TCP_RETRANS_SYN = 3,    /* SYN of an active open */
  NETOBS_TCP_RETRANS_SYNACK = 4, /* SYN-ACK of a passive open */
  NETOBS_TCP_RETRANS_OTHER = 5,  /* none of the above (e.g. Open/Disorder state) */
  NETOBS_TCP_RETRANS_KIND_COUNT = 6,
};

/* Indices of the per-CPU counter array `counters`. */
enum netobs_tcp_counter {
  NETOBS_TCP_OPENED_ACTIVE = 0,    /* SYN_SENT -> ESTABLISHED */
  NETOBS_TCP_OPENED_PASSIVE = 1,   /* SYN_RECV -> ESTABLISHED */
  NETOBS_TCP_CLOSED = 2,           /* established (or later) -> CLOSE */
  NETOBS_TCP_RESETS_SENT = 3,      /* tcp:tcp_send_reset */
  NETOBS_TCP_RESETS_RECEIVED = 4,  /* tcp:tcp_receive_reset */
  NETOBS_TCP_RETRANS_ERRORS = 5,   /* tcp:tcp_retransmit_skb with err != 0 */
  NETOBS_TCP_RTT_OVERFLOW = 6,     /* RTT samples folded into the `other` group */
  NETOBS_TCP_RETRANS_OVERFLOW = 7, /* retransmissions folded into `other` */
  NETOBS_TCP_DURATION_UNKNOWN = 8, /* closed without a recorded start */
  NETOBS_TCP_SENT_BYTES = 9,       /* payload bytes sent, summed at close */
  NETOBS_TCP_RECEIVED_BYTES = 10,  /* payload bytes received, summed at close */
  NETOBS_TCP_PASSIVE_FAILED = 11,  /* SYN_RECV -> CLOSE (reset before accept) */
  NETOBS_TCP_TRACK_ERRORS = 12,    /* conn_start updates that failed */
  NETOBS_TCP_CGROUP_OVERFLOW = 13, /* events folded into the `other` cgroup */
  NETOBS_TCP_COUNTER_COUNT = 14,
};

/* Failed connects by errno (sk_err when SYN_SENT -> CLOSE); index 0 is "the
 * application closed the socket first", the last slot every errno beyond. */
#define NETOBS_TCP_ERRNO_SLOTS 160

/* Optional grouping of RTT and retransmissions (rodata `group_by`). */
enum netobs_tcp_group_by {
  NETOBS_TCP_GROUP_NONE = 0,
  NETOBS_TCP_GROUP_LOCAL_PORT = 1,
  NETOBS_TCP_GROUP_REMOTE_PORT = 2,
  NETOBS_TCP_GROUP_REMOTE_CIDR = 3,
};

/* Group key of series beyond the cap (the `other` series). For remote CIDR
 * grouping, group 0 is "no configured group matched". */
#define NETOBS_TCP_GROUP_OTHER 0xFFFFFFFFu

struct netobs_tcp_retrans_key {
  __u32 group;
  __u32 kind;
};

/* Remote CIDR groups: LPM trie keyed by the remote address as IPv6 (IPv4 as
 * ::ffff:a.b.c.d, so one trie serves both families); value: group id >= 1. */
struct netobs_tcp_cidr_key {
  __u32 prefixlen;
  __u8 addr[16];
};

/* Per-cgroup connection counters (rodata attribute_cgroup), keyed by the
 * socket's cgroup v2 id (sk->sk_cgrp_data: the cgroup of the task that
 * created the socket; accepted sockets inherit the listener's). Past the
 * map's capacity events go to the pre-inserted `other` key. */
#define NETOBS_TCP_CGROUP_OTHER 0ull

enum netobs_tcp_cgroup_counter {
  NETOBS_TCP_CG_OPENED_ACTIVE = 0,
  NETOBS_TCP_CG_OPENED_PASSIVE = 1,
  NETOBS_TCP_CG_CLOSED = 2,
  NETOBS_TCP_CG_SENT_BYTES = 3,     /* payload bytes, added at close */
  NETOBS_TCP_CG_RECEIVED_BYTES = 4, /* payload bytes, added at close */
  NETOBS_TCP_CG_RETRANS_SEGS = 5,   /* retransmitted segments (sampled connections) */
  NETOBS_TCP_CG_COUNTER_COUNT = 6,
};

struct netobs_tcp_cgroup_counts {
  __u64 values[NETOBS_TCP_CG_COUNTER_COUNT];
};

#endif /* NETOBS_BPF_TCP_H_ */
