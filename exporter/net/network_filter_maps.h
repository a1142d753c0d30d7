// network.include_cidrs / exclude_cidrs and include_ports / exclude_ports as
// the BPF maps the collectors match them in, in the kernel (socket, dns,
// flows; the BPF side is bpf/lib/network_filter.h):
// CIDRs as keys of an LPM trie with IPv4 networks IPv4-mapped
// (::ffff:a.b.c.d, prefix + 96) so one trie serves both families, one trie
// for the includes and one for the excludes (an LPM lookup returns only the
// longest match, and an exclude must win over a longer include); ports as an
// array of 65536 bytes, bit 0 included, bit 1 excluded.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/status.h"

namespace netobs {

inline constexpr uint8_t kPortIncluded = 1;
inline constexpr uint8_t kPortExcluded = 2;

// Key of the CIDR tries (struct cidr_key in the BPF programs).
struct CidrKey {
  uint32_t prefixlen = 0;
  unsigned char addr[16] = {};
};

// "a.b.c.d/n" or "x::/n" as a trie key (parsed by parse_ip_prefix). The
// config loader validated the text already; the error guards against a
// caller that bypassed it.
Result<CidrKey> parse_cidr_key(const std::string& cidr);

// Inserts every CIDR of `cidrs` into the LPM trie `map` (value u8 1).
Status fill_cidr_map(bpf_map* map, const std::vector<std::string>& cidrs);

// Sets the include/exclude bits of network.include_ports / exclude_ports in
// the port array `map` (key u32 port, value u8 bits).
Status fill_port_map(bpf_map* map, const NetworkFilters& network);

// The three maps of bpf/lib/network_filter.h in one BPF object.
struct NetworkFilterMaps {
  bpf_map* include_cidrs = nullptr;
  bpf_map* exclude_cidrs = nullptr;
  bpf_map* port_filter = nullptr;
};

// Before load: each map sized to what the config needs (1 entry when unused).
void size_network_filter_maps(const NetworkFilterMaps& maps, const NetworkFilters& network);

// After load, before attach (no packet sees a half-filled filter).
Status fill_network_filter_maps(const NetworkFilterMaps& maps, const NetworkFilters& network);

template <class Skeleton>
NetworkFilterMaps network_filter_maps_of(Skeleton& skel) {
  return {skel.maps.include_cidrs, skel.maps.exclude_cidrs, skel.maps.port_filter};
}

// Before load, for a skeleton whose object includes bpf/lib/network_filter.h:
// its switches (rodata) and its map sizes.
template <class Skeleton>
void configure_network_filter(Skeleton& skel, const NetworkFilters& network) {
  skel.rodata->filter_include_cidrs = network.include_cidrs.empty() ? 0 : 1;
  skel.rodata->filter_exclude_cidrs = network.exclude_cidrs.empty() ? 0 : 1;
  skel.rodata->filter_include_ports = network.include_ports.empty() ? 0 : 1;
  skel.rodata->filter_exclude_ports = network.exclude_ports.empty() ? 0 : 1;
  size_network_filter_maps(network_filter_maps_of(skel), network);
}

template <class Skeleton>
Status fill_network_filter(Skeleton& skel, const NetworkFilters& network) {
  return fill_network_filter_maps(network_filter_maps_of(skel), network);
}

}  // namespace netobs
