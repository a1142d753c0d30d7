/* network.include_cidrs / exclude_cidrs and include_ports / exclude_ports,
 * matched in the kernel: the switches, the maps and the checks shared by
 * the collectors' BPF programs (socket, dns, flows). User space sets the
 * switches and sizes the maps before load and fills the maps before attach
 * (exporter/net/network_filter_maps.h).
 *
 * CIDRs: IPv4 networks are stored IPv4-mapped (::ffff:a.b.c.d, prefix + 96)
 * so one trie serves both families. Two tries, not one with verdict bits:
 * an LPM lookup returns only the longest match, and an exclude must win
 * even when a longer include matches too. Ports: an array (its lookup is
 * inlined) of 65536 bytes when port filters are configured, else 1.
 *
 * BPF only; include after "vmlinux.h" and <bpf/bpf_helpers.h>.
 */
#ifndef NETOBS_BPF_LIB_NETWORK_FILTER_H_
#define NETOBS_BPF_LIB_NETWORK_FILTER_H_

/* Set through skel->rodata before load. */
const volatile __u8 filter_include_cidrs = 0;
const volatile __u8 filter_exclude_cidrs = 0;
const volatile __u8 filter_include_ports = 0;
const volatile __u8 filter_exclude_ports = 0;

#define NETWORK_FILTER_CIDRS (filter_include_cidrs || filter_exclude_cidrs)
#define NETWORK_FILTER_PORTS (filter_include_ports || filter_exclude_ports)

/* The tries' key; the same layout as CidrKey in user space. */
struct cidr_key {
  __u32 prefixlen;
  __u8 addr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1); /* sized from the config */
  __type(key, struct cidr_key);
  __type(value, __u8);
} include_cidrs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 1);
  __type(key, struct cidr_key);
  __type(value, __u8);
} exclude_cidrs SEC(".maps");

/* port -> bit 0 included, bit 1 excluded. */
#define PORT_INCLUDED 1
#define PORT_EXCLUDED 2
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8);
} port_filter SEC(".maps");

/* Whether an address (16 bytes, IPv4 as ::ffff:a.b.c.d) passes the CIDR
 * filters. Looks nothing up when none is configured. */
static __always_inline bool network_filter_address_passes(const __u8 addr[16]) {
  struct cidr_key key = {.prefixlen = 128};

  if (!NETWORK_FILTER_CIDRS) return true;
  __builtin_memcpy(key.addr, addr, 16);
  if (filter_exclude_cidrs && bpf_map_lookup_elem(&exclude_cidrs, &key)) return false;
  if (filter_include_cidrs && !bpf_map_lookup_elem(&include_cidrs, &key)) return false;
  return true;
}

/* The same for an IPv4 address in network byte order. */
static __always_inline bool network_filter_ipv4_passes(__u32 addr) {
  __u8 mapped[16] = {[10] = 0xff, [11] = 0xff};

  __builtin_memcpy(&mapped[12], &addr, 4);
  return network_filter_address_passes(mapped);
}

/* The include/exclude bits of a port (0 when it is in neither list). */
static __always_inline __u8 network_filter_port_bits(__u32 port) {
  __u8* bits = bpf_map_lookup_elem(&port_filter, &port);

  return bits ? *bits : 0;
}

/* Whether the bits of the ports that identify a connection (one port, or
 * both ends' bits or'ed) pass the port filters: an exclude always wins. */
static __always_inline bool network_filter_port_bits_pass(__u8 bits) {
  if (filter_exclude_ports && (bits & PORT_EXCLUDED)) return false;
  if (filter_include_ports && !(bits & PORT_INCLUDED)) return false;
  return true;
}

#endif /* NETOBS_BPF_LIB_NETWORK_FILTER_H_ */
