// SPDX-License-Identifier: GPL-2.0
/* netobs tcp collector: TCP sockets by state for netobs_tcp_connections,
 * counted by a BPF iterator over the kernel's TCP hash tables (iter/tcp,
 * Linux 5.9+). Reading the iterator walks the sockets of the reader's network
 * namespace (fixed when the iterator fd is created) and runs this program
 * once per socket; nothing is copied to user space but the 13 counters, which
 * is what keeps a scrape cheap with many connections (a sock_diag dump
 * builds a netlink message per socket). A separate object from tcp.bpf.c so
 * a kernel without iter/tcp only loses this, and the collector falls back to
 * sock_diag.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Index: the state as sock_diag reports it (0..12). Zeroed by user space
 * before each walk; the walk runs on one thread, so plain increments. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 13);
  __type(key, __u32);
  __type(value, __u64);
} state_counts SEC(".maps");

SEC("iter/tcp")
int count_tcp_states(struct bpf_iter__tcp* ctx) {
  struct sock_common* skc = ctx->sk_common;

  if (!skc) return 0; /* the final call after the last socket */
  __u32 state = skc->skc_state;
  /* Like sock_diag and /proc/net/tcp, report a TIME_WAIT socket by its
   * substate (FIN_WAIT2 when it stands in for an orphaned FIN_WAIT2). */
  if (state == TCP_TIME_WAIT) {
    struct tcp_timewait_sock* tw = bpf_skc_to_tcp_timewait_sock(skc);

    if (tw) state = tw->tw_sk.tw_substate;
  }
  if (state > TCP_NEW_SYN_RECV) return 0;
  __u64* count = bpf_map_lookup_elem(&state_counts, &state);
  if (count) *count += 1;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
