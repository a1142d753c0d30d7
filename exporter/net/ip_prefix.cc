#include "exporter/net/ip_prefix.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace netobs {
namespace {

std::optional<Ip16> parse_address(const std::string& text, bool& ipv4) {
  uint8_t v4[4];
  Ip16 addr{};
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
    ipv4 = true;
    return ipv4_mapped(v4);
  }
  if (inet_pton(AF_INET6, text.c_str(), addr.data()) == 1) {
    ipv4 = false;
    return addr;
  }
  return std::nullopt;
}

}  // namespace

Ip16 ipv4_mapped(const uint8_t v4[4]) {
  Ip16 addr{};
  addr[10] = addr[11] = 0xff;
  std::memcpy(addr.data() + 12, v4, 4);
  return addr;
}

bool is_ipv4_mapped(const Ip16& addr) {
  for (int i = 0; i < 10; ++i) {
    if (addr[i] != 0) return false;
  }
  return addr[10] == 0xff && addr[11] == 0xff;
}

Result<IpPrefix> parse_ip_prefix(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  bool ipv4 = false;
  std::optional<Ip16> addr = parse_address(address, ipv4);
  if (!addr) {
    return Status::error("\"" + std::string(text) +
                         "\" is not an IPv4 or IPv6 address or network; write e.g. 10.0.0.0/8, "
                         "192.0.2.10 or 2001:db8::/32");
  }
  const uint32_t max_bits = ipv4 ? 32 : 128;
  uint32_t bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        bits > max_bits) {
      return Status::error("\"" + std::string(text) + "\": the prefix length must be 0.." +
                           std::to_string(max_bits));
    }
  }
  IpPrefix prefix{*addr, bits + (ipv4 ? 96 : 0)};
  for (uint32_t bit = prefix.bits; bit < 128; ++bit) {
    if (prefix.addr[bit / 8] & (0x80 >> (bit % 8))) {
      return Status::error("\"" + std::string(text) + "\" has host bits set; write the network " +
                           "address (e.g. 10.0.0.0/8, not 10.1.2.3/8)");
    }
  }
  return prefix;
}

Result<IpEndpoint> parse_ip_endpoint(std::string_view text) {
  std::string_view address = text;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::error("\"" + std::string(text) + "\": missing ']' after the IPv6 address");
    }
    address = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::error("\"" + std::string(text) + "\": expected ':PORT' after ']'");
      }
      port_text = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    address = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  Result<IpPrefix> prefix = parse_ip_prefix(address);
  if (!prefix) return prefix.status();
  IpEndpoint endpoint{*prefix, std::nullopt};
  if (port_text) {
    uint32_t port = 0;
    auto [end, ec] =
        std::from_chars(port_text->data(), port_text->data() + port_text->size(), port);
    if (port_text->empty() || ec != std::errc() || end != port_text->data() + port_text->size() ||
        port == 0 || port > 65535) {
      return Status::error("\"" + std::string(text) + "\": the port must be 1..65535");
    }
    endpoint.port = static_cast<uint16_t>(port);
  }
  return endpoint;
}

std::string format_ip(const Ip16& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_ipv4_mapped(addr)) {
    inet_ntop(AF_INET, addr.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, addr.data(), text, sizeof text);
  }
  return text;
}

std::string format_ip_port(const Ip16& addr, uint16_t port) {
  if (is_ipv4_mapped(addr)) return format_ip(addr) + ":" + std::to_string(port);
  return "[" + format_ip(addr) + "]:" + std::to_string(port);
}

}  // namespace netobs
