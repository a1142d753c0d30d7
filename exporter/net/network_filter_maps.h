// network.include_cidrs / exclude_cidrs and include_ports / exclude_ports as
// the BPF maps the collectors match them in, in the kernel (socket, dns):
// CIDRs as keys of an LPM trie with IPv4 networks IPv4-mapped
// (::ffff:a.b.c.d, prefix + 96) so one trie serves both families, one trie
// for the includes and one for the excludes (an LPM lookup returns only the
// longest match, and an exclude must win over a longer include); ports as an
// array of 65536 bytes, bit 0 included, bit 1 excluded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/status.h"

struct bpf_map;

namespace netobs {

struct NetworkFilters;

inline constexpr uint8_t kPortIncluded = 1;
inline constexpr uint8_t kPortExcluded = 2;

// Key of the CIDR tries (struct cidr_key in the BPF programs).
struct CidrKey {
  uint32_t prefixlen = 0;
  unsigned char addr[16] = {};
};

// "a.b.c.d/n" or "x::/n" as a trie key. The config loader validated the
// text already; the error guards against a caller that bypassed it.
Result<CidrKey> parse_cidr_key(const std::string& cidr);

// Inserts every CIDR of `cidrs` into the LPM trie `map` (value u8 1).
Status fill_cidr_map(bpf_map* map, const std::vector<std::string>& cidrs);

// Sets the include/exclude bits of network.include_ports / exclude_ports in
// the port array `map` (key u32 port, value u8 bits).
Status fill_port_map(bpf_map* map, const NetworkFilters& network);

}  // namespace netobs
