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
 * one byte read from the IP header and one per-CPU hash lookup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "drops.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Filters, set through skel->rodata before load. */
const volatile __u32 target_netns = 0; /* namespace inode number; 0: all */
const volatile __u32 by_location = 0;  /* 1: key by the dropping kernel address too */

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 10240); /* set from collectors.drops.max_entries */
  __type(key, struct netobs_drops_key);
  __type(value, struct netobs_drops_value);
} drops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_DROPS_OVERFLOW_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} overflow SEC(".maps");

/* What one event is about, read by the rung's own loads. */
struct drop_event {
  struct netobs_drops_key key;
  const struct net_device* dev;
};

/* The IP protocol byte of an IPv4/IPv6 packet; 0 when not IP. Packet bytes
 * are not BTF-typed, so this is a probe read on every rung. IPv6 extension
 * headers are not walked: their next-header value is reported instead. */
static __always_inline __u8 l4_protocol(const unsigned char* head, __u16 network_header, __u16 l3) {
  __u8 proto = 0;

  if (l3 == ETH_P_IP) {
    bpf_probe_read_kernel(&proto, 1, head + network_header + offsetof(struct iphdr, protocol));
  } else if (l3 == ETH_P_IPV6) {
    bpf_probe_read_kernel(&proto, 1, head + network_header + offsetof(struct ipv6hdr, nexthdr));
  }
  return proto;
}

static __always_inline void count(struct drop_event* e) {
  struct netobs_drops_value* value;

  if (target_netns && e->key.netns != target_netns) return;
  value = bpf_map_lookup_elem(&drops, &e->key);
  if (value) {
    value->packets++;
    return;
  }
  /* First drop of this key on this CPU: insert it with the device's name. */
  struct netobs_drops_value fresh = {.packets = 1};

  if (e->dev) bpf_probe_read_kernel_str(fresh.ifname, sizeof(fresh.ifname), e->dev->name);
  if (bpf_map_update_elem(&drops, &e->key, &fresh, BPF_NOEXIST) == 0) return;
  /* Another program on this CPU inserted it meanwhile: add to it. */
  value = bpf_map_lookup_elem(&drops, &e->key);
  if (value) {
    value->packets++;
    return;
  }
  /* Map full: count by reason only. */
  __u32 slot = e->key.reason < NETOBS_DROPS_OVERFLOW_SLOTS - 1 ? e->key.reason
                                                               : NETOBS_DROPS_OVERFLOW_SLOTS - 1;
  __u64* folded = bpf_map_lookup_elem(&overflow, &slot);

  if (folded) (*folded)++;
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
  const struct sock* sk;

  if (!is_drop(reason)) return 0;
  e.key.reason = reason;
  e.key.l3 = bpf_ntohs(skb->protocol);
  e.key.l4 = l4_protocol(skb->head, skb->network_header, e.key.l3);
  if (by_location) e.key.location = (__u64)location;
  dev = skb->dev;
  if (dev) {
    e.dev = dev;
    e.key.ifindex = dev->ifindex;
    e.key.netns = dev->nd_net.net->ns.inum;
  } else {
    /* Dropped after the device was cleared (socket layer): the receiving
     * socket, else the owning one, gives the namespace. */
    sk = rx_sk ? rx_sk : skb->sk;
    if (sk) e.key.netns = sk->__sk_common.skc_net.net->ns.inum;
  }
  count(&e);
  return 0;
}

/* raw_tp and tracepoint: the same work with probe reads. */
static __always_inline int on_drop_read(const struct sk_buff* skb, void* location, __u32 reason,
                                        const struct sock* rx_sk) {
  struct drop_event e = {};
  const struct net_device* dev;
  const struct sock* sk;

  if (!is_drop(reason)) return 0;
  e.key.reason = reason;
  e.key.l3 = bpf_ntohs(BPF_CORE_READ(skb, protocol));
  e.key.l4 = l4_protocol(BPF_CORE_READ(skb, head), BPF_CORE_READ(skb, network_header), e.key.l3);
  if (by_location) e.key.location = (__u64)location;
  dev = BPF_CORE_READ(skb, dev);
  if (dev) {
    e.dev = dev;
    e.key.ifindex = BPF_CORE_READ(dev, ifindex);
    e.key.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
  } else {
    sk = rx_sk ? rx_sk : BPF_CORE_READ(skb, sk);
    if (sk) e.key.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  }
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
  const struct sock* rx_sk =
      bpf_core_field_exists(ctx->rx_sk) ? (const struct sock*)ctx->rx_sk : NULL;

  return on_drop_read((const struct sk_buff*)ctx->skbaddr, ctx->location, ctx->reason, rx_sk);
}

char LICENSE[] SEC("license") = "GPL";
