// SPDX-License-Identifier: GPL-2.0
/* Baselines for the packet benchmarks in this folder: each packet hook a
 * collector uses, with a program that does nothing. Apart from
 * bench_baseline.bpf.c (the tracing hooks) because tests/bench/xdp_iperf3.sh
 * hands this object to `ip link set ... xdp object`, which loads every
 * program of the object it is given. Only benchmarks load it; the
 * collectors' objects hold their production programs only. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800

/* The LD_ABS packet load of socket filters (clang's builtin). */
unsigned long long load_word(void* skb, unsigned long long off) asm("llvm.bpf.load.word");

/* tc's "no opinion" (TCX_NEXT, the value of TC_ACT_UNSPEC), as the
 * collectors' tc programs return. */
#define TC_NEXT (-1)

/* ---- xdp and dns collectors (xdp_bpf_bench, xdp_iperf3.sh, dns_bpf_bench) ---- */

SEC("xdp.frags")
int xdp_empty(struct xdp_md* ctx) { return XDP_PASS; }

SEC("tc")
int tc_empty(struct __sk_buff* skb) { return TC_NEXT; }

/* The socket filter hook (dns_filter's). */
SEC("socket")
int dns_empty(struct __sk_buff* skb) { return 0; }

/* Floor for the socket filter: the least any socket filter must do to see a
 * packet's ports, the cheapest packet read there is (one LD_ABS word, which
 * the verifier turns into a call of bpf_skb_load_helper_32: socket filters
 * have no direct packet access) and a compare. Not a correct filter (it
 * assumes no IP options and does not look at the protocol): a lower bound
 * only. */
SEC("socket")
int dns_floor(struct __sk_buff* skb) {
  if (skb->protocol != bpf_htons(ETH_P_IP)) return 0;
  __u32 ports = load_word(skb, 20);
  return (ports >> 16) == 53 || (ports & 0xFFFF) == 53;
}

char LICENSE[] SEC("license") = "GPL";
