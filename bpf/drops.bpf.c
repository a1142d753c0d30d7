// SPDX-License-Identifier: GPL-2.0
/* netobs drops collector: every packet the kernel frees as dropped
 * (skb:kfree_skb with an enum skb_drop_reason other than SKB_CONSUMED and
 * SKB_NOT_DROPPED_YET), counted per CPU by reason, network namespace,
 * interface, L3 and L4 protocol.
 *
 * Three rungs (attach ladder): tp_btf (typed arguments, direct loads),
 * raw_tp (same arguments, read with bpf_probe_read_kernel), classic
 * tracepoint (format struct, needs tracefs). The event only fires on freed
 * packets, but a drop storm makes it hot: the work per event is a few loads,
 * one byte read from the IP header, a compare with the key this CPU counted
 * last and an array increment (a hash lookup only when the key changes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "drops.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Filters and sizes, set through skel->rodata before load. */
const volatile __u32 target_netns = 0;     /* namespace inode number; 0: all */
const volatile __u32 by_location = 0;      /* 1: key by the dropping kernel address too */
const volatile __u32 by_owner = 0;         /* 1: key by the socket's inode too (netobs drops) */
const volatile __u32 by_port = 0;          /* 1: key by the local port too */
const volatile __u32 max_slots = 10240;    /* = max_entries of `keys` and `counts` */
const volatile __u32 attribute_cgroup = 0; /* 1: count by the socket's cgroup too */

/* Every key seen, with its slot in `counts`. Insert-only. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 10240); /* set from collectors.drops.max_entries */
  __type(key, struct netobs_drops_key);
  __type(value, struct netobs_drops_slot);
} keys SEC(".maps");

/* Packets per slot, per CPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 10240); /* = keys */
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

/* The next slot to try (shared by every CPU, advanced without atomics:
 * fetch-and-add needs BPF v3 instructions, and the claim below settles races). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} next_slot SEC(".maps");

/* Which key claimed a slot: the insert (BPF_NOEXIST) is atomic, so two CPUs
 * that read the same next_slot cannot both own it. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 10240); /* = keys */
  __type(key, __u32);
  __type(value, struct netobs_drops_key);
} slot_owner SEC(".maps");

/* The key this CPU counted last and its slot: in a drop storm the same key
 * repeats, and a 24-byte compare plus an array increment is a quarter of the
 * cost of a hash lookup (tests/bench/drops_bench). Counts never live here,
 * so user space reads `keys` and `counts` only and totals stay exact. */
struct recent_key {
  struct netobs_drops_key key;
  __u32 slot;
  __u32 valid;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct recent_key);
} recent SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_DROPS_OVERFLOW_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} overflow SEC(".maps");

/* attribution: cgroup (see drops.h); sized from collectors.drops.max_cgroups. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1);
  __type(key, struct netobs_drops_cgroup_key);
  __type(value, __u64);
} cgroup_drops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_DROPS_OVERFLOW_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} cgroup_overflow SEC(".maps");

/* What one event is about, read by the rung's own loads. */
struct drop_event {
  struct netobs_drops_key key;
  const struct net_device* dev;
  __u64 cgroup_id; /* the socket's cgroup v2 id; 0: no socket (or attribution off) */
};

/* Packet bytes are not BTF-typed: this kfunc (Linux 6.2+) types them, so
 * the tp_btf rung reads the IP header with a direct load (~1 ns) instead of
 * bpf_probe_read_kernel (~35 ns per drop, measured by tests/bench/drops_bench).
 * Kernels without it fail to load the tp_btf rung and use raw_tp. */
extern void* bpf_rdonly_cast(const void* obj, __u32 btf_id) __ksym;

/* The IP protocol byte of an IPv4/IPv6 packet; 0 when not IP. IPv6
 * extension headers are not walked: their next-header value is reported. */
static __always_inline __u8 l4_protocol_direct(const unsigned char* head, __u16 network_header,
                                               __u16 l3) {
  const unsigned char* nh = head + network_header;

  if (l3 == ETH_P_IP) {
    const struct iphdr* ip = bpf_rdonly_cast(nh, bpf_core_type_id_kernel(struct iphdr));
    return ip->protocol;
  }
  if (l3 == ETH_P_IPV6) {
    const struct ipv6hdr* ip6 = bpf_rdonly_cast(nh, bpf_core_type_id_kernel(struct ipv6hdr));
    return ip6->nexthdr;
  }
  return 0;
}

/* The same with a probe read, for the raw_tp and tracepoint rungs. */
static __always_inline __u8 l4_protocol(const unsigned char* head, __u16 network_header, __u16 l3) {
  __u8 proto = 0;

  if (l3 == ETH_P_IP) {
    bpf_probe_read_kernel(&proto, 1, head + network_header + offsetof(struct iphdr, protocol));
  } else if (l3 == ETH_P_IPV6) {
    bpf_probe_read_kernel(&proto, 1, head + network_header + offsetof(struct ipv6hdr, nexthdr));
  }
  return proto;
}

static __always_inline bool same_key(const struct netobs_drops_key* a,
                                     const struct netobs_drops_key* b) {
  const __u64* x = (const __u64*)a;
  const __u64* y = (const __u64*)b;

  _Static_assert(sizeof(struct netobs_drops_key) == 4 * sizeof(__u64), "compare every word");
  return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* The slot of a key seen for the first time: a fresh slot and the device's
 * name. NULL when every slot is taken. */
static __always_inline struct netobs_drops_slot* add_key(const struct drop_event* e) {
  __u32 zero = 0;
  __u32* next = bpf_map_lookup_elem(&next_slot, &zero);
  struct netobs_drops_slot fresh = {};
  bool claimed = false;

  if (!next) return NULL;
  /* A few tries: each failure means another CPU claimed that slot just now. */
  for (int i = 0; i < 4 && !claimed; i++) {
    fresh.slot = *next;
    if (fresh.slot >= max_slots) return NULL;
    *next = fresh.slot + 1;
    claimed = bpf_map_update_elem(&slot_owner, &fresh.slot, &e->key, BPF_NOEXIST) == 0;
  }
  if (!claimed) return NULL;
  if (e->dev) bpf_probe_read_kernel_str(fresh.ifname, sizeof(fresh.ifname), e->dev->name);
  /* Losing a race with another CPU inserting the same key leaves our slot
   * unused; the lookup below returns theirs. */
  bpf_map_update_elem(&keys, &e->key, &fresh, BPF_NOEXIST);
  return bpf_map_lookup_elem(&keys, &e->key);
}

/* The optional key parts (rodata by_port, by_owner; off by default, and the
 * verifier removes switched-off code). */

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_SCTP 132
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12

/* The local port: the socket's when the drop has one, else the packet's
 * destination port (the receiving side's). IPv6 extension headers are not
 * walked (port 0). */
static __always_inline __u16 local_port(const struct sk_buff* skb, struct sock* sk, __u16 l3,
                                        __u8 l4) {
  const unsigned char* nh;
  __u16 port = 0;
  __u8 vihl = 0;

  if (l3 != ETH_P_IP && l3 != ETH_P_IPV6) return 0;
  if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP && l4 != IPPROTO_SCTP) return 0;
  /* A raw or packet socket's skc_num is a protocol, not a port. */
  if (sk && BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) == l4)
    return BPF_CORE_READ(sk, __sk_common.skc_num);
  nh = BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
  if (l3 == ETH_P_IP) {
    bpf_probe_read_kernel(&vihl, 1, nh);
    nh += (vihl & 0x0f) * 4;
  } else {
    nh += sizeof(struct ipv6hdr);
  }
  bpf_probe_read_kernel(&port, 2, nh + 2); /* dest of tcphdr, udphdr, sctphdr */
  return bpf_ntohs(port);
}

/* The same with direct loads for the tp_btf rung (typed socket,
 * bpf_rdonly_cast for the packet bytes): no helper call. */
static __always_inline __u16 local_port_direct(const struct sk_buff* skb, const struct sock* sk,
                                               __u16 l3, __u8 l4) {
  const unsigned char* th = skb->head + skb->network_header;
  const struct udphdr* udp;

  if (l3 != ETH_P_IP && l3 != ETH_P_IPV6) return 0;
  if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP && l4 != IPPROTO_SCTP) return 0;
  if (sk && sk->sk_protocol == l4) return sk->__sk_common.skc_num;
  if (l3 == ETH_P_IP) {
    const struct iphdr* ip = bpf_rdonly_cast(th, bpf_core_type_id_kernel(struct iphdr));
    th += ip->ihl * 4;
  } else {
    th += sizeof(struct ipv6hdr);
  }
  /* dest is at the same offset in tcphdr, udphdr and sctphdr. */
  udp = bpf_rdonly_cast(th, bpf_core_type_id_kernel(struct udphdr));
  return bpf_ntohs(udp->dest);
}

/* Request and time-wait sockets are smaller structs without sk_cgrp_data. */
static __always_inline bool full_socket(__u8 state) {
  return state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
}

/* The inode of the socket file (what /proc/PID/fd links name), for user
 * space to find the owning process. Request and time-wait sockets have no
 * file: 0. */
static __always_inline __u32 socket_inode(struct sock* sk) {
  struct socket* sock;
  __u8 state;

  if (!sk) return 0;
  state = BPF_CORE_READ(sk, __sk_common.skc_state);
  if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV) return 0;
  sock = BPF_CORE_READ(sk, sk_socket);
  if (!sock) return 0;
  return (__u32)BPF_CORE_READ(container_of(sock, struct socket_alloc, socket), vfs_inode.i_ino);
}

static __always_inline __u32 overflow_slot(__u32 reason) {
  return reason < NETOBS_DROPS_OVERFLOW_SLOTS - 1 ? reason : NETOBS_DROPS_OVERFLOW_SLOTS - 1;
}

/* attribution: cgroup: one more drop for the socket's cgroup. */
static __always_inline void count_cgroup(const struct drop_event* e) {
  struct netobs_drops_cgroup_key key = {
      .cgroup_id = e->cgroup_id, .reason = e->key.reason, .l3 = e->key.l3, .l4 = e->key.l4};
  __u64* packets = bpf_map_lookup_elem(&cgroup_drops, &key);
  __u64 one = 1;
  __u32 slot;

  if (packets) {
    (*packets)++;
    return;
  }
  /* Fails when the hash is full, or when another CPU inserted the key just
   * now: then the lookup finds it. */
  if (bpf_map_update_elem(&cgroup_drops, &key, &one, BPF_NOEXIST) == 0) return;
  packets = bpf_map_lookup_elem(&cgroup_drops, &key);
  if (packets) {
    (*packets)++;
    return;
  }
  slot = overflow_slot(e->key.reason);
  packets = bpf_map_lookup_elem(&cgroup_overflow, &slot);
  if (packets) (*packets)++;
}

static __always_inline void count(const struct drop_event* e) {
  __u32 zero = 0;
  struct recent_key* last;
  struct netobs_drops_slot* found;
  __u64* packets;

  if (target_netns && e->key.netns != target_netns) return;
  if (attribute_cgroup && e->cgroup_id) count_cgroup(e);
  last = bpf_map_lookup_elem(&recent, &zero);
  if (!last) return;
  if (!last->valid || !same_key(&last->key, &e->key)) {
    found = bpf_map_lookup_elem(&keys, &e->key);
    if (!found) found = add_key(e);
    if (!found) {
      /* Every slot taken: count by reason only. */
      __u32 slot = overflow_slot(e->key.reason);
      __u64* folded = bpf_map_lookup_elem(&overflow, &slot);

      if (folded) (*folded)++;
      return;
    }
    last->key = e->key;
    last->slot = found->slot;
    last->valid = 1;
  }
  packets = bpf_map_lookup_elem(&counts, &last->slot);
  if (packets) (*packets)++;
}

/* SKB_NOT_DROPPED_YET (0) and SKB_CONSUMED (1) are frees, not drops. */
static __always_inline bool is_drop(__u32 reason) { return reason > 1; }

/* tp_btf: typed arguments, direct loads (the kernel turns faulting loads
 * into zeroes). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_btf, struct sk_buff* skb, void* location, enum skb_drop_reason reason,
             struct sock* rx_sk) {
  struct drop_event e = {};
  const struct net_device* dev;
  struct sock* sk;

  if (!is_drop(reason)) return 0;
  e.key.reason = reason;
  e.key.l3 = bpf_ntohs(skb->protocol);
  e.key.l4 = l4_protocol_direct(skb->head, skb->network_header, e.key.l3);
  if (by_location) e.key.location = (__u64)location;
  /* The receiving socket, else the one that owns the packet. */
  sk = rx_sk ? rx_sk : skb->sk;
  dev = skb->dev;
  if (dev) {
    e.dev = dev;
    e.key.ifindex = dev->ifindex;
    e.key.netns = dev->nd_net.net->ns.inum;
  } else if (sk) {
    /* Dropped after the device was cleared (socket layer): the socket
     * gives the namespace. */
    e.key.netns = sk->__sk_common.skc_net.net->ns.inum;
  }
  if (by_port) e.key.local_port = local_port_direct(skb, sk, e.key.l3, e.key.l4);
  if (by_owner) e.key.sock_ino = socket_inode(sk);
  if (attribute_cgroup && sk && full_socket(sk->__sk_common.skc_state)) {
    const struct cgroup* cgroup = sk->sk_cgrp_data.cgroup;

    if (cgroup) e.cgroup_id = cgroup->kn->id;
  }
  count(&e);
  return 0;
}

/* raw_tp and tracepoint: the same work with probe reads. */
static __always_inline int on_drop_read(const struct sk_buff* skb, void* location, __u32 reason,
                                        struct sock* rx_sk) {
  struct drop_event e = {};
  const struct net_device* dev;
  struct sock* sk = NULL;

  if (!is_drop(reason)) return 0;
  e.key.reason = reason;
  e.key.l3 = bpf_ntohs(BPF_CORE_READ(skb, protocol));
  e.key.l4 = l4_protocol(BPF_CORE_READ(skb, head), BPF_CORE_READ(skb, network_header), e.key.l3);
  if (by_location) e.key.location = (__u64)location;
  dev = BPF_CORE_READ(skb, dev);
  /* The receiving socket, else the owning one: a probe read, only when used. */
  if (!dev || by_port || by_owner || attribute_cgroup) sk = rx_sk ? rx_sk : BPF_CORE_READ(skb, sk);
  if (dev) {
    e.dev = dev;
    e.key.ifindex = BPF_CORE_READ(dev, ifindex);
    e.key.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
  } else if (sk) {
    e.key.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  }
  if (by_port) e.key.local_port = local_port(skb, sk, e.key.l3, e.key.l4);
  if (by_owner) e.key.sock_ino = socket_inode(sk);
  if (attribute_cgroup && sk && full_socket(BPF_CORE_READ(sk, __sk_common.skc_state)))
    e.cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
  count(&e);
  return 0;
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(kfree_skb_raw, struct sk_buff* skb, void* location, enum skb_drop_reason reason,
             struct sock* rx_sk) {
  return on_drop_read(skb, location, reason, rx_sk);
}

SEC("tracepoint/skb/kfree_skb")
int kfree_skb_tp(struct trace_event_raw_kfree_skb* ctx) {
  /* rx_sk came in Linux 6.12; before it the socket is unknown here. */
  struct sock* rx_sk = bpf_core_field_exists(ctx->rx_sk) ? (struct sock*)ctx->rx_sk : NULL;

  return on_drop_read((const struct sk_buff*)ctx->skbaddr, ctx->location, ctx->reason, rx_sk);
}

char LICENSE[] SEC("license") = "GPL";
