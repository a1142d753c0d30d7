/* Bounded log2 histogram slots, shared by BPF programs and C++.
 *
 * Slot 0 holds the value 0; slot k >= 1 holds [2^(k-1), 2^k - 1], the same
 * layout as bcc's bpf_log2l() histograms. Values too large for the histogram
 * land in the last slot. User space turns slot k into the Prometheus bucket
 * `le = netobs_log2_slot_upper(k)` (in the unit the kernel recorded).
 *
 * In BPF code include "vmlinux.h" first (it provides __u32/__u64); elsewhere
 * <linux/types.h> does. Compiles as C (clang -target bpf) and as C++.
 */
#ifndef NETOBS_BPF_LIB_LOG2_SLOT_H_
#define NETOBS_BPF_LIB_LOG2_SLOT_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Own name: glibc's <sys/cdefs.h> and bpf_helpers.h both define __always_inline. */
#define NETOBS_LOG2_INLINE static inline __attribute__((always_inline))

/* floor(log2(v)) for v > 0, 0 for v == 0. Branch-free and loop-free: the
 * verifier sees straight-line code with no bounded-loop bookkeeping. */
NETOBS_LOG2_INLINE __u32 netobs_log2_u32(__u32 v) {
  __u32 r, shift;

  r = (__u32)(v > 0xFFFF) << 4;
  v >>= r;
  shift = (__u32)(v > 0xFF) << 3;
  v >>= shift;
  r |= shift;
  shift = (__u32)(v > 0xF) << 2;
  v >>= shift;
  r |= shift;
  shift = (__u32)(v > 0x3) << 1;
  v >>= shift;
  r |= shift;
  r |= (v >> 1);
  return r;
}

NETOBS_LOG2_INLINE __u32 netobs_log2_u64(__u64 v) {
  __u32 hi = (__u32)(v >> 32);

  if (hi) return netobs_log2_u32(hi) + 32;
  return netobs_log2_u32((__u32)v);
}

/* Slot of v in a histogram of max_slots slots (max_slots >= 1, a compile-time
 * constant at every call site). The explicit clamp is what lets the verifier
 * prove `slots[slot]` stays inside the map value: keep it even though callers
 * size histograms for 64-bit values. */
NETOBS_LOG2_INLINE __u32 netobs_log2_slot(__u64 v, __u32 max_slots) {
  __u32 slot = v == 0 ? 0 : netobs_log2_u64(v) + 1;

  if (slot >= max_slots) slot = max_slots - 1;
  return slot;
}

/* Largest value that lands in slot k (k < 64), i.e. its inclusive upper
 * bound: 0 for slot 0, 2^k - 1 otherwise. The last slot of a histogram also
 * holds everything larger: export it as +Inf. */
NETOBS_LOG2_INLINE __u64 netobs_log2_slot_upper(__u32 slot) {
  if (slot == 0) return 0;
  if (slot >= 64) return ~(__u64)0;
  return ((__u64)1 << slot) - 1;
}

#endif /* NETOBS_BPF_LIB_LOG2_SLOT_H_ */
