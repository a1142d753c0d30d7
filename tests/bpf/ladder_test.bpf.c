// SPDX-License-Identifier: GPL-2.0
/* Attach-ladder test program. One handler per rung for the same event:
 * tp_btf -> raw_tp -> tracepoint on sock:sock_send_length, and
 * fentry -> kprobe on tcp_sendmsg. The user-space test loads exactly one
 * rung at a time and checks the byte sum of its own sends.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/log2_slot.h"

#define SEND_SIZE_SLOTS 32

/* Only the test process is counted (set through skel->rodata before load). */
const volatile __u32 target_tgid = 0;

/* Index 0: bytes sent, 1: send calls seen. Per-CPU: no atomics needed. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} send_totals SEC(".maps");

/* log2 histogram of send sizes: one value holding every slot, indexed with
 * bpf/lib/log2_slot.h (whose clamp is what keeps the index provably in range). */
struct send_size_hist {
  __u64 slots[SEND_SIZE_SLOTS];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct send_size_hist);
} send_sizes SEC(".maps");

/* Bytes tcp_sendmsg was asked to send (fentry/kprobe rungs). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} tcp_sendmsg_bytes SEC(".maps");

static __always_inline void add(void* map, __u32 key, __u64 delta) {
  __u64* value = bpf_map_lookup_elem(map, &key);

  if (value) *value += delta;
}

static __always_inline int account_send(int ret) {
  if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  add(&send_totals, 1, 1);
  if (ret <= 0) /* errors are negative errno values */
    return 0;
  add(&send_totals, 0, (__u64)ret);
  __u32 zero = 0;
  struct send_size_hist* hist = bpf_map_lookup_elem(&send_sizes, &zero);
  if (hist) hist->slots[netobs_log2_slot((__u64)ret, SEND_SIZE_SLOTS)] += 1;
  return 0;
}

/* TP_PROTO(struct sock *sk, int ret, int flags): typed arguments via BTF. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_btf, struct sock* sk, int ret, int flags) { return account_send(ret); }

/* Same arguments, read from the raw u64 array without BTF checking. */
SEC("raw_tp/sock_send_length")
int BPF_PROG(on_send_raw, struct sock* sk, int ret, int flags) { return account_send(ret); }

/* Classic tracepoint: the format struct; ->ret is CO-RE relocated. */
SEC("tracepoint/sock/sock_send_length")
int on_send_tp(struct trace_event_raw_sock_msg_length* ctx) { return account_send(ctx->ret); }

/* Deliberately rejected by the verifier: a lookup with a run-time key may
 * return NULL and the value is used without a check (constant in-range keys
 * would not do: newer verifiers know those lookups cannot fail). Lets the
 * test watch the ladder fall from a rung that probes fine but fails to load.
 * Never autoloaded outside that test. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_btf_rejected, struct sock* sk, int ret, int flags) {
  __u32 key = (__u32)ret;
  __u64* value = bpf_map_lookup_elem(&send_totals, &key);

  *value += 1;
  return 0;
}

/* Baseline for cost measurements: the same hook doing nothing. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send_empty, struct sock* sk, int ret, int flags) { return 0; }

static __always_inline int account_tcp_sendmsg(size_t size) {
  if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  add(&tcp_sendmsg_bytes, 0, size);
  return 0;
}

/* int tcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size) */
SEC("fentry/tcp_sendmsg")
int BPF_PROG(on_tcp_sendmsg_fentry, struct sock* sk, struct msghdr* msg, size_t size) {
  return account_tcp_sendmsg(size);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(on_tcp_sendmsg_kprobe, struct sock* sk, struct msghdr* msg, size_t size) {
  return account_tcp_sendmsg(size);
}

char LICENSE[] SEC("license") = "GPL";
