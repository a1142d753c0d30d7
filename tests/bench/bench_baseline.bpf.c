// SPDX-License-Identifier: GPL-2.0
/* Baselines for the benchmarks in this folder: each hook a collector uses,
 * with a program that does nothing. A cost is quoted as a ratio to the
 * baseline on the same hook measured in the same run (absolute figures
 * drift between machines). Only benchmarks load this object; the
 * collectors' objects hold their production programs only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

/* ---- socket collector (socket_bpf_bench, socket_overhead.sh) ---- */

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_empty, struct sock* sk, int ret, int flags) { return 0; }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv_empty, struct sock* sk, int ret, int flags) { return 0; }

/* The floor of a per-process count: what any program that counts an
 * operation under its process name has to do at the least, and the socket
 * collector's default path does beyond its filters and histograms: the
 * current task (a helper call), the two 8-byte loads of task->comm its label
 * cache compares, and one per-CPU array update. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[4]);
} floor_counts SEC(".maps");

static __always_inline int count_floor(int ret) {
  struct task_struct* task = bpf_get_current_task_btf();
  __u32 zero = 0;
  __u64* c = bpf_map_lookup_elem(&floor_counts, &zero);

  if (!c) return 0;
  c[0] ^= *(__u64*)&task->comm[0] ^ *(__u64*)&task->comm[8];
  c[1]++;
  if (ret > 0) c[2] += (__u64)ret;
  return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_floor, struct sock* sk, int ret, int flags) { return count_floor(ret); }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv_floor, struct sock* sk, int ret, int flags) { return count_floor(ret); }

/* Attached by the benchmark to each of the twelve syscall tracepoints. */
SEC("tracepoint/syscalls/sys_enter_sendto")
int on_syscall_empty(void* ctx) { return 0; }

/* One program for every syscall, with the syscall-number filter a raw_tp
 * design would need (the benchmark compares it with the per-syscall
 * tracepoints). */
SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter_filter_empty, struct pt_regs* regs, long id) {
  return id == 44 /* sendto */ ? 1 : 0;
}

/* ---- tcp collector (tcp_bench): tcp.bpf.c and tcp_states.bpf.c ---- */

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe_empty, struct sock* sk, const struct sk_buff* skb) { return 0; }

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_empty, const struct sock* sk, const struct sk_buff* skb, int err) {
  return 0;
}

/* ---- flows collector, UDP (flows_bench): cgroup_skb on the cgroup2 root. */
SEC("cgroup_skb/egress")
int cgroup_skb_egress_empty(struct __sk_buff* skb) { return 1; }

SEC("cgroup_skb/ingress")
int cgroup_skb_ingress_empty(struct __sk_buff* skb) { return 1; }

/* The floor of a UDP flow table on that hook: what any program that keeps
 * one record per 5-tuple has to do at the least per datagram (flows_bench
 * compares it with the collector on the DNS-like shape, where every
 * datagram starts a flow or is its first reply): parse the headers, look the
 * 5-tuple up, insert it when it is new (a reply finds it). No socket, filter,
 * edge or per-edge counter work. Two tables: a preallocated hash (user space
 * would delete old flows) and an LRU hash (the kernel evicts them). */
struct floor_udp_key {
  __u8 local_addr[16];
  __u8 remote_addr[16];
  __u16 local_port;
  __u16 remote_port;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct floor_udp_key);
  __type(value, __u64);
} floor_udp_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct floor_udp_key);
  __type(value, __u64);
} floor_udp_lru SEC(".maps");

static __always_inline int udp_floor(struct __sk_buff* skb, bool egress, void* table) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct floor_udp_key key __attribute__((aligned(8)));
  struct udphdr* uh;

  if (skb->protocol == bpf_htons(0x0800)) {
    struct iphdr* ih = data;

    if ((void*)(ih + 1) > data_end || ih->protocol != IPPROTO_UDP) return 1;
    if (ih->frag_off & bpf_htons(0x1fff)) return 1;
    uh = data + ih->ihl * 4;
    __builtin_memset(&key, 0, sizeof(key));
    key.local_addr[10] = key.local_addr[11] = key.remote_addr[10] = key.remote_addr[11] = 0xff;
    __builtin_memcpy(&key.local_addr[12], egress ? &ih->saddr : &ih->daddr, 4);
    __builtin_memcpy(&key.remote_addr[12], egress ? &ih->daddr : &ih->saddr, 4);
  } else if (skb->protocol == bpf_htons(0x86DD)) {
    struct ipv6hdr* ih = data;

    if ((void*)(ih + 1) > data_end || ih->nexthdr != IPPROTO_UDP) return 1;
    uh = (void*)(ih + 1);
    key.pad = 0;
    __builtin_memcpy(key.local_addr, egress ? &ih->saddr : &ih->daddr, 16);
    __builtin_memcpy(key.remote_addr, egress ? &ih->daddr : &ih->saddr, 16);
  } else {
    return 1;
  }
  if ((void*)(uh + 1) > data_end) return 1;
  key.local_port = bpf_ntohs(egress ? uh->source : uh->dest);
  key.remote_port = bpf_ntohs(egress ? uh->dest : uh->source);
  __u64* seen = bpf_map_lookup_elem(table, &key);
  if (seen) {
    *seen += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(table, &key, &one, BPF_NOEXIST);
  }
  return 1;
}

SEC("cgroup_skb/egress")
int udp_egress_floor(struct __sk_buff* skb) { return udp_floor(skb, true, &floor_udp_hash); }

SEC("cgroup_skb/ingress")
int udp_ingress_floor(struct __sk_buff* skb) { return udp_floor(skb, false, &floor_udp_hash); }

SEC("cgroup_skb/egress")
int udp_egress_floor_lru(struct __sk_buff* skb) { return udp_floor(skb, true, &floor_udp_lru); }

SEC("cgroup_skb/ingress")
int udp_ingress_floor_lru(struct __sk_buff* skb) { return udp_floor(skb, false, &floor_udp_lru); }

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_empty, const struct sock* sk, const int oldstate,
             const int newstate) {
  return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset_empty, const struct sock* sk, const struct sk_buff* skb) { return 0; }

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset_empty, struct sock* sk) { return 0; }

/* ---- drops collector (drops_bench): drops.bpf.c ---- */

SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_empty, struct sk_buff* skb, void* location, enum skb_drop_reason reason) {
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
