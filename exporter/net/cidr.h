// IP networks (CIDRs) and the address ranges that never leave a site
// (private, loopback, link-local, CGNAT, documentation...), shared by the
// collectors that match addresses against lists (security, flows). Pure
// functions, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace netobs {

// An IPv4 or IPv6 network: `bytes` in network order (IPv4 in the first 4),
// host bits cleared.
struct Cidr {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t prefix_len = 0;
  std::array<uint8_t, 16> bytes{};

  bool operator==(const Cidr&) const = default;
  // Whether `address` (same family, 4 or 16 bytes) lies in this network.
  bool contains(int address_family, const uint8_t* address) const;
  std::string to_string() const;  // "10.0.0.0/8", "2001:db8::/32"
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.1" is /32).
// `strict`: host bits set is an error (config); otherwise they are cleared.
// The error names the text and what is wrong with it.
Result<Cidr> parse_cidr(std::string_view text, bool strict = true);

// The ranges that are not "external": RFC 1918, loopback, link-local, CGNAT
// (100.64.0.0/10), documentation (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32), unique-local fc00::/7, unspecified,
// multicast and the IPv4-mapped IPv6 of the IPv4 ones.
const std::vector<Cidr>& non_external_ranges();

// Whether `address` (4 or 16 bytes by family) is outside non_external_ranges().
bool is_external_address(int family, const uint8_t* address);

// "198.51.100.50", "2001:db8::1" (IPv4-mapped IPv6 printed as IPv4 when `unmap`).
std::string format_address(int family, const uint8_t* address, bool unmap = false);

}  // namespace netobs
