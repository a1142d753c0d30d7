// SPDX-License-Identifier: GPL-2.0
/* netobs tcp collector: smoothed RTT (tcp:tcp_probe), retransmissions by kind
 * (tcp:tcp_retransmit_skb, tcp:tcp_retransmit_synack), connection life cycle
 * (sock:inet_sock_set_state) and resets (tcp:tcp_send_reset,
 * tcp:tcp_receive_reset), aggregated in per-CPU maps.
 *
 * Every event has three rungs (attach ladder): tp_btf (typed arguments),
 * raw_tp (same arguments, untyped), classic tracepoint (format struct, needs
 * tracefs). Only the tcp_probe handler, which runs once per received segment,
 * reads with direct BTF loads on the tp_btf rung; the others are rare and read
 * with BPF_CORE_READ (bpf_probe_read_kernel) on every rung.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "lib/log2_slot.h"
#include "tcp.h"

#define AF_INET 2
#define AF_INET6 10
/* include/net/inet_connection_sock.h: a #define, so not in BTF. Stable since
 * Linux 3.10 (TLP); ICSK_TIME_REO_TIMEOUT (6) came in 4.10. */
#define ICSK_TIME_LOSS_PROBE 5

/* Filters, set through skel->rodata before load. The verifier knows their
 * values and prunes the branches they switch off. */
const volatile __u32 target_netns = 0; /* network namespace inode number; 0: all */
const volatile __u32 sample_rate = 1;  /* keep 1 in N connections */
const volatile __u32 group_by = NETOBS_TCP_GROUP_NONE;
/* Per-cgroup counters (collectors.tcp.attribution: cgroup); off: the code
 * that reads the socket's cgroup is pruned and costs nothing. */
const volatile bool attribute_cgroup = false;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_TCP_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* Retransmitted segments by kind (no grouping). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_TCP_RETRANS_KIND_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} retrans SEC(".maps");

/* Retransmitted segments by {group, kind}; max_entries set from the config
 * (groups + the pre-inserted `other` group, times kinds). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 65 * NETOBS_TCP_RETRANS_KIND_COUNT);
  __type(key, struct netobs_tcp_retrans_key);
  __type(value, __u64);
} retrans_by_group SEC(".maps");

/* RTT histogram (no grouping): one entry. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct netobs_tcp_hist);
} rtt SEC(".maps");

/* RTT histograms by group; max_entries = groups + 1 (`other`). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 65);
  __type(key, __u32);
  __type(value, struct netobs_tcp_hist);
} rtt_by_group SEC(".maps");

/* Source of zeroes for inserting histogram entries (never written). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct netobs_tcp_hist);
} zero_hist SEC(".maps");

/* Duration, bytes sent and bytes received per closed connection. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_TCP_CONN_HIST_COUNT);
  __type(key, __u32);
  __type(value, struct netobs_tcp_hist);
} conn_hists SEC(".maps");

/* Failed connects by errno (see NETOBS_TCP_ERRNO_SLOTS). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_TCP_ERRNO_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} connect_errors SEC(".maps");

/* Start time (ns, CLOCK_MONOTONIC) of connections that became established
 * while we watched, keyed by socket address. LRU: when full, the oldest
 * entries go and those connections close with an unknown duration. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, __u64);
} conn_start SEC(".maps");

/* Connection counters by the socket's cgroup id; max_entries = max_cgroups
 * + 1 (`other`, pre-inserted). User space deletes idle and gone cgroups. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 257);
  __type(key, __u64);
  __type(value, struct netobs_tcp_cgroup_counts);
} cgroup_counts SEC(".maps");

/* RTT histograms by the socket's cgroup id (attribute_cgroup); max_entries
 * = max_cgroups + 1 (`other`, pre-inserted). User space deletes idle and
 * gone cgroups. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 257);
  __type(key, __u64);
  __type(value, struct netobs_tcp_hist);
} rtt_by_cgroup SEC(".maps");

/* Remote CIDR groups (see struct netobs_tcp_cidr_key); filled before attach. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 256);
  __type(key, struct netobs_tcp_cidr_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} cidr_groups SEC(".maps");

static __always_inline void count(__u32 index, __u64 delta) {
  __u64* value = bpf_map_lookup_elem(&counters, &index);

  if (value) *value += delta;
}

/* The counters of the socket's cgroup, created on first use (past the
 * map's capacity: `other`). The socket's cgroup, not the current task's:
 * these events run in softirq context (SYN-ACK received, retransmit timer)
 * as often as in the owner's. NULL when attribution is off. */
static __always_inline struct netobs_tcp_cgroup_counts* cgroup_counts_of(const struct sock* sk) {
  if (!attribute_cgroup) return 0;
  __u64 id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
  struct netobs_tcp_cgroup_counts* counts = bpf_map_lookup_elem(&cgroup_counts, &id);

  if (counts) return counts;
  struct netobs_tcp_cgroup_counts zero = {};
  /* EEXIST (another CPU inserted it) is fine: look it up again. */
  bpf_map_update_elem(&cgroup_counts, &id, &zero, BPF_NOEXIST);
  counts = bpf_map_lookup_elem(&cgroup_counts, &id);
  if (counts) return counts;
  count(NETOBS_TCP_CGROUP_OVERFLOW, 1);
  id = NETOBS_TCP_CGROUP_OTHER;
  return bpf_map_lookup_elem(&cgroup_counts, &id);
}

static __always_inline void cgroup_add(const struct sock* sk, __u32 index, __u64 delta) {
  struct netobs_tcp_cgroup_counts* counts = cgroup_counts_of(sk);

  if (counts && index < NETOBS_TCP_CG_COUNTER_COUNT) counts->values[index] += delta;
}

static __always_inline bool netns_ok(const struct sock_common* skc) {
  if (!target_netns) return true;
  return BPF_CORE_READ(skc, skc_net.net, ns.inum) == target_netns;
}

/* Address words folded into one (IPv6: all four words of both addresses). */
static __always_inline __u32 fold_addresses(const struct sock_common* skc) {
  __u32 folded = BPF_CORE_READ(skc, skc_daddr) ^ BPF_CORE_READ(skc, skc_rcv_saddr);

  if (BPF_CORE_READ(skc, skc_family) == AF_INET6) {
    struct in6_addr remote = BPF_CORE_READ(skc, skc_v6_daddr);
    struct in6_addr local = BPF_CORE_READ(skc, skc_v6_rcv_saddr);

    folded ^= remote.in6_u.u6_addr32[0] ^ remote.in6_u.u6_addr32[1] ^ remote.in6_u.u6_addr32[2] ^
              remote.in6_u.u6_addr32[3];
    folded ^= local.in6_u.u6_addr32[0] ^ local.in6_u.u6_addr32[1] ^ local.in6_u.u6_addr32[2] ^
              local.in6_u.u6_addr32[3];
  }
  return folded;
}

/* 1-in-N sampling per connection: a hash of the addresses and ports, combined
 * symmetrically so both ends of a connection (e.g. on loopback) agree, and
 * every event of a connection gets the same answer: a sampled connection is
 * seen whole. murmur3's finalizer spreads nearby ports. */
static __always_inline bool sampled(const struct sock_common* skc) {
  if (sample_rate <= 1) return true;
  __u32 h = fold_addresses(skc);

  h ^= (__u32)BPF_CORE_READ(skc, skc_num) ^ (__u32)bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h % sample_rate == 0;
}

static __always_inline __u32 remote_cidr_group(const struct sock_common* skc) {
  struct netobs_tcp_cidr_key key = {.prefixlen = 128};

  if (BPF_CORE_READ(skc, skc_family) == AF_INET6) {
    BPF_CORE_READ_INTO(&key.addr, skc, skc_v6_daddr);
  } else {
    __u32 v4 = BPF_CORE_READ(skc, skc_daddr);

    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    __builtin_memcpy(&key.addr[12], &v4, 4);
  }
  __u32* group = bpf_map_lookup_elem(&cidr_groups, &key);
  return group ? *group : 0;
}

/* The group of a connection under the configured grouping (0 when off). */
static __always_inline __u32 group_of(const struct sock_common* skc) {
  if (group_by == NETOBS_TCP_GROUP_LOCAL_PORT) return BPF_CORE_READ(skc, skc_num);
  if (group_by == NETOBS_TCP_GROUP_REMOTE_PORT) return bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
  if (group_by == NETOBS_TCP_GROUP_REMOTE_CIDR) return remote_cidr_group(skc);
  return 0;
}

static __always_inline void hist_add(struct netobs_tcp_hist* hist, __u64 value, __u32 max_slots) {
  hist->slots[netobs_log2_slot(value, max_slots)] += 1;
  hist->sum += value;
}

/* The histogram of `group`, created on first use; past the map's capacity
 * the pre-inserted `other` entry, counted in `overflow_counter`. */
static __always_inline struct netobs_tcp_hist* rtt_group_hist(__u32 group) {
  struct netobs_tcp_hist* hist = bpf_map_lookup_elem(&rtt_by_group, &group);

  if (hist) return hist;
  __u32 zero = 0;
  struct netobs_tcp_hist* zeroes = bpf_map_lookup_elem(&zero_hist, &zero);
  if (!zeroes) return 0;
  /* EEXIST (another CPU inserted it) is fine: look it up again. */
  bpf_map_update_elem(&rtt_by_group, &group, zeroes, BPF_NOEXIST);
  hist = bpf_map_lookup_elem(&rtt_by_group, &group);
  if (hist) return hist;
  count(NETOBS_TCP_RTT_OVERFLOW, 1);
  group = NETOBS_TCP_GROUP_OTHER;
  return bpf_map_lookup_elem(&rtt_by_group, &group);
}

/* ---- tcp:tcp_probe: one call per segment received on an established
 * socket (tcp_rcv_established), carrying the smoothed RTT before this
 * segment's ACK is processed. */

/* The socket's srtt_us if it passes the namespace and sampling filters,
 * else 0. `btf`: sk is BTF-typed (tp_btf), so direct loads replace the
 * helper calls on this hot path. */
static __always_inline __u32 probe_srtt8(const struct sock* sk, bool btf) {
  const struct sock_common* skc = &sk->__sk_common;

  if (btf) {
    if (target_netns && skc->skc_net.net->ns.inum != target_netns) return 0;
    if (!sampled(skc)) return 0;
    const struct tcp_sock* tp = bpf_skc_to_tcp_sock((void*)sk);
    return tp ? tp->srtt_us : 0;
  }
  if (!netns_ok(skc) || !sampled(skc)) return 0;
  return BPF_CORE_READ((const struct tcp_sock*)sk, srtt_us);
}

/* The RTT histogram of the socket's group (collectors.tcp.group_by). */
static __always_inline struct netobs_tcp_hist* rtt_hist(const struct sock_common* skc, bool btf) {
  __u32 zero = 0, group;

  if (group_by == NETOBS_TCP_GROUP_NONE) return bpf_map_lookup_elem(&rtt, &zero);
  /* Ports by direct load on the tp_btf rung (this runs per segment). */
  if (btf && group_by == NETOBS_TCP_GROUP_LOCAL_PORT)
    group = skc->skc_num;
  else if (btf && group_by == NETOBS_TCP_GROUP_REMOTE_PORT)
    group = bpf_ntohs(skc->skc_dport);
  else
    group = group_of(skc);
  return rtt_group_hist(group);
}

/* The RTT histogram of the socket's cgroup, created on first use; past the
 * map's capacity the pre-inserted `other` entry (counted). Direct loads on
 * the tp_btf rung: this runs per segment. */
static __always_inline struct netobs_tcp_hist* rtt_cgroup_hist(const struct sock* sk, bool btf) {
  __u64 id = 0;

  if (btf) {
    const struct cgroup* cgroup = sk->sk_cgrp_data.cgroup;

    if (cgroup) id = cgroup->kn->id;
  } else {
    id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
  }
  struct netobs_tcp_hist* hist = bpf_map_lookup_elem(&rtt_by_cgroup, &id);
  if (hist) return hist;
  __u32 zero = 0;
  struct netobs_tcp_hist* zeroes = bpf_map_lookup_elem(&zero_hist, &zero);
  if (!zeroes) return 0;
  /* EEXIST (another CPU inserted it) is fine: look it up again. */
  bpf_map_update_elem(&rtt_by_cgroup, &id, zeroes, BPF_NOEXIST);
  hist = bpf_map_lookup_elem(&rtt_by_cgroup, &id);
  if (hist) return hist;
  count(NETOBS_TCP_CGROUP_OVERFLOW, 1);
  id = NETOBS_TCP_CGROUP_OTHER;
  return bpf_map_lookup_elem(&rtt_by_cgroup, &id);
}

static __always_inline int on_probe(const struct sock* sk, bool btf) {
  /* srtt_us is the smoothed RTT in microseconds << 3 (tcp_rtt_estimator);
   * 0 means no RTT sample yet. Exported as microseconds. */
  __u32 srtt8 = probe_srtt8(sk, btf);
  struct netobs_tcp_hist* hist;

  if (srtt8 == 0) return 0;
  hist = rtt_hist(&sk->__sk_common, btf);
  if (hist) hist_add(hist, srtt8 >> 3, NETOBS_TCP_RTT_SLOTS);
  if (attribute_cgroup) {
    hist = rtt_cgroup_hist(sk, btf);
    if (hist) hist_add(hist, srtt8 >> 3, NETOBS_TCP_RTT_SLOTS);
  }
  return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_btf, struct sock* sk, const struct sk_buff* skb) {
  return on_probe(sk, true);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_probe_raw, struct sock* sk, const struct sk_buff* skb) {
  return on_probe(sk, false);
}

SEC("tracepoint/tcp/tcp_probe")
int tcp_probe_tp(struct trace_event_raw_tcp_probe* ctx) {
  return on_probe((const struct sock*)ctx->skaddr, false);
}

/* ---- Retransmissions. */

static __always_inline void add_retrans(const struct sock_common* skc, __u32 kind, __u64 segs) {
  if (group_by == NETOBS_TCP_GROUP_NONE) {
    __u64* value = bpf_map_lookup_elem(&retrans, &kind);

    if (value) *value += segs;
    return;
  }
  struct netobs_tcp_retrans_key key = {.group = group_of(skc), .kind = kind};
  __u64* value = bpf_map_lookup_elem(&retrans_by_group, &key);
  if (!value) {
    __u64 zero = 0;

    bpf_map_update_elem(&retrans_by_group, &key, &zero, BPF_NOEXIST);
    value = bpf_map_lookup_elem(&retrans_by_group, &key);
    if (!value) {
      count(NETOBS_TCP_RETRANS_OVERFLOW, segs);
      key.group = NETOBS_TCP_GROUP_OTHER;
      value = bpf_map_lookup_elem(&retrans_by_group, &key);
    }
  }
  if (value) *value += segs;
}

/* Which retransmission this is, read from the socket at the tracepoint (the
 * end of __tcp_retransmit_skb, Linux 6.13+; before that only on success):
 * - SYN_SENT socket: the SYN of an active open (the only skb it can resend).
 * - icsk_ca_state == TCP_CA_Loss: tcp_retransmit_timer entered Loss (RTO)
 *   before resending the head, and the rest of the window is resent in Loss
 *   (TcpExt TCPSlowStartRetrans). MTU-probe failures also enter Loss.
 * - icsk_ca_state == TCP_CA_Recovery: fast retransmit (SACK/RACK/dupack
 *   recovery; TcpExt TCPFastRetrans).
 * - icsk_pending == ICSK_TIME_LOSS_PROBE: tcp_write_timer_handler calls
 *   tcp_send_loss_probe with the loss-probe timer still pending; TLP is only
 *   scheduled in the Open/CWR states, so the checks above never hide one.
 *   tp->tlp_high_seq cannot tell: it is set only after the probe was sent.
 * Anything else (a retransmit in Open/Disorder outside the probe timer) is
 * `other`. */
static __always_inline __u32 retrans_kind(const struct sock* sk) {
  const struct inet_connection_sock* icsk = (const struct inet_connection_sock*)sk;

  if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT) return NETOBS_TCP_RETRANS_SYN;
  __u8 ca_state = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
  if (ca_state == TCP_CA_Loss) return NETOBS_TCP_RETRANS_RTO;
  if (ca_state == TCP_CA_Recovery) return NETOBS_TCP_RETRANS_FAST;
  if (BPF_CORE_READ(icsk, icsk_pending) == ICSK_TIME_LOSS_PROBE) return NETOBS_TCP_RETRANS_TLP;
  return NETOBS_TCP_RETRANS_OTHER;
}

/* Segments in the skb as the kernel counts them (tcp_skb_pcount: gso_segs of
 * skb_shinfo, which sits at skb->head + skb->end). The kernel adds this to
 * Tcp RetransSegs, so netobs counts segments, not skbs, and the two agree. */
static __always_inline __u64 skb_segments(const struct sk_buff* skb) {
  unsigned char* head = BPF_CORE_READ(skb, head);
  unsigned int end = BPF_CORE_READ(skb, end);
  const struct skb_shared_info* shinfo = (const void*)(head + end);
  __u16 segs = BPF_CORE_READ(shinfo, gso_segs);

  return segs ? segs : 1;
}

static __always_inline int on_retransmit(const struct sock* sk, const struct sk_buff* skb,
                                         int err) {
  const struct sock_common* skc = &sk->__sk_common;

  if (!sk || !netns_ok(skc) || !sampled(skc)) return 0;
  /* A retransmission that failed before the stats update (host queue busy,
   * no memory, routing failure) is not in RetransSegs: count it apart. */
  if (err) {
    count(NETOBS_TCP_RETRANS_ERRORS, 1);
    return 0;
  }
  __u64 segments = skb_segments(skb);
  add_retrans(skc, retrans_kind(sk), segments);
  cgroup_add(sk, NETOBS_TCP_CG_RETRANS_SEGS, segments);
  return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_btf, const struct sock* sk, const struct sk_buff* skb, int err) {
  return on_retransmit(sk, skb, err);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_raw, const struct sock* sk, const struct sk_buff* skb, int err) {
  return on_retransmit(sk, skb, err);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcp_retransmit_tp(struct trace_event_raw_tcp_retransmit_skb* ctx) {
  /* Before Linux 6.13 the event had no err field and fired on success only. */
  int err = bpf_core_field_exists(ctx->err) ? ctx->err : 0;

  return on_retransmit((const struct sock*)ctx->skaddr, (const struct sk_buff*)ctx->skbaddr, err);
}

/* tcp_rtx_synack fires the event only when the SYN-ACK went out, and then
 * counts one segment in RetransSegs and in TcpExt TCPSynRetrans. `sk` is the
 * listener; the connection's addresses are in the request sock. */
static __always_inline int on_retransmit_synack(const struct sock* sk,
                                                const struct request_sock* req) {
  const struct sock_common* req_skc = &req->__req_common;

  if (!sk || !req || !netns_ok(&sk->__sk_common) || !sampled(req_skc)) return 0;
  add_retrans(req_skc, NETOBS_TCP_RETRANS_SYNACK, 1);
  cgroup_add(sk, NETOBS_TCP_CG_RETRANS_SEGS, 1);
  return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tcp_retransmit_synack_btf, const struct sock* sk, const struct request_sock* req) {
  return on_retransmit_synack(sk, req);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(tcp_retransmit_synack_raw, const struct sock* sk, const struct request_sock* req) {
  return on_retransmit_synack(sk, req);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tcp_retransmit_synack_tp(struct trace_event_raw_tcp_retransmit_synack* ctx) {
  return on_retransmit_synack((const struct sock*)ctx->skaddr,
                              (const struct request_sock*)ctx->req);
}

/* ---- Connection life cycle. */

static __always_inline void on_established(const struct sock* sk, int oldstate) {
  if (oldstate == TCP_SYN_SENT) {
    count(NETOBS_TCP_OPENED_ACTIVE, 1);
    cgroup_add(sk, NETOBS_TCP_CG_OPENED_ACTIVE, 1);
  } else if (oldstate == TCP_SYN_RECV) {
    count(NETOBS_TCP_OPENED_PASSIVE, 1);
    cgroup_add(sk, NETOBS_TCP_CG_OPENED_PASSIVE, 1);
  } else {
    return;
  }
  if (!sampled(&sk->__sk_common)) return;
  __u64 key = (__u64)sk;
  __u64 now = bpf_ktime_get_ns();
  if (bpf_map_update_elem(&conn_start, &key, &now, BPF_ANY) != 0) {
    count(NETOBS_TCP_TRACK_ERRORS, 1);
  }
}

static __always_inline void on_closed(const struct sock* sk) {
  const struct tcp_sock* tp = (const struct tcp_sock*)sk;
  __u64 key = (__u64)sk;

  count(NETOBS_TCP_CLOSED, 1);
  /* Payload bytes, not sequence space: bytes_acked and bytes_received also
   * count the SYN and FIN. Sent = bytes_sent - bytes_retrans (each payload
   * byte once, acknowledged or not; Linux 4.19+). Received = bytes_received
   * less the FIN when one arrived (tcp_fin sets SOCK_DONE; at this tracepoint
   * tcp_done has not touched the flags yet). */
  __u64 sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
  __u64 received = BPF_CORE_READ(tp, bytes_received);
  unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
  if (((flags >> SOCK_DONE) & 1) && received > 0) received -= 1;
  count(NETOBS_TCP_SENT_BYTES, sent);
  count(NETOBS_TCP_RECEIVED_BYTES, received);
  struct netobs_tcp_cgroup_counts* by_cgroup = cgroup_counts_of(sk);
  if (by_cgroup) {
    by_cgroup->values[NETOBS_TCP_CG_CLOSED] += 1;
    by_cgroup->values[NETOBS_TCP_CG_SENT_BYTES] += sent;
    by_cgroup->values[NETOBS_TCP_CG_RECEIVED_BYTES] += received;
  }
  if (!sampled(&sk->__sk_common)) {
    bpf_map_delete_elem(&conn_start, &key);
    return;
  }
  __u32 index = NETOBS_TCP_HIST_SENT_BYTES;
  struct netobs_tcp_hist* hist = bpf_map_lookup_elem(&conn_hists, &index);
  if (hist) hist_add(hist, sent, NETOBS_TCP_BYTES_SLOTS);
  index = NETOBS_TCP_HIST_RECEIVED_BYTES;
  hist = bpf_map_lookup_elem(&conn_hists, &index);
  if (hist) hist_add(hist, received, NETOBS_TCP_BYTES_SLOTS);

  __u64* start = bpf_map_lookup_elem(&conn_start, &key);
  if (!start) {
    count(NETOBS_TCP_DURATION_UNKNOWN, 1);
    return;
  }
  /* ktime ns -> us for the histogram. */
  __u64 duration_us = (bpf_ktime_get_ns() - *start) / 1000;
  bpf_map_delete_elem(&conn_start, &key);
  index = NETOBS_TCP_HIST_DURATION;
  hist = bpf_map_lookup_elem(&conn_hists, &index);
  if (hist) hist_add(hist, duration_us, NETOBS_TCP_DURATION_SLOTS);
}

static __always_inline int on_set_state(const struct sock* sk, int oldstate, int newstate,
                                        int protocol) {
  if (!sk || protocol != IPPROTO_TCP || !netns_ok(&sk->__sk_common)) return 0;
  if (newstate == TCP_ESTABLISHED) {
    on_established(sk, oldstate);
    return 0;
  }
  if (newstate != TCP_CLOSE) return 0;
  switch (oldstate) {
    case TCP_SYN_SENT: {
      /* tcp_done_with_error stores sk_err (ECONNREFUSED on a reset,
       * ETIMEDOUT after the SYN retries, ...) before the state changes;
       * 0 means the application closed the socket first. */
      int err = BPF_CORE_READ(sk, sk_err);
      __u32 slot = err < 0 ? 0 : (__u32)err;
      if (slot >= NETOBS_TCP_ERRNO_SLOTS) slot = NETOBS_TCP_ERRNO_SLOTS - 1;
      __u64* value = bpf_map_lookup_elem(&connect_errors, &slot);
      if (value) *value += 1;
      return 0;
    }
    case TCP_SYN_RECV:
      count(NETOBS_TCP_PASSIVE_FAILED, 1);
      return 0;
    case TCP_LISTEN:
    case TCP_CLOSE:
      return 0;
    default:
      on_closed(sk);
      return 0;
  }
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_btf, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_raw, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  return on_set_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->protocol);
}

/* ---- Resets. */

/* tcp_v4/v6_send_reset pass the offending skb and a NULL sk when no socket
 * matched (e.g. a SYN to a closed port): the namespace is then the receiving
 * device's. tcp_send_active_reset passes the socket and a NULL skb. */
static __always_inline int on_send_reset(const struct sock* sk, const struct sk_buff* skb) {
  if (target_netns) {
    __u32 netns = 0;

    if (sk) {
      netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    } else if (skb) {
      netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
    }
    if (netns != target_netns) return 0;
  }
  count(NETOBS_TCP_RESETS_SENT, 1);
  return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset_btf, const struct sock* sk, const struct sk_buff* skb) {
  return on_send_reset(sk, skb);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tcp_send_reset_raw, const struct sock* sk, const struct sk_buff* skb) {
  return on_send_reset(sk, skb);
}

SEC("tracepoint/tcp/tcp_send_reset")
int tcp_send_reset_tp(struct trace_event_raw_tcp_send_reset* ctx) {
  return on_send_reset((const struct sock*)ctx->skaddr, (const struct sk_buff*)ctx->skbaddr);
}

static __always_inline int on_receive_reset(const struct sock* sk) {
  if (!sk || !netns_ok(&sk->__sk_common)) return 0;
  count(NETOBS_TCP_RESETS_RECEIVED, 1);
  return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset_btf, struct sock* sk) { return on_receive_reset(sk); }

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset_raw, struct sock* sk) { return on_receive_reset(sk); }

SEC("tracepoint/tcp/tcp_receive_reset")
int tcp_receive_reset_tp(struct trace_event_raw_tcp_event_sk* ctx) {
  return on_receive_reset((const struct sock*)ctx->skaddr);
}

char LICENSE[] SEC("license") = "GPL";
