// SPDX-License-Identifier: GPL-2.0
/* xdp collector: an observer of received packets. Every packet passes.
 *
 * Per ingress interface (a per-CPU array slot per interface) it keeps exact
 * counters: packets and bytes by ethertype x L4 protocol, TCP SYN / SYN-ACK /
 * RST / FIN, packets and bytes per configured port (filters.ports), a frame
 * size histogram, malformed packets by layer, fragments. Packets that pass
 * filters.protocols / filters.ports are sampled 1 in N into a ring buffer
 * (first 128 bytes plus the parse results) for user space's top talkers.
 *
 * Two hooks share the parser (lib/xdp_parse.h) and the counting (account()):
 * - XDP: xdp_observe (SEC "xdp.frags", Linux 5.18+: multi-buffer frames, so
 *   jumbo-MTU interfaces accept it, and bpf_xdp_get_buff_len /
 *   bpf_xdp_load_bytes) and xdp_observe_linear (plain "xdp", older kernels:
 *   frame = the linear buffer). User space loads the first and falls back to
 *   the second when the kernel rejects it.
 * - tc ingress: tc_observe (SCHED_CLS, attached on tcx, Linux 6.6+, or as a
 *   cls_bpf filter of a clsact qdisc), for interfaces where XDP costs more
 *   than the packet path itself (veth: XDP copies every skb). It counts a
 *   GSO/GRO super-packet as the wire packets it stands for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "xdp.h"
#include "lib/xdp_parse.h"

/* Set through skel->rodata before load. */
/* Sample when bpf_get_prandom_u32() < sample_threshold: 2^32 / sample_rate
 * (2^32 for "every packet", hence 64 bits). */
const volatile __u64 sample_threshold = 1ULL << 32;
/* Bit (1 << netobs_xdp_l4_class) per protocol of filters.protocols; 0: all. */
const volatile __u32 sample_l4_mask = 0;
/* 1 when filters.ports is set: only packets from/to those ports are sampled. */
const volatile __u32 sample_ports_only = 0;

/* filters.ports: port -> slot + 1 in netobs_xdp_counters.ports, 0 for ports
 * not configured. A .bss global rather than a map: indexing it with a __u16
 * is provably in bounds and costs no helper call. Written before load. */
__u8 port_slot[65536];

/* ifindex (low 16 bits) -> slot of the interface in xdp_counters; 0: none.
 * User space writes it through the mmapped .bss before attaching to an
 * interface and clears it after detaching. A per-CPU hash keyed by ifindex
 * cost 28 ns per packet here; this table plus an array lookup (inlined by
 * the verifier on Linux 6.x) about 1 ns. */
__u16 ifindex_slot[65536];

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, NETOBS_XDP_MIN_SLOTS); /* resized by user space before load */
  __type(key, __u32);
  __type(value, struct netobs_xdp_counters);
} xdp_counters SEC(".maps");

/* Per-CPU xorshift64* state for the sampling decision: bpf_get_prandom_u32()
 * cost 22 ns per call here, this about 2 ns. Seeded from it on first use. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} xdp_rng SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 2 * 1024 * 1024); /* bytes; ~12k samples of 176 bytes */
} xdp_samples SEC(".maps");

static __always_inline __u32 next_random(void) {
  __u32 zero = 0;
  __u64* state = bpf_map_lookup_elem(&xdp_rng, &zero);
  __u64 x;

  if (!state) return bpf_get_prandom_u32();
  x = *state;
  if (x == 0) x = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32() | 1;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (__u32)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static __always_inline __u32 size_slot(__u64 len) {
  if (len <= 512) {
    if (len <= 64) return 0;
    if (len <= 128) return 1;
    if (len <= 256) return 2;
    return 3;
  }
  if (len <= 1024) return 4;
  if (len <= 1518) return 5;
  if (len <= 2048) return 6;
  if (len <= 4096) return 7;
  if (len <= 9216) return 8;
  return 9;
}

/* Counts one port if it is configured; returns whether it was. */
static __always_inline int count_port(struct netobs_xdp_counters* c, __u16 port, __u32 segs,
                                      __u64 wire) {
  __u32 slot = port_slot[port];

  if (slot == 0) return 0;
  /* The verifier cannot know what user space stored: mask the index
   * (user space stores 1..NETOBS_XDP_MAX_PORTS, a power of two). */
  slot = (slot - 1) & (NETOBS_XDP_MAX_PORTS - 1);
  c->ports[slot].packets += segs;
  c->ports[slot].bytes += wire;
  return 1;
}

/* What one frame stands for on the wire. XDP: one packet (segs 1, wire =
 * last = the frame). tc: an skb may be a GSO/GRO super-packet of `segs`
 * wire packets, `full` bytes each but the last, which has `last`. */
struct netobs_wire {
  __u64 wire; /* bytes of all the wire packets */
  __u64 full; /* bytes of each of the first segs - 1 */
  __u64 last; /* bytes of the last (the only one when segs is 1) */
  __u32 segs;
};

/* Packets, bytes and sizes by ethertype and L4 class. `l4` is masked. */
static __always_inline void count_traffic(struct netobs_xdp_counters* c, __u32 eth, __u32 l4,
                                          const struct netobs_wire* w) {
  __u32 segs = w->segs;

  c->proto[eth][l4].packets += segs;
  c->proto[eth][l4].bytes += w->wire;
  if (segs > 1) c->size_slots[size_slot(w->full)] += segs - 1;
  c->size_slots[size_slot(w->last)] += 1;
  c->size_bytes_sum += w->wire;
}

/* Malformed packets and fragments. Every segment carries the same headers:
 * per wire packet. */
static __always_inline void count_anomalies(struct netobs_xdp_counters* c,
                                            const struct netobs_xdp_parsed* pkt, __u32 segs) {
  __u32 malformed = pkt->malformed & (NETOBS_XDP_MALFORMED_SLOTS - 1);

  if (malformed) c->malformed[malformed] += segs;
  if (pkt->fragment == NETOBS_XDP_FRAG_FIRST) c->fragments[NETOBS_XDP_FRAG_FIRST] += segs;
  if (pkt->fragment == NETOBS_XDP_FRAG_NON_FIRST) c->fragments[NETOBS_XDP_FRAG_NON_FIRST] += segs;
}

/* TCP flags and per-port counts; they need an L4 header that was parsed in
 * full. Returns whether a port of filters.ports matched. */
static __always_inline __u32 count_ports_and_flags(struct netobs_xdp_counters* c,
                                                   const struct netobs_xdp_parsed* pkt, __u32 l4,
                                                   const struct netobs_wire* w) {
  __u32 port_hit;

  if (pkt->l4_offset == 0 || (l4 != NETOBS_XDP_L4_TCP && l4 != NETOBS_XDP_L4_UDP)) return 0;
  if (l4 == NETOBS_XDP_L4_TCP) {
    /* FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10. Once per frame, also for a
     * TSO/GRO super-packet: SYN and RST are never segmented, and
     * segmentation keeps FIN on the last segment only. */
    __u8 flags = pkt->tcp_flags;

    if (flags & 0x02)
      c->tcp_flags[(flags & 0x10) ? NETOBS_XDP_FLAG_SYNACK : NETOBS_XDP_FLAG_SYN] += 1;
    if (flags & 0x04) c->tcp_flags[NETOBS_XDP_FLAG_RST] += 1;
    if (flags & 0x01) c->tcp_flags[NETOBS_XDP_FLAG_FIN] += 1;
  }
  port_hit = count_port(c, pkt->sport, w->segs, w->wire);
  if (pkt->dport != pkt->sport) port_hit |= count_port(c, pkt->dport, w->segs, w->wire);
  return port_hit;
}

/* Sampling, after the filters. A super-packet of segs wire packets is
 * sampled with probability min(1, segs / N): the expected sample count
 * stays (wire packets) / N. threshold <= 2^32 and segs < 2^16: no
 * overflow. */
static __always_inline int sample_draw(struct netobs_xdp_counters* c, __u32 l4, __u32 port_hit,
                                       __u32 segs) {
  if (sample_l4_mask && !(sample_l4_mask & (1U << l4))) return 0;
  if (sample_ports_only && !port_hit) return 0;
  c->sample_candidates += segs;
  if (sample_threshold <= 0xFFFFFFFFULL && (__u64)next_random() >= sample_threshold * segs)
    return 0;
  return 1;
}

/* The counting shared by both hooks. Returns 1 when the frame is to be
 * sampled (it passed the filters and won the 1-in-N draw). `segs` is the
 * constant 1 in the XDP program, so its multiplications fold away there. */
static __always_inline int account(struct netobs_xdp_counters* c,
                                   const struct netobs_xdp_parsed* pkt,
                                   const struct netobs_wire* w) {
  /* The parser is a global function: its results are unknown scalars to
   * the verifier. Masks (not compares, which clang rewrites into range
   * checks on a copy) bound the indexes; the parser never exceeds them. */
  __u32 eth = pkt->eth_class & (NETOBS_XDP_ETH_SLOTS - 1);
  __u32 l4 = pkt->l4_class & (NETOBS_XDP_L4_SLOTS - 1);
  __u32 port_hit;

  count_traffic(c, eth, l4, w);
  count_anomalies(c, pkt, w->segs);
  port_hit = count_ports_and_flags(c, pkt, l4, w);
  return sample_draw(c, l4, port_hit, w->segs);
}

/* Ring-buffer fill level (bytes) above which a submit wakes the reader. A
 * wakeup is an irq_work per record (a self-IPI: a VM exit under
 * virtualisation); user space drains the ring every 200 ms anyway, so
 * records go without one until a quarter of the ring is in use. */
#define NETOBS_XDP_WAKEUP_BYTES (512 * 1024)

static __always_inline void submit_sample(struct netobs_xdp_sample* rec) {
  __u64 flags = bpf_ringbuf_query(&xdp_samples, BPF_RB_AVAIL_DATA) > NETOBS_XDP_WAKEUP_BYTES
                    ? BPF_RB_FORCE_WAKEUP
                    : BPF_RB_NO_WAKEUP;

  bpf_ringbuf_submit(rec, flags);
}

/* The record's metadata; the caller copies the packet head. */
static __always_inline void fill_sample(struct netobs_xdp_sample* rec,
                                        const struct netobs_xdp_parsed* pkt, __u32 ifindex,
                                        const struct netobs_wire* w) {
  rec->timestamp_ns = bpf_ktime_get_ns();
  rec->ifindex = ifindex;
  rec->pkt_len = (__u32)w->wire;
  rec->l3_offset = (__u16)pkt->l3_offset;
  rec->l4_offset = (__u16)pkt->l4_offset;
  rec->sport = pkt->sport;
  rec->dport = pkt->dport;
  rec->eth_class = pkt->eth_class;
  rec->l4_class = pkt->l4_class;
  rec->ip_proto = pkt->ip_proto;
  rec->tcp_flags = pkt->tcp_flags;
  rec->malformed = pkt->malformed;
  rec->fragment = pkt->fragment;
  rec->vlan_depth = pkt->vlan_depth;
  rec->pad1 = 0;
  rec->segs = (__u16)w->segs;
  __builtin_memset(rec->pad, 0, sizeof(rec->pad));
}

/* ---------------------------------------------------------------- XDP */

static __always_inline void copy_head(struct xdp_md* ctx, const __u8* data, const __u8* end,
                                      __u64 len, struct netobs_xdp_sample* rec, const int frags) {
  /* 64-bit: a 32-bit value gets zero-extended into a copy before checks. */
  __u64 cap = len < NETOBS_XDP_SAMPLE_BYTES ? len : NETOBS_XDP_SAMPLE_BYTES;

  if (frags) {
    /* Copies across fragment boundaries too (Linux 5.18+). The empty asm
     * pins cap to one register: otherwise clang range-checks a copy and
     * passes the unchecked original, which the verifier rejects as a
     * possibly zero-sized read. */
    asm volatile("" : "+r"(cap));
    if (cap == 0 || cap > NETOBS_XDP_SAMPLE_BYTES ||
        bpf_xdp_load_bytes(ctx, 0, rec->data, cap) != 0)
      cap = 0;
    rec->cap_len = (__u16)cap;
    return;
  }
  /* Without bpf_xdp_load_bytes: constant-size copies guarded by packet
   * bounds checks, largest chunk first, so each is provably inside both the
   * packet and data[] (at most 64+32+16+8+4+2+1 = 127 bytes when the
   * frame is shorter than 128). */
  if (data + NETOBS_XDP_SAMPLE_BYTES <= end) {
    __builtin_memcpy(rec->data, data, NETOBS_XDP_SAMPLE_BYTES);
    rec->cap_len = NETOBS_XDP_SAMPLE_BYTES;
    return;
  }
  {
    __u32 done = 0;
    const __u8* p = data;

#define NETOBS_COPY_CHUNK(n)                    \
  if (p + (n) <= end && done + (n) <= 127) {    \
    __builtin_memcpy(rec->data + done, p, (n)); \
    p += (n);                                   \
    done += (n);                                \
  }
    NETOBS_COPY_CHUNK(64)
    NETOBS_COPY_CHUNK(32)
    NETOBS_COPY_CHUNK(16)
    NETOBS_COPY_CHUNK(8)
    NETOBS_COPY_CHUNK(4)
    NETOBS_COPY_CHUNK(2)
    NETOBS_COPY_CHUNK(1)
#undef NETOBS_COPY_CHUNK
    rec->cap_len = (__u16)done;
  }
}

/* A global (non-static, noinline) function: the verifier checks it once,
 * on its own (Linux 5.6+), instead of once per path into it. Inlined, the
 * parser's many exits each carried a distinct packet-pointer state through
 * the rest of the program and verification exceeded 1M instructions. The
 * caller sees *out as unknown scalars, hence the masks in account(). */
__noinline int netobs_xdp_parse_frame(struct xdp_md* ctx, __u64 pkt_len,
                                      struct netobs_xdp_parsed* out) {
  if (!out) return 0;
  return netobs_xdp_parse((const __u8*)(long)ctx->data, (const __u8*)(long)ctx->data_end, pkt_len,
                          out);
}

static __always_inline int observe(struct xdp_md* ctx, const int frags) {
  const __u8* data = (const __u8*)(long)ctx->data;
  const __u8* end = (const __u8*)(long)ctx->data_end;
  __u64 len = (__u64)(end - data);
  __u32 slot = ifindex_slot[ctx->ingress_ifindex & 0xFFFF];
  struct netobs_xdp_counters* c = bpf_map_lookup_elem(&xdp_counters, &slot);
  struct netobs_xdp_parsed pkt;
  struct netobs_wire w;

  if (!c) return XDP_PASS;
  netobs_xdp_parse_frame(ctx, len, &pkt);
  if (frags && (pkt.malformed || pkt.eth_class >= NETOBS_XDP_ETH_ARP)) {
    /* A multi-buffer frame's linear part may hold only its start. An IP
     * frame is whole when its IP length fits the linear part (it parsed
     * fine), so only the others pay for the helper (11 ns here): frames
     * whose IP length claims more than the linear part, and non-IP ones. */
    __u64 whole = bpf_xdp_get_buff_len(ctx);

    if (whole > len) {
      len = whole;
      netobs_xdp_parse_frame(ctx, len, &pkt);
    }
  }
  w.wire = len;
  w.full = len;
  w.last = len;
  w.segs = 1;
  if (!account(c, &pkt, &w)) return XDP_PASS;

  struct netobs_xdp_sample* rec = bpf_ringbuf_reserve(&xdp_samples, sizeof(*rec), 0);

  if (!rec) {
    c->sample_drops += 1;
    return XDP_PASS;
  }
  fill_sample(rec, &pkt, ctx->ingress_ifindex, &w);
  copy_head(ctx, data, end, len, rec, frags);
  submit_sample(rec);
  c->samples += 1;
  return XDP_PASS;
}

SEC("xdp.frags")
int xdp_observe(struct xdp_md* ctx) { return observe(ctx, 1); }

SEC("xdp")
int xdp_observe_linear(struct xdp_md* ctx) { return observe(ctx, 0); }

/* ----------------------------------------------------------------- tc */

/* The tc program's verdict: TCX_NEXT (-1, the same value as TC_ACT_UNSPEC)
 * means "no opinion": on tcx the next program runs, in a cls_bpf chain the
 * next filter; with none left the packet goes on. TC_ACT_OK (0) would end
 * classification and skip filters of other tools after ours. */
#define NETOBS_TC_NEXT (-1)

/* Bytes bpf_skb_pull_data() moves into the linear part when the headers
 * are not all there: enough for Ethernet, two VLAN tags, IPv6 with a few
 * extension headers and TCP with options. Real stacks keep headers linear;
 * this is the rare path (a driver that leaves them in page fragments). */
#define NETOBS_TC_PULL_BYTES 256

/* The tc counterpart of netobs_xdp_parse_frame: direct packet access to the
 * skb's linear part [data, data_end); pkt_len is skb->len. */
__noinline int netobs_tc_parse_frame(struct __sk_buff* skb, __u64 pkt_len,
                                     struct netobs_xdp_parsed* out) {
  if (!out) return 0;
  return netobs_xdp_parse((const __u8*)(long)skb->data, (const __u8*)(long)skb->data_end, pkt_len,
                          out);
}

SEC("tc")
int tc_observe(struct __sk_buff* skb) {
  /* At tc ingress the kernel has pushed the MAC header back: data is the
   * Ethernet header and len the whole frame, as XDP sees it (a VLAN tag
   * the driver stripped, rx-vlan-offload, is in neither). skb->ifindex is
   * the device the hook belongs to. */
  __u64 len = skb->len;
  __u32 slot = ifindex_slot[skb->ifindex & 0xFFFF];
  struct netobs_xdp_counters* c = bpf_map_lookup_elem(&xdp_counters, &slot);
  struct netobs_xdp_parsed pkt;
  struct netobs_wire w;
  __u32 gso_size, segs;

  if (!c) return NETOBS_TC_NEXT;
  netobs_tc_parse_frame(skb, len, &pkt);
  if (pkt.malformed && (__u64)(skb->data_end - skb->data) < len) {
    /* Headers beyond the linear part: pull them in (invalidates packet
     * pointers; the parser re-reads data/data_end) and parse again. */
    __u32 pull = len < NETOBS_TC_PULL_BYTES ? (__u32)len : NETOBS_TC_PULL_BYTES;

    if (bpf_skb_pull_data(skb, pull) == 0) netobs_tc_parse_frame(skb, len, &pkt);
  }

  w.wire = len;
  w.full = len;
  w.last = len;
  w.segs = 1;
  gso_size = skb->gso_size;
  if (gso_size != 0) {
    /* A GSO/GRO super-packet (Linux 5.7+ for gso_size): count the wire
     * packets it stands for. Each carries the headers up to the L4 header
     * we parsed; `hdr` misses inner headers of tunnelled GSO, so bytes are
     * approximate there (len + (segs - 1) x hdr). gso_segs is 0 for some
     * sources (virtio): derive it from gso_size then. */
    __u64 hdr = pkt.l4_offset != 0 ? (__u64)(pkt.l4_offset & 0xFFFF) + pkt.l4_hdr_len
                                   : (pkt.l3_offset != 0 ? (__u64)(pkt.l3_offset & 0xFFFF) : 14);

    segs = skb->gso_segs;
    if (segs == 0 && len > hdr) segs = (__u32)((len - hdr + gso_size - 1) / gso_size);
    if (segs > 0xFFFF) segs = 0xFFFF;
    if (segs > 1) {
      __u64 payload_before_last = (__u64)(segs - 1) * gso_size;

      w.segs = segs;
      w.wire = len + (__u64)(segs - 1) * hdr;
      if (len > payload_before_last + hdr) {
        w.full = hdr + gso_size;
        w.last = len - payload_before_last;
      } else {
        /* Inconsistent sizes: all segments alike, of the mean size. */
        w.full = w.wire / segs;
        w.last = w.full;
      }
    }
  }
  if (!account(c, &pkt, &w)) return NETOBS_TC_NEXT;

  struct netobs_xdp_sample* rec = bpf_ringbuf_reserve(&xdp_samples, sizeof(*rec), 0);

  if (!rec) {
    c->sample_drops += 1;
    return NETOBS_TC_NEXT;
  }
  fill_sample(rec, &pkt, skb->ifindex, &w);
  {
    /* bpf_skb_load_bytes copies from the linear part and the fragments
     * alike. The asm pins cap to one register (see copy_head). */
    __u64 cap = len < NETOBS_XDP_SAMPLE_BYTES ? len : NETOBS_XDP_SAMPLE_BYTES;

    asm volatile("" : "+r"(cap));
    if (cap == 0 || cap > NETOBS_XDP_SAMPLE_BYTES ||
        bpf_skb_load_bytes(skb, 0, rec->data, (__u32)cap) != 0)
      cap = 0;
    rec->cap_len = (__u16)cap;
  }
  submit_sample(rec);
  c->samples += 1;
  return NETOBS_TC_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
