// IP addresses and networks in the 16-byte form the BPF LPM tries use (IPv6,
// IPv4 as ::ffff:a.b.c.d so one trie serves both families), parsed from
// config text ("10.0.0.0/8", "192.0.2.10", "2001:db8::/32", "192.0.2.10:5432",
// "[2001:db8::1]:443") and printed back. Pure; errors name the bad text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/status.h"

namespace netobs {

using Ip16 = std::array<uint8_t, 16>;

struct IpPrefix {
  Ip16 addr{};        // network order; host bits beyond `bits` are zero
  uint32_t bits = 0;  // prefix length in the 128-bit space: IPv4 /n is 96 + n
  bool operator==(const IpPrefix&) const = default;
};

// An address ("/32" or "/128" implied) or a CIDR; host bits set is an error.
Result<IpPrefix> parse_ip_prefix(std::string_view text);

// An address or CIDR optionally followed by a port: "192.0.2.10:5432",
// "[2001:db8::1]:5432", "10.0.0.0/8:443" ("[2001:db8::/32]:443" for IPv6).
struct IpEndpoint {
  IpPrefix prefix;
  std::optional<uint16_t> port;
  bool operator==(const IpEndpoint&) const = default;
};
Result<IpEndpoint> parse_ip_endpoint(std::string_view text);

// IPv4 addresses in the 16-byte form (::ffff:a.b.c.d).
Ip16 ipv4_mapped(const uint8_t v4[4]);
bool is_ipv4_mapped(const Ip16& addr);
// "192.0.2.10" for IPv4-mapped addresses, else the IPv6 text ("2001:db8::1").
std::string format_ip(const Ip16& addr);
// "192.0.2.10:5432" / "[2001:db8::1]:5432".
std::string format_ip_port(const Ip16& addr, uint16_t port);

}  // namespace netobs
