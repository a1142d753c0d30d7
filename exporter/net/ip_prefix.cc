#include "exporter/net/ip_prefix.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "exporter/net/cidr.h"

namespace netobs {

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
  Result<Cidr> cidr = parse_cidr(text);
  if (!cidr) return cidr.status();
  if (cidr->family == AF_INET) {
    return IpPrefix{ipv4_mapped(cidr->bytes.data()), 96u + cidr->prefix_len};
  }
  return IpPrefix{cidr->bytes, cidr->prefix_len};
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

std::string format_ip(const Ip16& addr) { return format_address(AF_INET6, addr.data(), true); }

std::string format_ip_port(const Ip16& addr, uint16_t port) {
  if (is_ipv4_mapped(addr)) return format_ip(addr) + ":" + std::to_string(port);
  return "[" + format_ip(addr) + "]:" + std::to_string(port);
}

}  // namespace netobs
