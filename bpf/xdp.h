/* The xdp collector's kernel/user boundary: the per-interface counters the
 * XDP and tc programs keep (per-CPU array, a slot per interface) and the
 * sampled packet record they write to the ring buffer. The ONE definition of each;
 * included by bpf/xdp.bpf.c, bpf/lib/xdp_parse.h and the C++ collector.
 * Plain __u32/__u64 with explicit padding: no vmlinux.h here.
 */
#ifndef NETOBS_BPF_XDP_H_
#define NETOBS_BPF_XDP_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Ethertype class (after up to two VLAN tags): the `ethertype` label. */
enum netobs_xdp_eth_class {
  NETOBS_XDP_ETH_IPV4 = 0,
  NETOBS_XDP_ETH_IPV6 = 1,
  NETOBS_XDP_ETH_ARP = 2,
  NETOBS_XDP_ETH_OTHER = 3,
  NETOBS_XDP_ETH_CLASSES = 4,
};

/* L4 class: the `protocol` label. NONE: no L4 protocol known (not IP, or the
 * IP header itself was malformed). ICMP counts only in IPv4 and ICMPV6 only
 * in IPv6; the other pairing is OTHER. */
enum netobs_xdp_l4_class {
  NETOBS_XDP_L4_TCP = 0,
  NETOBS_XDP_L4_UDP = 1,
  NETOBS_XDP_L4_ICMP = 2,
  NETOBS_XDP_L4_ICMPV6 = 3,
  NETOBS_XDP_L4_OTHER = 4,
  NETOBS_XDP_L4_NONE = 5,
  NETOBS_XDP_L4_CLASSES = 6,
};

/* TCP flag counters: SYN without ACK, SYN with ACK, RST, FIN. */
enum netobs_xdp_tcp_flag {
  NETOBS_XDP_FLAG_SYN = 0,
  NETOBS_XDP_FLAG_SYNACK = 1,
  NETOBS_XDP_FLAG_RST = 2,
  NETOBS_XDP_FLAG_FIN = 3,
  NETOBS_XDP_TCP_FLAGS = 4,
};

/* The header where parsing stopped on a malformed or truncated packet: the
 * `layer` label of netobs_xdp_malformed_packets_total. */
enum netobs_xdp_malformed {
  NETOBS_XDP_MALFORMED_NONE = 0,
  NETOBS_XDP_MALFORMED_ETHERNET = 1, /* fewer than 14 bytes */
  NETOBS_XDP_MALFORMED_VLAN = 2,     /* VLAN tag cut short */
  NETOBS_XDP_MALFORMED_IPV4 = 3, /* short, version != 4, IHL < 5, options cut, bad total length */
  NETOBS_XDP_MALFORMED_IPV6 = 4, /* short, version != 6, payload length beyond the frame */
  NETOBS_XDP_MALFORMED_IPV6_EXT = 5, /* extension header cut short, or more than the parse limit */
  NETOBS_XDP_MALFORMED_TCP = 6,      /* fewer than 20 bytes, or data offset < 5 */
  NETOBS_XDP_MALFORMED_UDP = 7,      /* fewer than 8 bytes */
  NETOBS_XDP_MALFORMED_ICMP = 8,     /* fewer than 8 bytes */
  NETOBS_XDP_MALFORMED_ICMPV6 = 9,   /* fewer than 8 bytes */
  NETOBS_XDP_MALFORMED_LAYERS = 10,
};

/* Array dimensions indexed by values the verifier cannot bound (read back
 * from the stack or a map): powers of two, so a mask proves the index in
 * range; the slots past the enums' ends stay 0. */
#define NETOBS_XDP_ETH_SLOTS 4
#define NETOBS_XDP_L4_SLOTS 8
#define NETOBS_XDP_MALFORMED_SLOTS 16

enum netobs_xdp_fragment {
  NETOBS_XDP_FRAG_NONE = 0,
  NETOBS_XDP_FRAG_FIRST = 1,     /* offset 0, more fragments: has the L4 header */
  NETOBS_XDP_FRAG_NON_FIRST = 2, /* offset > 0: no L4 header */
};

/* Frame sizes (bytes on the wire without FCS, as XDP sees them) of the
 * packet size histogram: inclusive upper bounds; the last slot is +Inf. */
#define NETOBS_XDP_SIZE_BOUNDS \
  { 64, 128, 256, 512, 1024, 1518, 2048, 4096, 9216 }
#define NETOBS_XDP_SIZE_SLOTS 10

/* filters.ports: at most this many, each with its own packet/byte counter. */
#define NETOBS_XDP_MAX_PORTS 64
/* Counter slots (per-CPU array entries): user space sizes the map at load
 * time between these bounds; slot 0 collects packets of interfaces without a
 * slot (only BPF_PROG_TEST_RUN sees those). */
#define NETOBS_XDP_MIN_SLOTS 32
#define NETOBS_XDP_MAX_SLOTS 1024
/* IPv6 extension headers parsed before the packet counts as malformed. */
#define NETOBS_XDP_MAX_EXT_HEADERS 8
/* Leading bytes of a sampled packet copied into its record. */
#define NETOBS_XDP_SAMPLE_BYTES 128

struct netobs_xdp_volume {
  __u64 packets;
  __u64 bytes;
};

/* Value of the per-CPU array `xdp_counters`, indexed by the interface's
 * slot (ifindex_slot[ifindex & 0xFFFF], assigned by user space). User space
 * sums the per-CPU copies. */
struct netobs_xdp_counters {
  struct netobs_xdp_volume proto[NETOBS_XDP_ETH_SLOTS][NETOBS_XDP_L4_SLOTS];
  __u64 tcp_flags[NETOBS_XDP_TCP_FLAGS];
  __u64 size_slots[NETOBS_XDP_SIZE_SLOTS];
  __u64 size_bytes_sum; /* same as the sum of proto[][].bytes; kept for the histogram _sum */
  __u64 malformed[NETOBS_XDP_MALFORMED_SLOTS]; /* [0] (NONE) stays 0 */
  __u64 fragments[3];                          /* indexed by netobs_xdp_fragment; [0] unused */
  __u64 sample_candidates; /* packets that passed filters.protocols / filters.ports */
  __u64 samples;           /* records written to the ring buffer */
  __u64 sample_drops;      /* records lost: ring buffer full */
  struct netobs_xdp_volume ports[NETOBS_XDP_MAX_PORTS]; /* by slot of filters.ports */
};

/* One sampled packet in the ring buffer `xdp_samples`. The parse results are
 * the kernel's; `data` holds the first cap_len bytes of the frame. */
struct netobs_xdp_sample {
  __u64 timestamp_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  __u32 ifindex;
  __u32 pkt_len; /* whole frame, all fragments of a multi-buffer frame included; for a GSO
                  * super-packet (tc) the bytes of all its wire packets */
  __u16 cap_len; /* bytes valid in data[] */
  __u16 l3_offset;
  __u16 l4_offset; /* 0: no L4 header parsed */
  __u16 sport;     /* host byte order; 0 when there is none */
  __u16 dport;
  __u8 eth_class;
  __u8 l4_class;
  __u8 ip_proto;
  __u8 tcp_flags;
  __u8 malformed;
  __u8 fragment;
  __u8 vlan_depth;
  __u8 pad1;
  __u16 segs; /* wire packets this record stands for: GSO segments (tc), else 1 */
  __u8 pad[4];
  __u8 data[NETOBS_XDP_SAMPLE_BYTES];
};

#endif /* NETOBS_BPF_XDP_H_ */
