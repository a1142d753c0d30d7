// SPDX-License-Identifier: GPL-2.0
/* netobs security collector: outbound connects (CLOSE -> SYN_SENT, in the
 * connecting task) and completed inbound handshakes (SYN_RECV ->
 * ESTABLISHED) from sock:inet_sock_set_state, matched in the kernel
 * against CIDR blocklists (LPM tries), suspicious peer ports (hash) and,
 * when asked, the internal address ranges (LPM tries: a peer outside them
 * is external). Matches go to user space through a ring buffer.
 *
 * Three rungs (attach ladder): tp_btf, raw_tp, classic tracepoint. Only two
 * transitions per connection pass the first test, so the socket is read
 * with BPF_CORE_READ on every rung.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "security.h"

#define AF_INET 2
#define AF_INET6 10

/* Set through skel->rodata before load; the verifier prunes what is off. */
const volatile __u8 external_alerts = 0;       /* look peers up in the internal tries */
const volatile __u8 has_port_rules = 0;        /* the port hash has entries */
const volatile __u8 has_class_rules = 0;       /* class tries hold exclude bits */
const volatile __u8 default_excluded = 0;      /* include_cidrs set: unmatched peers excluded */
const volatile __u8 default_port_excluded = 0; /* include_ports set: unlisted ports excluded */

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct netobs_sec_lpm_v4);
  __type(value, struct netobs_sec_block_value);
} block_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 65536);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct netobs_sec_lpm_v6);
  __type(value, struct netobs_sec_block_value);
} block_v6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct netobs_sec_lpm_v4);
  __type(value, __u32);
} class_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 4096);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct netobs_sec_lpm_v6);
  __type(value, __u32);
} class_v6 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u16);
  __type(value, __u32);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_SEC_COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64* value = bpf_map_lookup_elem(&counters, &which);
  if (value) *value += 1;
}

/* The connection as read from the socket, and what it matched. */
struct conn {
  struct netobs_sec_event e;
  __u32 class_bits;
};

static __always_inline bool is_v4_mapped(const __u8* a) {
  const __u32* w = (const __u32*)a;
  return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline void read_addresses(const struct sock* sk, struct netobs_sec_event* e) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family == AF_INET6) {
    BPF_CORE_READ_INTO(&e->peer, sk, __sk_common.skc_v6_daddr);
    BPF_CORE_READ_INTO(&e->local, sk, __sk_common.skc_v6_rcv_saddr);
    if (is_v4_mapped(e->peer)) {
      /* A dual-stack socket talking IPv4: match and report it as IPv4. */
      __builtin_memcpy(e->peer, e->peer + 12, 4);
      __builtin_memcpy(e->local, e->local + 12, 4);
      family = AF_INET;
    }
  } else {
    BPF_CORE_READ_INTO((__u32*)e->peer, sk, __sk_common.skc_daddr);
    BPF_CORE_READ_INTO((__u32*)e->local, sk, __sk_common.skc_rcv_saddr);
  }
  e->family = family;
  e->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Stage: the address tries (blocklist, then the class bits). */
static __always_inline void match_address(struct conn* c) {
  struct netobs_sec_block_value* block;
  __u32* class_bits;

  if (c->e.family == AF_INET) {
    struct netobs_sec_lpm_v4 key = {.prefixlen = 32};
    __builtin_memcpy(key.addr, c->e.peer, 4);
    block = bpf_map_lookup_elem(&block_v4, &key);
    class_bits = (external_alerts || has_class_rules) ? bpf_map_lookup_elem(&class_v4, &key) : 0;
  } else {
    struct netobs_sec_lpm_v6 key = {.prefixlen = 128};
    __builtin_memcpy(key.addr, c->e.peer, 16);
    block = bpf_map_lookup_elem(&block_v6, &key);
    class_bits = (external_alerts || has_class_rules) ? bpf_map_lookup_elem(&class_v6, &key) : 0;
  }
  if (block) {
    c->e.matches |= NETOBS_SEC_MATCH_BLOCKLIST;
    c->e.block_list = block->list;
    c->e.block_line = block->line;
  }
  c->class_bits = class_bits ? *class_bits : (default_excluded ? NETOBS_SEC_CLASS_EXCLUDED : 0);
  if (external_alerts && !(c->class_bits & NETOBS_SEC_CLASS_INTERNAL)) {
    c->e.matches |= NETOBS_SEC_MATCH_EXTERNAL;
  }
}

/* Stage: the peer port (suspicious ports apply to outbound connections). */
static __always_inline bool port_excluded(struct conn* c) {
  if (!has_port_rules) return false;
  __u16 port = c->e.peer_port;
  __u32* bits = bpf_map_lookup_elem(&ports, &port);
  if (!bits) return default_port_excluded;
  if ((*bits & NETOBS_SEC_PORT_SUSPICIOUS) && c->e.direction == NETOBS_SEC_OUTBOUND) {
    c->e.matches |= NETOBS_SEC_MATCH_PORT;
  }
  return (*bits & NETOBS_SEC_PORT_EXCLUDED) != 0;
}

static __always_inline int on_set_state(const struct sock* sk, int oldstate, int newstate,
                                        __u16 protocol) {
  struct conn c = {};

  if (protocol != IPPROTO_TCP) return 0;
  if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
    c.e.direction = NETOBS_SEC_OUTBOUND;
  } else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
    c.e.direction = NETOBS_SEC_INBOUND;
  } else {
    return 0;
  }
  count(NETOBS_SEC_CONNECTIONS_CHECKED);
  read_addresses(sk, &c.e);
  if (port_excluded(&c)) return 0;
  match_address(&c);
  if (c.class_bits & NETOBS_SEC_CLASS_EXCLUDED) return 0;
  if (!c.e.matches) return 0;

  c.e.ktime_ns = bpf_ktime_get_ns();
  if (c.e.direction == NETOBS_SEC_OUTBOUND) {
    c.e.tgid = bpf_get_current_pid_tgid() >> 32;
    c.e.cgroup_id = bpf_get_current_cgroup_id();
    bpf_get_current_comm(c.e.comm, sizeof c.e.comm);
  }
  if (bpf_ringbuf_output(&events, &c.e, sizeof c.e, 0) != 0) count(NETOBS_SEC_EVENTS_LOST);
  return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(security_set_state_btf, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(security_set_state_raw, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, BPF_CORE_READ(sk, sk_protocol));
}

SEC("tracepoint/sock/inet_sock_set_state")
int security_set_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  return on_set_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->protocol);
}

char LICENSE[] SEC("license") = "GPL";
