/* Packet header parser of the xdp collector, shared by the XDP program, the
 * tc (SCHED_CLS) program and C++ (the sample decoder and the unit tests run
 * the very same code). Both hooks give it [data, data_end): XDP's buffer, or
 * the skb's linear part with direct packet access.
 *
 * Ethernet, up to two VLAN tags (802.1Q, 802.1ad/QinQ), IPv4 with options
 * and fragments, IPv6 with extension headers (hop-by-hop, routing,
 * destination options, fragment, AH, mobility, HIP, shim6), and the TCP,
 * UDP, ICMP and ICMPv6 headers. Never reads outside [data, end): every read
 * is preceded by a `p + n > end` check, the form the verifier understands
 * for packet pointers (pkt + const or bounded var compared to pkt_end).
 *
 * In BPF code include "vmlinux.h" first; elsewhere <linux/types.h> is used.
 */
#ifndef NETOBS_BPF_LIB_XDP_PARSE_H_
#define NETOBS_BPF_LIB_XDP_PARSE_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "../xdp.h"

#define NETOBS_XDP_PARSE_INLINE static inline __attribute__((always_inline))

/* The parse result; lives on the stack (BPF) or anywhere (C++). */
struct netobs_xdp_parsed {
  __u32 l3_offset; /* 0: no L3 header */
  __u32 l4_offset; /* 0: no L4 header parsed */
  __u16 sport;     /* host byte order */
  __u16 dport;
  __u8 eth_class; /* enum netobs_xdp_eth_class */
  __u8 l4_class;  /* enum netobs_xdp_l4_class */
  __u8 ip_proto;  /* IPv4 protocol / last IPv6 next header */
  __u8 tcp_flags; /* byte 13 of the TCP header */
  __u8 malformed; /* enum netobs_xdp_malformed */
  __u8 fragment;  /* enum netobs_xdp_fragment */
  __u8 vlan_depth;
  __u8 is_ipv6;
  __u8 l4_hdr_len; /* bytes of the parsed L4 header (TCP with options); 0: none */
  __u8 pad[3];
};

NETOBS_XDP_PARSE_INLINE __u16 netobs_be16(const __u8* p) {
  return (__u16)(((__u16)p[0] << 8) | p[1]);
}

NETOBS_XDP_PARSE_INLINE __u8 netobs_xdp_l4_class_of(__u8 proto, int is_ipv6) {
  if (proto == 6) return NETOBS_XDP_L4_TCP;
  if (proto == 17) return NETOBS_XDP_L4_UDP;
  if (proto == 1 && !is_ipv6) return NETOBS_XDP_L4_ICMP;
  if (proto == 58 && is_ipv6) return NETOBS_XDP_L4_ICMPV6;
  return NETOBS_XDP_L4_OTHER;
}

/* L4 header at p (offset `off` from the frame start). */
NETOBS_XDP_PARSE_INLINE void netobs_xdp_parse_l4(const __u8* p, const __u8* end, __u32 off,
                                                 struct netobs_xdp_parsed* out) {
  __u8 l4 = netobs_xdp_l4_class_of(out->ip_proto, out->is_ipv6);

  out->l4_class = l4;
  if (l4 == NETOBS_XDP_L4_OTHER) return;
  if (l4 == NETOBS_XDP_L4_TCP) {
    if (p + 20 > end || (p[12] >> 4) < 5) {
      out->malformed = NETOBS_XDP_MALFORMED_TCP;
      return;
    }
    out->sport = netobs_be16(p);
    out->dport = netobs_be16(p + 2);
    out->tcp_flags = p[13];
    out->l4_hdr_len = (__u8)((p[12] >> 4) * 4);
  } else if (l4 == NETOBS_XDP_L4_UDP) {
    if (p + 8 > end) {
      out->malformed = NETOBS_XDP_MALFORMED_UDP;
      return;
    }
    out->sport = netobs_be16(p);
    out->dport = netobs_be16(p + 2);
    out->l4_hdr_len = 8;
  } else if (p + 8 > end) { /* ICMP and ICMPv6: type, code, checksum, 4 more */
    out->malformed =
        l4 == NETOBS_XDP_L4_ICMP ? NETOBS_XDP_MALFORMED_ICMP : NETOBS_XDP_MALFORMED_ICMPV6;
    return;
  } else {
    out->l4_hdr_len = 8;
  }
  out->l4_offset = off;
}

/* IPv4 at p = data + off. pkt_len is the whole frame (it may extend past
 * `end` in a multi-buffer frame), for the total-length check. */
NETOBS_XDP_PARSE_INLINE void netobs_xdp_parse_ipv4(const __u8* p, const __u8* end, __u32 off,
                                                   __u64 pkt_len, struct netobs_xdp_parsed* out) {
  __u32 ihl;
  __u16 total, frag;

  out->eth_class = NETOBS_XDP_ETH_IPV4;
  out->l3_offset = off;
  if (p + 20 > end || (p[0] >> 4) != 4) goto malformed;
  /* Masked and scaled so the verifier knows ihl is in [0, 60]. */
  ihl = (__u32)(p[0] & 0x0F) * 4;
  total = netobs_be16(p + 2);
  /* BIG TCP (Linux 6.3+, opt-in): a GSO super-packet beyond 64 KiB, seen
   * only at tc, carries total length 0; its length is the skb's. */
  if (ihl < 20 ||
      (total == 0 ? pkt_len <= (__u64)off + 0xFFFF : (total < ihl || (__u64)total + off > pkt_len)))
    goto malformed;
  frag = netobs_be16(p + 6);
  out->ip_proto = p[9];
  if (p + ihl > end) goto malformed; /* options cut short */
  p += ihl;
  off += ihl;
  if (frag & 0x1FFF) {
    /* Non-first fragment: the bytes after the header are payload, not L4. */
    out->fragment = NETOBS_XDP_FRAG_NON_FIRST;
    out->l4_class = netobs_xdp_l4_class_of(out->ip_proto, 0);
    return;
  }
  if (frag & 0x2000) out->fragment = NETOBS_XDP_FRAG_FIRST;
  netobs_xdp_parse_l4(p, end, off, out);
  return;
malformed:
  out->malformed = NETOBS_XDP_MALFORMED_IPV4;
}

NETOBS_XDP_PARSE_INLINE void netobs_xdp_parse_ipv6(const __u8* p, const __u8* end, __u32 off,
                                                   __u64 pkt_len, struct netobs_xdp_parsed* out) {
  __u8 next;
  __u16 payload;
  __u32 len;
  int i;

  out->eth_class = NETOBS_XDP_ETH_IPV6;
  out->l3_offset = off;
  out->is_ipv6 = 1;
  if (p + 40 > end || (p[0] >> 4) != 6) {
    out->malformed = NETOBS_XDP_MALFORMED_IPV6;
    return;
  }
  payload = netobs_be16(p + 4);
  /* Payload length 0 is a jumbogram (hop-by-hop jumbo option): unchecked. */
  if (payload != 0 && (__u64)payload + 40 + off > pkt_len) {
    out->malformed = NETOBS_XDP_MALFORMED_IPV6;
    return;
  }
  next = p[6];
  p += 40;
  off += 40;
  /* Up to NETOBS_XDP_MAX_EXT_HEADERS extension headers, then the L4 header:
   * one pass more than the limit. A constant trip count, unrolled: kernels
   * before 5.3 reject loops, and each pass adds at most 2048 (8 * 256) to
   * the packet offset, far below the verifier's 64 KiB bound on p. */
#ifdef __clang__
#pragma unroll
#endif
  for (i = 0; i <= NETOBS_XDP_MAX_EXT_HEADERS; i++) {
    if (next == 0 || next == 43 || next == 60 || next == 135 || next == 139 || next == 140) {
      /* hop-by-hop, routing, destination options, mobility, HIP, shim6:
       * length in 8-octet units, not counting the first 8 octets. */
      if (i == NETOBS_XDP_MAX_EXT_HEADERS || p + 8 > end) goto malformed;
      next = p[0];
      len = ((__u32)p[1] + 1) * 8;
    } else if (next == 51) {
      /* AH: length in 4-octet units, minus 2. */
      if (i == NETOBS_XDP_MAX_EXT_HEADERS || p + 8 > end) goto malformed;
      next = p[0];
      len = ((__u32)p[1] + 2) * 4;
    } else if (next == 44) {
      __u16 frag;

      if (i == NETOBS_XDP_MAX_EXT_HEADERS || p + 8 > end) goto malformed;
      next = p[0];
      frag = netobs_be16(p + 2);
      p += 8;
      off += 8;
      out->ip_proto = next;
      if (frag & 0xFFF8) {
        out->fragment = NETOBS_XDP_FRAG_NON_FIRST;
        out->l4_class = netobs_xdp_l4_class_of(next, 1);
        return;
      }
      if (frag & 1) out->fragment = NETOBS_XDP_FRAG_FIRST;
      continue;
    } else {
      out->ip_proto = next;
      netobs_xdp_parse_l4(p, end, off, out);
      return;
    }
    /* The header must end inside the frame even when nothing after it is
     * read (next header 59): otherwise it claims bytes that are not there. */
    if (p + len > end) goto malformed;
    p += len;
    off += len;
  }
  /* Not reached: the last pass either parses L4 or jumps to malformed. */
malformed:
  out->malformed = NETOBS_XDP_MALFORMED_IPV6_EXT;
}

/* Parses the frame [data, end); pkt_len is its full length (>= end - data).
 * Fills *out completely; the return value is out->malformed. */
NETOBS_XDP_PARSE_INLINE int netobs_xdp_parse(const __u8* data, const __u8* end, __u64 pkt_len,
                                             struct netobs_xdp_parsed* out) {
  const __u8* p = data;
  __u16 proto;
  int i;

  __builtin_memset(out, 0, sizeof(*out));
  out->eth_class = NETOBS_XDP_ETH_OTHER;
  out->l4_class = NETOBS_XDP_L4_NONE;
  if (p + 14 > end) {
    out->malformed = NETOBS_XDP_MALFORMED_ETHERNET;
    return out->malformed;
  }
  proto = netobs_be16(p + 12);
  p += 14;
#ifdef __clang__
#pragma unroll
#endif
  for (i = 0; i < 2; i++) {
    /* 802.1Q, 802.1ad (QinQ outer tag) and the pre-standard 0x9100. */
    if (proto != 0x8100 && proto != 0x88A8 && proto != 0x9100) break;
    if (p + 4 > end) {
      out->malformed = NETOBS_XDP_MALFORMED_VLAN;
      return out->malformed;
    }
    proto = netobs_be16(p + 2);
    p += 4;
    out->vlan_depth++;
  }
  if (proto == 0x0800) {
    netobs_xdp_parse_ipv4(p, end, 14 + 4 * (__u32)out->vlan_depth, pkt_len, out);
  } else if (proto == 0x86DD) {
    netobs_xdp_parse_ipv6(p, end, 14 + 4 * (__u32)out->vlan_depth, pkt_len, out);
  } else if (proto == 0x0806) {
    out->eth_class = NETOBS_XDP_ETH_ARP;
  }
  return out->malformed;
}

#endif /* NETOBS_BPF_LIB_XDP_PARSE_H_ */
