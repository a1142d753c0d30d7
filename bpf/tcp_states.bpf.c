// SPDX-License-Identifier: GPL-2.0
/* netobs tcp collector: TCP sockets by state for netobs_tcp_connections.
 *
 * Tracked counts (the default, O(states) per scrape): full sockets are
 * counted by state in `live_counts`, kept up to date by track_tcp_states on
 * sock:inet_sock_set_state (-1 old state, +1 new state) and seeded ONCE at
 * start by the iterator seed_tcp_states over the existing sockets. Timewait
 * sockets and request sockets (SYN_RECV before the handshake completes) have
 * no state-change event; user space adds them at scrape time: timewait from
 * /proc/net/sockstat `tw` (a per-namespace counter), request sockets by
 * count_syn_queues, which walks only the listening table.
 *
 * Seeding without losing or double-counting a transition: track_tcp_states
 * is attached BEFORE the seed walk starts, and every socket is counted by
 * exactly one of the two programs, decided per socket under the socket's
 * lock. The iterator runs its program with lock_sock() held (iter/tcp,
 * Linux 5.15+), and the kernel changes the state of a full TCP socket only
 * with that lock held (process context, or softirq/timers that defer while
 * the socket is owned), so for one socket the seed visit and its transitions
 * are ordered. A socket-local-storage mark `counted` (holding the state it
 * is counted in) records which sockets are already counted:
 * - seed visit: marked -> skip (the tracepoint counts it); else count its
 *   current state and mark it.
 * - transition while seeding: marked -> move its count old -> new (unmark
 *   when it leaves the tables); not marked and coming from outside the
 *   tables (CLOSE, or a child cloned from a listener) -> count and mark;
 *   not marked and already in the tables -> nothing: the seed walk has not
 *   visited it yet and will count the state it has then (or it closes
 *   first, and was never counted).
 * After the walk every socket in the tables is counted; user space clears
 * `seeding` and from then on transitions are plain -old/+new without the
 * mark (a program that read `seeding` just before it was cleared still
 * follows the rules above, which stay consistent).
 *
 * The per-scrape iterator count_tcp_states (every socket, O(connections))
 * remains as the fallback where the tracked counts cannot load (no socket
 * storage for tracing programs, no tp_btf). A separate object from
 * tcp.bpf.c so a kernel without iter/tcp only loses this, and the collector
 * falls back to sock_diag.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* Network namespace (inode number) whose sockets are counted. */
const volatile __u32 target_netns = 0;

/* 1 until the seed walk is done (user space writes 0 through the mmapped
 * .data section). */
__u32 seeding = 1;
/* Socket storage that could not be created (ENOMEM): the tracked counts are
 * not exact and user space falls back to walking the sockets. */
__u64 track_errors = 0;
/* Request sockets summed over the listeners by count_syn_queues. */
__u64 syn_queue = 0;

/* Index: the state as sock_diag reports it (0..12). Zeroed by user space
 * before each walk; the walk runs on one thread, so plain increments. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 13);
  __type(key, __u32);
  __type(value, __u64);
} state_counts SEC(".maps");

/* Full sockets by state (index 1..11), summed over CPUs by user space. A
 * CPU's value can be negative (a socket counted on one CPU may leave on
 * another); the sum is not. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 13);
  __type(key, __u32);
  __type(value, __s64);
} live_counts SEC(".maps");

/* The state a socket is counted in, while seeding (see above). */
struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, __u32);
} counted SEC(".maps");

/* States a full socket has while it is in the kernel's TCP tables (what
 * sock_diag and the iterator see): not CLOSE (a closed socket is unhashed
 * before its state is stored), never TIME_WAIT or NEW_SYN_RECV (those are
 * separate, smaller socket kinds). */
static __always_inline bool in_tables(int state) {
  return state >= TCP_ESTABLISHED && state <= TCP_CLOSING && state != TCP_CLOSE &&
         state != TCP_TIME_WAIT;
}

static __always_inline void add(int state, __s64 delta) {
  __u32 key = (__u32)state;
  __s64* value = bpf_map_lookup_elem(&live_counts, &key);

  if (value) *value += delta;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(track_tcp_states, struct sock* sk, const int oldstate, const int newstate) {
  /* Direct BTF loads (tp_btf), no probe-read helper calls: this runs a few
   * times per connection. sk_protocol is a plain u16 since Linux 5.6. */
  if (!sk || sk->sk_protocol != IPPROTO_TCP) return 0;
  if (sk->__sk_common.skc_net.net->ns.inum != target_netns) return 0;
  /* A child socket cloned from its listener reports LISTEN -> SYN_RECV: it
   * enters the tables; the listener stays. */
  const bool from_outside =
      !in_tables(oldstate) || (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV);
  if (!seeding) {
    if (!from_outside) add(oldstate, -1);
    if (in_tables(newstate)) add(newstate, 1);
    return 0;
  }
  __u32* mark = bpf_sk_storage_get(&counted, sk, 0, 0);
  if (mark) {
    if (in_tables(*mark)) add(*mark, -1);
    if (in_tables(newstate)) {
      add(newstate, 1);
      *mark = newstate;
    } else {
      bpf_sk_storage_delete(&counted, sk);
    }
    return 0;
  }
  if (!from_outside || !in_tables(newstate)) return 0;
  mark = bpf_sk_storage_get(&counted, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!mark) {
    __sync_fetch_and_add(&track_errors, 1);
    return 0;
  }
  *mark = newstate;
  add(newstate, 1);
  return 0;
}

/* The one-time seed walk over the namespace's sockets (see above). Runs with
 * the socket locked. */
SEC("iter/tcp")
int seed_tcp_states(struct bpf_iter__tcp* ctx) {
  struct sock_common* skc = ctx->sk_common;

  if (!skc) return 0;
  /* NULL for timewait and request sockets: counted at scrape time. */
  struct tcp_sock* tp = bpf_skc_to_tcp_sock(skc);
  if (!tp) return 0;
  int state = skc->skc_state;
  if (!in_tables(state)) return 0;
  if (bpf_sk_storage_get(&counted, tp, 0, 0)) return 0; /* the tracepoint counts it */
  __u32* mark = bpf_sk_storage_get(&counted, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!mark) {
    track_errors += 1;
    return 0;
  }
  *mark = state;
  add(state, 1);
  return 0;
}

/* Request sockets at scrape time: the sum of the listeners' SYN queues
 * (icsk_accept_queue.qlen: request sockets hashed for that listener, which
 * sock_diag reports as SYN_RECV). The iterator walks the listening table
 * before the established one, so the first socket that is not listening
 * ends the walk: returning 1 makes read() fail with EAGAIN, and user space
 * stops there. The cost depends on the listeners, not the connections. */
SEC("iter/tcp")
int count_syn_queues(struct bpf_iter__tcp* ctx) {
  struct sock_common* skc = ctx->sk_common;

  if (!skc) return 0;
  if (skc->skc_state != TCP_LISTEN) return 1;
  struct tcp_sock* tp = bpf_skc_to_tcp_sock(skc);
  if (!tp) return 0;
  syn_queue += tp->inet_conn.icsk_accept_queue.qlen.counter;
  return 0;
}

SEC("iter/tcp")
int count_tcp_states(struct bpf_iter__tcp* ctx) {
  struct sock_common* skc = ctx->sk_common;

  if (!skc) return 0; /* the final call after the last socket */
  /* A timewait socket counts as time_wait whatever its substate (also when
   * it stands in for an orphaned FIN_WAIT2 connection, which sock_diag and
   * ss show as FIN_WAIT2), like the tracked counts, which take timewait
   * sockets from /proc/net/sockstat `tw`. */
  __u32 state = skc->skc_state;
  if (state > TCP_NEW_SYN_RECV) return 0;
  __u64* count = bpf_map_lookup_elem(&state_counts, &state);
  if (count) *count += 1;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
