// SPDX-License-Identifier: GPL-2.0
/* netobs flows collector: TCP connections aggregated into edges
 * client -> server in a per-CPU hash, from the connection life cycle
 * (sock:inet_sock_set_state) and resets (tcp:tcp_receive_reset,
 * tcp:tcp_send_reset). Direction comes from who sent the SYN: a socket that
 * enters SYN_SENT belongs to a local client (its process's comm); one that
 * goes SYN_RECV -> ESTABLISHED was accepted by a local server. Bytes,
 * retransmissions and RTT are read from the socket once, when it closes, so
 * nothing runs per packet.
 *
 * Every event has three rungs (tp_btf, raw_tp, tracepoint); all read with
 * BPF_CORE_READ (the events are per connection, not per segment).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "flows.h"

#define AF_INET 2
#define AF_INET6 10

/* Set through skel->rodata before load. */
const volatile __u32 target_netns = 0; /* network namespace inode number; 0: all */
const volatile __u8 use_services = 0;  /* the services trie has entries */
const volatile __u8 use_cidr_filter = 0;
const volatile __u8 include_cidrs = 0; /* some cidr_filter entry is an include */
const volatile __u8 use_port_filter = 0;
const volatile __u8 include_ports = 0; /* some port_filter entry is an include */
const volatile __u8 key_cgroup = 0;    /* key process clients by cgroup id too */

/* Edges; max_entries = max_edges + 1 (the `other` edge, inserted by user
 * space before the programs attach). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 301);
  __type(key, struct netobs_flows_edge_key);
  __type(value, struct netobs_flows_edge_stats);
} edges SEC(".maps");

/* The edge of each tracked socket, keyed by its address. LRU: when full,
 * the oldest go and their close is not counted (counted in UNTRACKED when
 * the insert itself fails). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct netobs_flows_sock);
} socks SEC(".maps");

/* Connections that existed before start, keyed by socket cookie (filled by
 * user space from one sock_diag dump). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, struct netobs_flows_sock);
} seeded SEC(".maps");

/* Configured services: address, CIDR or address:port -> service id >= 1. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __type(key, struct netobs_flows_lpm_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} services SEC(".maps");

/* network.include_cidrs / exclude_cidrs on the remote address. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __type(key, struct netobs_flows_lpm_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} cidr_filter SEC(".maps");

/* network.include_ports / exclude_ports on the server port. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u16);
  __type(value, __u32);
} port_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_FLOWS_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* Scratch space for building keys (they do not fit the 512-byte stack
 * twice over with the socket record). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct netobs_flows_sock);
} scratch SEC(".maps");

static __always_inline void count(__u32 index) {
  __u64* value = bpf_map_lookup_elem(&counters, &index);

  if (value) *value += 1;
}

static __always_inline bool netns_ok(const struct sock* sk) {
  if (!target_netns) return true;
  return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) == target_netns;
}

/* The remote (daddr) or local (rcv_saddr) address as IPv6 / IPv4-mapped. */
static __always_inline void read_addr(const struct sock* sk, bool remote, __u8 out[16]) {
  if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6) {
    if (remote)
      BPF_CORE_READ_INTO((struct in6_addr*)out, sk, __sk_common.skc_v6_daddr);
    else
      BPF_CORE_READ_INTO((struct in6_addr*)out, sk, __sk_common.skc_v6_rcv_saddr);
    return;
  }
  __u32 v4 = remote ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
                    : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
  __builtin_memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  __builtin_memcpy(&out[12], &v4, 4);
}

static __always_inline __u32 lpm_lookup(void* trie, const __u8 addr[16], __u16 port,
                                        __u32 prefixlen) {
  struct netobs_flows_lpm_key key = {.prefixlen = prefixlen};

  __builtin_memcpy(key.addr, addr, 16);
  key.port[0] = port >> 8;
  key.port[1] = port & 0xff;
  __u32* value = bpf_map_lookup_elem(trie, &key);
  return value ? *value : 0;
}

/* Whether a connection with this remote address and server port passes
 * network.{include,exclude}_{cidrs,ports}. */
static __always_inline bool filters_pass(const __u8 remote[16], __u16 server_port) {
  if (use_cidr_filter) {
    __u32 verdict = lpm_lookup(&cidr_filter, remote, 0, 128);

    if (verdict == NETOBS_FLOWS_FILTER_EXCLUDE) return false;
    if (include_cidrs && verdict != NETOBS_FLOWS_FILTER_INCLUDE) return false;
  }
  if (use_port_filter) {
    __u32* verdict = bpf_map_lookup_elem(&port_filter, &server_port);

    if (verdict && *verdict == NETOBS_FLOWS_FILTER_EXCLUDE) return false;
    if (include_ports && !(verdict && *verdict == NETOBS_FLOWS_FILTER_INCLUDE)) return false;
  }
  return true;
}

/* Fills the server side: a configured service (port kept for the protocol)
 * or the address:port. */
static __always_inline void set_server(struct netobs_flows_edge_key* key, const __u8 addr[16],
                                       __u16 port) {
  key->server_port = port;
  if (use_services) {
    __u32 service = lpm_lookup(&services, addr, port, 144);

    if (service) {
      key->server_kind = NETOBS_FLOWS_SERVER_SERVICE;
      key->server_service = service;
      return;
    }
  }
  key->server_kind = NETOBS_FLOWS_SERVER_ADDRESS;
  __builtin_memcpy(key->server_addr, addr, 16);
}

/* Makes sure the edge exists (an all-zero entry inserted on first use);
 * past the map's capacity the connection goes to the `other` edge. */
static __always_inline void resolve_edge(struct netobs_flows_edge_key* key) {
  if (bpf_map_lookup_elem(&edges, key)) return;
  struct netobs_flows_edge_stats zero = {};
  /* EEXIST (another CPU inserted it) is fine. */
  bpf_map_update_elem(&edges, key, &zero, BPF_NOEXIST);
  if (bpf_map_lookup_elem(&edges, key)) return;
  count(NETOBS_FLOWS_FOLDED);
  __builtin_memset(key, 0, sizeof(*key));
}

/* The record of a new connection: the local end is the client (active) or
 * the server (passive). NULL when filtered out. */
static __always_inline struct netobs_flows_sock* build(const struct sock* sk, bool passive) {
  __u32 zero = 0;
  struct netobs_flows_sock* rec = bpf_map_lookup_elem(&scratch, &zero);
  __u8 remote[16], local[16];

  if (!rec) return 0;
  __builtin_memset(rec, 0, sizeof(*rec));
  read_addr(sk, true, remote);
  __u16 remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  __u16 local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  if (!filters_pass(remote, passive ? local_port : remote_port)) {
    count(NETOBS_FLOWS_FILTERED);
    return 0;
  }
  rec->passive = passive;
  if (passive) {
    __u32 service = use_services ? lpm_lookup(&services, remote, 0, 128) : 0;

    if (service) {
      rec->edge.client_kind = NETOBS_FLOWS_CLIENT_SERVICE;
      rec->edge.client_service = service;
    } else {
      rec->edge.client_kind = NETOBS_FLOWS_CLIENT_ADDRESS;
      __builtin_memcpy(rec->edge.client_addr, remote, 16);
    }
    read_addr(sk, false, local);
    set_server(&rec->edge, local, local_port);
  } else {
    /* SYN_SENT is entered in connect(), in the connecting task. */
    rec->edge.client_kind = NETOBS_FLOWS_CLIENT_PROCESS;
    bpf_get_current_comm(rec->edge.comm, sizeof(rec->edge.comm));
    if (key_cgroup) rec->edge.cgroup_id = bpf_get_current_cgroup_id();
    set_server(&rec->edge, remote, remote_port);
  }
  resolve_edge(&rec->edge);
  return rec;
}

static __always_inline struct netobs_flows_edge_stats* stats_of(struct netobs_flows_sock* rec) {
  return bpf_map_lookup_elem(&edges, &rec->edge);
}

/* Tracked record of a socket: by address, else (connections older than
 * netobs) by cookie in the seeded map. */
static __always_inline struct netobs_flows_sock* tracked(const struct sock* sk, __u64* cookie) {
  __u64 key = (__u64)sk;
  struct netobs_flows_sock* rec = bpf_map_lookup_elem(&socks, &key);

  *cookie = 0;
  if (rec) return rec;
  *cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  if (!*cookie) return 0;
  return bpf_map_lookup_elem(&seeded, cookie);
}

static __always_inline void forget(const struct sock* sk, __u64 cookie) {
  __u64 key = (__u64)sk;

  if (cookie)
    bpf_map_delete_elem(&seeded, &cookie);
  else
    bpf_map_delete_elem(&socks, &key);
}

static __always_inline void track(const struct sock* sk, struct netobs_flows_sock* rec) {
  __u64 key = (__u64)sk;

  if (bpf_map_update_elem(&socks, &key, rec, BPF_ANY) != 0) count(NETOBS_FLOWS_UNTRACKED);
}

static __always_inline void on_close(const struct sock* sk, struct netobs_flows_sock* rec,
                                     struct netobs_flows_edge_stats* stats) {
  const struct tcp_sock* tp = (const struct tcp_sock*)sk;
  /* Payload bytes as the tcp collector counts them (see tcp.bpf.c): sent =
   * bytes_sent - bytes_retrans; received = bytes_received less the FIN. */
  __u64 sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
  __u64 received = BPF_CORE_READ(tp, bytes_received);
  unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
  __u32 srtt8 = BPF_CORE_READ(tp, srtt_us);

  if (((flags >> SOCK_DONE) & 1) && received > 0) received -= 1;
  stats->closed += 1;
  stats->bytes_to_server += rec->passive ? received : sent;
  stats->bytes_to_client += rec->passive ? sent : received;
  stats->retransmits += BPF_CORE_READ(tp, total_retrans);
  if (srtt8) {
    stats->rtt_sum_us += srtt8 >> 3;
    stats->rtt_count += 1;
  }
}

static __always_inline int on_set_state(const struct sock* sk, int oldstate, int newstate,
                                        int protocol) {
  struct netobs_flows_sock* rec;
  struct netobs_flows_edge_stats* stats;
  __u64 cookie = 0;

  if (!sk || protocol != IPPROTO_TCP || !netns_ok(sk)) return 0;
  if (newstate == TCP_SYN_SENT) {
    rec = build(sk, false);
    if (rec) track(sk, rec);
    return 0;
  }
  if (newstate == TCP_ESTABLISHED) {
    if (oldstate == TCP_SYN_RECV) {
      rec = build(sk, true);
      if (!rec) return 0;
      track(sk, rec);
    } else {
      rec = tracked(sk, &cookie);
      if (!rec) return 0;
    }
    stats = stats_of(rec);
    if (stats) stats->opened += 1;
    return 0;
  }
  if (newstate != TCP_CLOSE) return 0;
  if (oldstate == TCP_SYN_RECV) {
    /* A passive open reset before it completed: never tracked. */
    rec = build(sk, true);
    stats = rec ? stats_of(rec) : 0;
    if (stats) stats->failed += 1;
    return 0;
  }
  rec = tracked(sk, &cookie);
  if (!rec) return 0;
  stats = stats_of(rec);
  if (stats) {
    if (oldstate == TCP_SYN_SENT) {
      /* Refused, timed out or abandoned; its SYN retransmissions count. */
      stats->failed += 1;
      stats->retransmits += BPF_CORE_READ((const struct tcp_sock*)sk, total_retrans);
    } else if (oldstate != TCP_LISTEN && oldstate != TCP_CLOSE) {
      on_close(sk, rec, stats);
    }
  }
  forget(sk, cookie);
  return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(flows_set_state_btf, const struct sock* sk, const int oldstate, const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(flows_set_state_raw, const struct sock* sk, const int oldstate, const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("tracepoint/sock/inet_sock_set_state")
int flows_set_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  return on_set_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->protocol);
}

/* ---- Resets on a tracked connection (sent or received). */

static __always_inline int on_reset(const struct sock* sk) {
  __u64 cookie;

  if (!sk || !netns_ok(sk)) return 0;
  struct netobs_flows_sock* rec = tracked(sk, &cookie);
  if (!rec) return 0;
  struct netobs_flows_edge_stats* stats = stats_of(rec);
  if (stats) stats->resets += 1;
  return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(flows_receive_reset_btf, struct sock* sk) { return on_reset(sk); }

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(flows_receive_reset_raw, struct sock* sk) { return on_reset(sk); }

SEC("tracepoint/tcp/tcp_receive_reset")
int flows_receive_reset_tp(struct trace_event_raw_tcp_event_sk* ctx) {
  return on_reset((const struct sock*)ctx->skaddr);
}

/* sk is NULL when no socket matched (a SYN to a closed port): nothing to
 * attribute on this side (the client sees the reset). */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(flows_send_reset_btf, const struct sock* sk, const struct sk_buff* skb) {
  return on_reset(sk);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(flows_send_reset_raw, const struct sock* sk, const struct sk_buff* skb) {
  return on_reset(sk);
}

SEC("tracepoint/tcp/tcp_send_reset")
int flows_send_reset_tp(struct trace_event_raw_tcp_send_reset* ctx) {
  return on_reset((const struct sock*)ctx->skaddr);
}

char LICENSE[] SEC("license") = "GPL";
