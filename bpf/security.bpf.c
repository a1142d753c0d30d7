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
#include "lib/dns_wire.h"

#define AF_INET 2
#define AF_INET6 10

/* Set through skel->rodata before load; the verifier prunes what is off. */
const volatile __u32 target_netns = 0;         /* network namespace inode; 0: every namespace */
const volatile __u8 external_alerts = 0;       /* look peers up in the internal tries */
const volatile __u8 has_port_rules = 0;        /* the port hash has entries */
const volatile __u8 has_class_rules = 0;       /* class tries hold exclude bits */
const volatile __u8 default_excluded = 0;      /* include_cidrs set: unmatched peers excluded */
const volatile __u8 default_port_excluded = 0; /* include_ports set: unlisted ports excluded */
const volatile __u8 has_interface_rules = 0;   /* filtered_addrs is in use */
/* DNS answers: the namespace of the packet socket the filter is attached to
 * (also where queries are attributed), and the DNS server port. */
const volatile __u32 dns_netns = 0;
const volatile __u16 dns_port = 53;

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
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct netobs_sec_addr_key);
  __type(value, __u32);
} filtered_addrs SEC(".maps");

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

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct netobs_sec_block_prefixes);
} block_prefixes SEC(".maps");

/* Client port -> the task that sent a DNS query from it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct netobs_sec_dns_client_key);
  __type(value, struct netobs_sec_dns_client);
} dns_clients SEC(".maps");

/* The DNS event is built here, and the packet copied here to be parsed
 * from memory (both too large for the stack). */
#define DNS_COPY_HEAD 48 /* the longest IP + UDP header parsed: IPv6's */
#define DNS_COPY_MAX (DNS_COPY_HEAD + DNS_MEM_MAX)
struct dns_scratch_value {
  struct netobs_sec_dns_event ev;
  /* The answer walk's next record, in map memory on purpose: read back,
   * it is a value the verifier does not track, so every way the previous
   * record's name can end leads to one state (kept on the stack, the
   * verifier walks the rest once per offset and passes its limit). */
  __u32 pos, name_end;
  struct netobs_sec_block_value hit; /* when found */
  /* IP and UDP header, then the DNS message: the message starts at 28
   * (IPv4) or 48 (IPv6), so DNS_MEM_AT reads stay in the buffer. */
  __u8 packet[DNS_COPY_MAX + DNS_MEM_SLACK];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dns_scratch_value);
} dns_scratch SEC(".maps");

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

/* Reads a socket field: a direct BTF load on the tp_btf rung (`direct`, a
 * constant after inlining: the other branch is compiled out), a probe read
 * (bpf_probe_read_kernel) on raw_tp and tracepoint, whose pointers the
 * verifier does not type. The direct loads make the checked path about as
 * cheap as the empty program plus the map lookups. */
#define SK_READ(direct, sk, field) ((direct) ? (sk)->field : BPF_CORE_READ(sk, field))

static __always_inline void read_addresses(const struct sock* sk, struct netobs_sec_event* e,
                                           const bool direct) {
  __u16 family = SK_READ(direct, sk, __sk_common.skc_family);
  if (family == AF_INET6) {
    if (direct) {
      __builtin_memcpy(e->peer, &sk->__sk_common.skc_v6_daddr, 16);
      __builtin_memcpy(e->local, &sk->__sk_common.skc_v6_rcv_saddr, 16);
    } else {
      BPF_CORE_READ_INTO(&e->peer, sk, __sk_common.skc_v6_daddr);
      BPF_CORE_READ_INTO(&e->local, sk, __sk_common.skc_v6_rcv_saddr);
    }
    if (is_v4_mapped(e->peer)) {
      /* A dual-stack socket talking IPv4: match and report it as IPv4. */
      __builtin_memcpy(e->peer, e->peer + 12, 4);
      __builtin_memcpy(e->local, e->local + 12, 4);
      __builtin_memset(e->peer + 4, 0, 12);
      __builtin_memset(e->local + 4, 0, 12);
      family = AF_INET;
    }
  } else {
    *(__u32*)e->peer = SK_READ(direct, sk, __sk_common.skc_daddr);
    *(__u32*)e->local = SK_READ(direct, sk, __sk_common.skc_rcv_saddr);
  }
  e->family = family;
  e->peer_port = bpf_ntohs(SK_READ(direct, sk, __sk_common.skc_dport));
  e->local_port = SK_READ(direct, sk, __sk_common.skc_num);
  e->netns = direct ? sk->__sk_common.skc_net.net->ns.inum
                    : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
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

/* protocol < 0: read it from the socket (tp_btf, raw_tp); the classic
 * tracepoint has it in its record. */
static __always_inline int on_set_state(const struct sock* sk, int oldstate, int newstate,
                                        int protocol, const bool direct) {
  struct conn c = {};

  if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
    c.e.direction = NETOBS_SEC_OUTBOUND;
  } else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
    c.e.direction = NETOBS_SEC_INBOUND;
  } else {
    return 0;
  }
  if (protocol < 0) protocol = SK_READ(direct, sk, sk_protocol);
  if (protocol != IPPROTO_TCP) return 0;
  read_addresses(sk, &c.e, direct);
  if (target_netns && c.e.netns != target_netns) return 0;
  count(NETOBS_SEC_CONNECTIONS_CHECKED);
  if (has_interface_rules) {
    /* network.interfaces / exclude_interfaces: by the local address. */
    struct netobs_sec_addr_key local = {.family = c.e.family};
    __builtin_memcpy(local.addr, c.e.local, 16);
    if (bpf_map_lookup_elem(&filtered_addrs, &local)) return 0;
  }
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
  /* No wakeup per alert (an irq_work and a reader wakeup cost more than the
   * rest of the program): the reader polls every 100 ms. */
  if (bpf_ringbuf_output(&events, &c.e, sizeof c.e, BPF_RB_NO_WAKEUP) != 0) {
    count(NETOBS_SEC_EVENTS_LOST);
  }
  return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(security_set_state_btf, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, -1, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(security_set_state_raw, const struct sock* sk, const int oldstate,
             const int newstate) {
  return on_set_state(sk, oldstate, newstate, -1, false);
}

SEC("tracepoint/sock/inet_sock_set_state")
int security_set_state_tp(struct trace_event_raw_inet_sock_set_state* ctx) {
  return on_set_state((const struct sock*)ctx->skaddr, ctx->oldstate, ctx->newstate, ctx->protocol,
                      false);
}

/* ---- DNS answers on a blocklist ----
 *
 * security_dns_answers: a socket filter on an AF_PACKET (SOCK_DGRAM) socket
 * in the watched namespace, so offset 0 is the IP header. Received UDP
 * packets from the DNS port carrying a response: every A/AAAA answer
 * (at most SEC_DNS_MAX_ANSWERS) is looked up in the blocklist tries; the
 * first hit becomes one event with the question name. Always returns 0:
 * nothing is queued to the packet socket. IPv4 with options and IPv6 with
 * extension headers are not parsed (resolvers do not send them); DNS over
 * TCP is not looked at. */
#define SEC_DNS_MAX_ANSWERS 16
#define PACKET_OUTGOING 4
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PACKET_OTHERHOST 3
#define ETH_HLEN 14
#define TC_ACT_UNSPEC (-1) /* TCX_NEXT has the same value */

struct dns_udp_v4 {
  __u8 vihl, tos;
  __be16 tot_len, id, frag;
  __u8 ttl, protocol;
  __be16 check;
  __u8 saddr[4], daddr[4];
  __be16 sport, dport, len, csum;
  struct dns_wire_header dns;
};

struct dns_udp_v6 {
  __be32 version_class_flow;
  __be16 payload_len;
  __u8 next, hop_limit;
  __u8 saddr[16], daddr[16];
  __be16 sport, dport, len, csum;
  struct dns_wire_header dns;
};

/* Where the response is in the packet and the copy. The addresses and
 * ports are read from the copy only for an alert. */
struct dns_response {
  __u32 off; /* DNS header */
  __u32 end; /* one past the message */
};

/* The headers as copied to `packet` (at least off + DNS_HEADER_LEN bytes). */
static __always_inline bool locate_v4(const __u8* packet, __u32 skb_len, struct dns_response* r) {
  const struct dns_udp_v4* h = (const void*)packet;
  if (h->vihl != 0x45 || h->protocol != IPPROTO_UDP || (h->frag & bpf_htons(0x1FFF))) return false;
  if (h->sport != bpf_htons(dns_port)) return false;
  __u32 end = bpf_ntohs(h->tot_len);
  r->end = end < skb_len ? end : skb_len;
  return true;
}

static __always_inline bool locate_v6(const __u8* packet, __u32 skb_len, struct dns_response* r) {
  const struct dns_udp_v6* h = (const void*)packet;
  if (h->next != IPPROTO_UDP || h->sport != bpf_htons(dns_port)) return false;
  __u32 end = bpf_ntohs(h->payload_len) + 40;
  r->end = end < skb_len ? end : skb_len;
  return true;
}

/* The server (peer) and client (local) of the copied response. */
static __always_inline void fill_endpoints(const __u8* packet, bool v4,
                                           struct netobs_sec_event* e) {
  if (v4) {
    const struct dns_udp_v4* h = (const void*)packet;
    e->family = AF_INET;
    e->peer_port = bpf_ntohs(h->sport);
    e->local_port = bpf_ntohs(h->dport);
    __builtin_memcpy(e->peer, h->saddr, 4);
    __builtin_memcpy(e->local, h->daddr, 4);
  } else {
    const struct dns_udp_v6* h = (const void*)packet;
    e->family = AF_INET6;
    e->peer_port = bpf_ntohs(h->sport);
    e->local_port = bpf_ntohs(h->dport);
    __builtin_memcpy(e->peer, h->saddr, 16);
    __builtin_memcpy(e->local, h->daddr, 16);
  }
}

/* The blocklist entry of an A answer's address (`rdata`: 4 readable bytes
 * in network order) or NULL; found: the address in `s`. */
static __always_inline struct netobs_sec_block_value* blocked_v4(
    const struct netobs_sec_block_prefixes* prefixes, const __u8* rdata,
    struct dns_scratch_value* s) {
  /* A 2-byte load (unaligned: allowed in map values and packets on x86 and arm64). */
  const __u32 first16 = bpf_ntohs(*(const __u16*)rdata);
  if (!(prefixes->v4[first16 >> 6] & (1ull << (first16 & 63)))) return 0; /* none starts so */
  struct netobs_sec_lpm_v4 key = {.prefixlen = 32};
  __builtin_memcpy(key.addr, rdata, 4);
  struct netobs_sec_block_value* block = bpf_map_lookup_elem(&block_v4, &key);
  if (block) {
    __builtin_memcpy(s->ev.answer, key.addr, 4);
    s->ev.answer_family = AF_INET;
  }
  return block;
}

/* The same for an AAAA answer (16 readable bytes). */
static __always_inline struct netobs_sec_block_value* blocked_v6(
    const struct netobs_sec_block_prefixes* prefixes, const __u8* rdata,
    struct dns_scratch_value* s) {
  const __u32 first16 = bpf_ntohs(*(const __u16*)rdata);
  if (!(prefixes->v6[first16 >> 6] & (1ull << (first16 & 63)))) return 0;
  struct netobs_sec_lpm_v6 key = {.prefixlen = 128};
  __builtin_memcpy(key.addr, rdata, 16);
  struct netobs_sec_block_value* block = bpf_map_lookup_elem(&block_v6, &key);
  if (block) {
    __builtin_memcpy(s->ev.answer, key.addr, 16);
    s->ev.answer_family = AF_INET6;
  }
  return block;
}

/* `n` bytes at `off` in the message: in the copy (`packet` false: the
 * caller checked off + n against the message's length) or in the packet
 * (NULL when they pass data_end). */
static __always_inline const __u8* dns_at(const __u8* msg, const bool packet, const void* data_end,
                                          __u32 off, const __u32 n) {
  if (!packet) return DNS_MEM_AT(msg, off);
  const __u8* p = DNS_PKT_AT(msg, off);
  return (const void*)(p + n) > data_end ? 0 : p;
}

/* The answers of the message at `msg` (`len`: its bytes; at most
 * DNS_MEM_MAX in the copy, DNS_PKT_MAX in the packet): in the per-CPU copy
 * (socket filter; `packet` false) or in the packet (tc; data_end:
 * skb->data_end; `packet`: a constant, so each program has one walk). True when one is blocklisted:
 * its entry in s->hit; s->name_end: the offset after the question name. A plain loop: each bpf_loop
 * step was a call, and a call is most of an answer's cost. */
static __always_inline bool blocked_answer(const __u8* msg, const bool packet, const void* data_end,
                                           __u32 len, __u16 answers, struct dns_scratch_value* s) {
  const __u32 zero = 0;
  const struct netobs_sec_block_prefixes* prefixes = bpf_map_lookup_elem(&block_prefixes, &zero);
  if (!prefixes) return false;
  long after = packet ? dns_pkt_skip_name(msg, data_end, DNS_HEADER_LEN, len)
                      : dns_mem_skip_name(msg, DNS_HEADER_LEN, len);
  if (after < 0) return false;
  s->name_end = (__u32)after;
  s->pos = (__u32)after + 4; /* QTYPE, QCLASS */
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < SEC_DNS_MAX_ANSWERS && i < answers; i++) {
    const __u32 at = *(volatile __u32*)&s->pos;
    long name_end =
        packet ? dns_pkt_skip_name(msg, data_end, at, len) : dns_mem_skip_name(msg, at, len);
    if (name_end < 0) return false;
    s->pos = (__u32)name_end;
    const __u32 fixed_at = *(volatile __u32*)&s->pos; /* see dns_scratch_value */
    if (fixed_at + 10 > len) return false;
    /* TYPE, CLASS, TTL, RDLENGTH: 2-byte loads as in blocked_v4. */
    const __u8* fixed = dns_at(msg, packet, data_end, fixed_at, 10);
    if (!fixed) return false;
    const __u16 type = bpf_ntohs(*(const __u16*)fixed);
    const __u16 rdlength = bpf_ntohs(*(const __u16*)(fixed + 8));
    const __u32 rdata = fixed_at + 10;
    if (rdata + rdlength > len) return false;
    struct netobs_sec_block_value* block = 0;
    if (type == DNS_TYPE_A && rdlength == 4) {
      const __u8* address = dns_at(msg, packet, data_end, rdata, 4);
      if (!address) return false;
      block = blocked_v4(prefixes, address, s);
    } else if (type == DNS_TYPE_AAAA && rdlength == 16) {
      const __u8* address = dns_at(msg, packet, data_end, rdata, 16);
      if (!address) return false;
      block = blocked_v6(prefixes, address, s);
    }
    if (block) {
      s->hit = *block;
      return true;
    }
    s->pos = rdata + rdlength;
  }
  return false;
}

/* The same for longer messages in the socket filter (EDNS), one LD_ABS
 * per field. */
static __always_inline bool blocked_answer_in_skb(struct __sk_buff* skb,
                                                  const struct dns_response* r, __u16 answers,
                                                  struct dns_scratch_value* s) {
  const __u32 zero = 0;
  const struct netobs_sec_block_prefixes* prefixes = bpf_map_lookup_elem(&block_prefixes, &zero);
  if (!prefixes) return false;
  long after = dns_skip_name(skb, 0, r->off + DNS_HEADER_LEN, r->end);
  if (after < 0) return false;
  s->name_end = (__u32)after - r->off;
  __u32 pos = (__u32)after + 4; /* QTYPE, QCLASS */
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < SEC_DNS_MAX_ANSWERS && i < answers; i++) {
    struct dns_rr_head rr;
    if (dns_read_rr(skb, 0, pos, r->end, &rr) < 0) return false;
    __u32 words[4] = {};
    if (rr.rdlength == 4 || rr.rdlength == 16) words[0] = bpf_htonl(load_word(skb, rr.rdata));
    if (rr.rdlength == 16) {
      for (int w = 1; w < 4; w++) words[w] = bpf_htonl(load_word(skb, rr.rdata + 4 * w));
    }
    struct netobs_sec_block_value* block = 0;
    if (rr.type == DNS_TYPE_A && rr.rdlength == 4) {
      block = blocked_v4(prefixes, (const __u8*)words, s);
    } else if (rr.type == DNS_TYPE_AAAA && rr.rdlength == 16) {
      block = blocked_v6(prefixes, (const __u8*)words, s);
    }
    if (block) {
      s->hit = *block;
      return true;
    }
    pos = rr.next;
  }
  return false;
}

/* The alert for the answer blocked_answer found: server and client from
 * the IP and UDP headers at `l3` (copy or packet), the sender of the query
 * from dns_clients, the question name from the skb (`msg_off`: where the
 * DNS message starts in it). */
static __always_inline void dns_alert(struct __sk_buff* skb, struct dns_scratch_value* s,
                                      const __u8* l3, const bool v4, __u32 msg_off) {
  struct netobs_sec_dns_event* ev = &s->ev;
  __builtin_memset(&ev->e, 0, sizeof ev->e);
  ev->e.ktime_ns = bpf_ktime_get_ns();
  ev->e.netns = dns_netns;
  ev->e.matches = NETOBS_SEC_MATCH_DNS_BLOCKLIST;
  ev->e.block_list = s->hit.list;
  ev->e.block_line = s->hit.line;
  ev->e.direction = NETOBS_SEC_DNS_ANSWER;
  fill_endpoints(l3, v4, &ev->e);
  struct netobs_sec_dns_client_key ck = {.netns = dns_netns, .port = ev->e.local_port};
  struct netobs_sec_dns_client* client = bpf_map_lookup_elem(&dns_clients, &ck);
  if (client) {
    ev->e.tgid = client->tgid;
    ev->e.cgroup_id = client->cgroup_id;
    __builtin_memcpy(ev->e.comm, client->comm, sizeof ev->e.comm);
  }
  /* The question name as it is on the wire (labels; user space decodes). */
  __u64 name_len = s->name_end - DNS_HEADER_LEN; /* name_end: from the DNS header */
  ev->name_len = 0;
  if (name_len > 0 && name_len <= NETOBS_SEC_DNS_NAME_MAX) {
    asm volatile("" : "+r"(name_len));
    name_len = ((name_len - 1) & (NETOBS_SEC_DNS_NAME_MAX - 1)) + 1;
    if (bpf_skb_load_bytes(skb, msg_off + DNS_HEADER_LEN, ev->name, name_len) == 0)
      ev->name_len = name_len;
  }
  if (bpf_ringbuf_output(&events, ev, sizeof *ev, BPF_RB_NO_WAKEUP) != 0) {
    count(NETOBS_SEC_EVENTS_LOST);
  }
}

/* A response's DNS header (`dns`: readable): true when it is one to walk
 * (counted as checked). */
static __always_inline bool response_to_check(const struct dns_wire_header* dns,
                                              const struct dns_response* r, __u16* answers) {
  const __u16 flags = bpf_ntohs(dns->flags);
  *answers = bpf_ntohs(dns->ancount);
  if (!(flags & 0x8000) || bpf_ntohs(dns->qdcount) != 1 || *answers == 0) return false;
  count(NETOBS_SEC_DNS_RESPONSES_CHECKED);
  return r->end > r->off + DNS_HEADER_LEN; /* else no question */
}

SEC("socket")
int security_dns_answers(struct __sk_buff* skb) {
  struct dns_response r = {};
  const __u32 zero = 0;
  __u32 head; /* IP + UDP header */

  if (skb->pkt_type == PACKET_OUTGOING) return 0; /* responses are received */
  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    head = 28;
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    head = 48;
  } else {
    return 0;
  }
  /* Every other packet stops here: one packet read (LD_ABS, a call of
   * bpf_skb_load_helper_32: socket filters have no direct packet access)
   * of the source port where it is when the headers are the ones parsed
   * (checked below). Past the packet's end it ends the program (0). */
  if ((load_word(skb, head - 8) >> 16) != dns_port) return 0;
  /* One copy of headers and message: each helper call costs more than the
   * parse of a whole answer. */
  struct dns_scratch_value* s = bpf_map_lookup_elem(&dns_scratch, &zero);
  if (!s) return 0;
  __u32 copy = skb->len;
  if (copy < head + DNS_HEADER_LEN) return 0;
  if (copy > head + DNS_MEM_MAX) copy = head + DNS_MEM_MAX;
  asm volatile("" : "+r"(copy)); /* keeps the verifier's bound check */
  if (copy > DNS_COPY_MAX) return 0;
  if (bpf_skb_load_bytes(skb, 0, s->packet, copy) < 0) return 0;
  if (head == 28 ? !locate_v4(s->packet, skb->len, &r) : !locate_v6(s->packet, skb->len, &r))
    return 0;
  r.off = head;
  __u16 answers;
  if (!response_to_check((const void*)(s->packet + head), &r, &answers)) return 0;
  const __u32 len = r.end - r.off;
  /* r.end <= the bytes copied when the message fits */
  const bool blocked = len <= DNS_MEM_MAX
                           ? blocked_answer(s->packet + r.off, false, 0, len, answers, s)
                           : blocked_answer_in_skb(skb, &r, answers, s);
  if (blocked) dns_alert(skb, s, s->packet, r.off == 28, r.off);
  return 0;
}

/* security_dns_answers_tc: the same check as a tc ingress program on every
 * interface of the watched namespace (Ethernet framing, loopback
 * included), preferred to the socket filter: direct packet reads instead
 * of helper calls. Ingress only: a response is seen once, on the device
 * it arrives on (on loopback, the egress copy is not looked at). Always
 * TC_ACT_UNSPEC: the packet goes on untouched. */
SEC("tc")
int security_dns_answers_tc(struct __sk_buff* skb) {
  struct dns_response r = {};
  const __u32 zero = 0;
  __u32 head; /* Ethernet + IP + UDP header */

  if (skb->protocol == bpf_htons(ETH_P_IP)) {
    head = ETH_HLEN + 28;
  } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    head = ETH_HLEN + 48;
  } else {
    return TC_ACT_UNSPEC;
  }
  const __u8* data = (const void*)(long)skb->data;
  const void* data_end = (const void*)(long)skb->data_end;
  if ((const void*)(data + head) > data_end) return TC_ACT_UNSPEC;
  if (*(const __be16*)(data + head - 8) != bpf_htons(dns_port)) return TC_ACT_UNSPEC;
  /* A frame for another MAC (promiscuous device, bridge port) is not
   * ours; a VLAN-tagged one is seen again, untagged, on the VLAN device. */
  if (skb->pkt_type == PACKET_OTHERHOST || skb->vlan_present) return TC_ACT_UNSPEC;
  __u32 linear = skb->data_end - skb->data;
  __u32 want = skb->len < head + DNS_PKT_MAX ? skb->len : head + DNS_PKT_MAX;
  if (linear < want) {
    /* Paged (large responses from a NIC): made linear, once per response. */
    if (bpf_skb_pull_data(skb, want) < 0) return TC_ACT_UNSPEC;
    data = (const void*)(long)skb->data;
    data_end = (const void*)(long)skb->data_end;
  }
  if ((const void*)(data + head + DNS_HEADER_LEN) > data_end) return TC_ACT_UNSPEC;
  const __u8* l3 = data + ETH_HLEN;
  const bool v4 = head == ETH_HLEN + 28;
  if (v4 ? !locate_v4(l3, skb->len - ETH_HLEN, &r) : !locate_v6(l3, skb->len - ETH_HLEN, &r))
    return TC_ACT_UNSPEC;
  r.off = head - ETH_HLEN;
  __u16 answers;
  if (!response_to_check((const void*)(data + head), &r, &answers)) return TC_ACT_UNSPEC;
  struct dns_scratch_value* s = bpf_map_lookup_elem(&dns_scratch, &zero);
  if (!s) return TC_ACT_UNSPEC;
  __u32 len = r.end - r.off;
  if (len > DNS_PKT_MAX) len = DNS_PKT_MAX; /* answers past it are not read */
  if (blocked_answer(data + head, true, data_end, len, answers, s)) {
    dns_alert(skb, s, l3, v4, head);
  }
  return TC_ACT_UNSPEC;
}

/* Who queries: sock_send_length runs in the sending task, after a query
 * left a socket connected to the DNS port (resolvers connect their UDP
 * sockets); the answer program finds the task by the client port. One
 * compare for every other send. A resolver sends many queries from one
 * socket: the entry is written only when it would change, and a send that
 * repeats what this CPU last found in the table costs no table lookup
 * (each helper or map call costs about as much as the empty program). */
static __always_inline bool same_comm(const char* a, const char* b) {
  _Static_assert(NETOBS_SEC_COMM_LEN == 16, "comm compared as two words");
  const __u64* x = (const __u64*)a;
  const __u64* y = (const __u64*)b;
  return x[0] == y[0] && x[1] == y[1];
}

/* Bumped after every dns_clients update (LRU evictions happen only in
 * updates, and user space never writes the table). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} dns_clients_generation SEC(".maps");

/* Per CPU: an entry of dns_clients as this CPU last found or wrote it,
 * true while the generation has not moved. Tracepoint programs run with
 * preemption off, so no other send on this CPU interleaves its writes. */
struct dns_client_seen {
  __u64 generation;
  struct netobs_sec_dns_client_key key;
  struct netobs_sec_dns_client client;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dns_client_seen);
} dns_client_last SEC(".maps");

static __always_inline bool same_client(const struct netobs_sec_dns_client* a,
                                        const struct netobs_sec_dns_client* b) {
  return a->tgid == b->tgid && a->cgroup_id == b->cgroup_id && same_comm(a->comm, b->comm);
}

static __always_inline int note_dns_client(const struct sock* sk, const bool direct) {
  if (!sk) return 0;
  if (SK_READ(direct, sk, __sk_common.skc_dport) != bpf_htons(dns_port)) return 0;
  struct netobs_sec_dns_client_key key = {};
  key.netns = direct ? sk->__sk_common.skc_net.net->ns.inum
                     : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  if (key.netns != dns_netns) return 0;
  const __u32 protocol = direct ? (__u32)BPF_CORE_READ_BITFIELD(sk, sk_protocol)
                                : (__u32)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
  if (protocol != IPPROTO_UDP) return 0;
  key.port = SK_READ(direct, sk, __sk_common.skc_num);
  struct netobs_sec_dns_client client = {};
  if (direct) {
    /* A trusted task pointer: tgid, the cgroup id (what
     * bpf_get_current_cgroup_id returns: the default hierarchy's cgroup)
     * and the leader's comm are plain loads, no helper calls. */
    struct task_struct* task = bpf_get_current_task_btf();
    client.tgid = task->tgid;
    client.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
    __builtin_memcpy(client.comm, task->group_leader->comm, sizeof client.comm);
  } else {
    client.tgid = bpf_get_current_pid_tgid() >> 32;
    client.cgroup_id = bpf_get_current_cgroup_id();
    struct task_struct* task = (struct task_struct*)bpf_get_current_task();
    struct task_struct* leader = BPF_CORE_READ(task, group_leader);
    if (bpf_probe_read_kernel_str(client.comm, sizeof client.comm, &leader->comm) < 0)
      bpf_get_current_comm(client.comm, sizeof client.comm);
  }
  const __u32 zero = 0;
  __u64* generation = bpf_map_lookup_elem(&dns_clients_generation, &zero);
  struct dns_client_seen* seen = bpf_map_lookup_elem(&dns_client_last, &zero);
  if (!generation || !seen) return 0;
  /* Read before the table: an update after this read moves it, so what is
   * remembered below is never newer than the generation it is stored with. */
  const __u64 now = *(volatile __u64*)generation;
  if (seen->generation == now && seen->key.netns == key.netns && seen->key.port == key.port &&
      same_client(&seen->client, &client))
    return 0;
  const struct netobs_sec_dns_client* known = bpf_map_lookup_elem(&dns_clients, &key);
  if (!known || !same_client(known, &client)) {
    bpf_map_update_elem(&dns_clients, &key, &client, BPF_ANY);
    __sync_fetch_and_add(generation, 1);
  }
  /* With `now` after an update too: the next send looks the entry up
   * again (another CPU may have written it in between) and then keeps it. */
  seen->generation = now;
  seen->key = key;
  seen->client = client;
  return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(security_dns_client_btf, struct sock* sk, int ret, int flags) {
  return note_dns_client(sk, true);
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(security_dns_client_raw, struct sock* sk, int ret, int flags) {
  return note_dns_client(sk, false);
}

SEC("tracepoint/sock/sock_send_length")
int security_dns_client_tp(struct trace_event_raw_sock_msg_length* ctx) {
  return note_dns_client((const struct sock*)ctx->sk, false);
}

char LICENSE[] SEC("license") = "GPL";
