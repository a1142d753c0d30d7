// SPDX-License-Identifier: GPL-2.0
/* Baselines for the benchmarks in this folder: each hook a collector uses,
 * with a program that does nothing. A cost is quoted as a ratio to the
 * baseline on the same hook measured in the same run (absolute figures
 * drift between machines). Only benchmarks load this object; the
 * collectors' objects hold their production programs only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* ---- socket collector (socket_bpf_bench, socket_overhead.sh) ---- */

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_empty, struct sock* sk, int ret, int flags) { return 0; }

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv_empty, struct sock* sk, int ret, int flags) { return 0; }

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

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state_empty, const struct sock* sk, const int oldstate,
             const int newstate) {
  return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset_empty, const struct sock* sk, const struct sk_buff* skb) { return 0; }

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset_empty, struct sock* sk) { return 0; }

char LICENSE[] SEC("license") = "GPL";
