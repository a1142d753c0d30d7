#include "exporter/net/network_filter_maps.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "config/config.h"
#include "exporter/errno_name.h"

namespace netobs {

Result<CidrKey> parse_cidr_key(const std::string& cidr) {
  const size_t slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  const std::string prefix = slash == std::string::npos ? "" : cidr.substr(slash + 1);
  CidrKey key;
  unsigned char v4[4] = {};
  int max_prefix = 128, offset = 0;
  if (inet_pton(AF_INET, address.c_str(), v4) == 1) {
    key.addr[10] = key.addr[11] = 0xff;
    std::memcpy(key.addr + 12, v4, 4);
    max_prefix = 32;
    offset = 96;
  } else if (inet_pton(AF_INET6, address.c_str(), key.addr) != 1) {
    return Status::error("invalid CIDR \"" + cidr + "\": not an IPv4 or IPv6 address");
  }
  char* end = nullptr;
  const long bits = prefix.empty() ? -1 : std::strtol(prefix.c_str(), &end, 10);
  if (bits < 0 || bits > max_prefix || *end != '\0') {
    return Status::error("invalid CIDR \"" + cidr + "\": prefix length must be 0.." +
                         std::to_string(max_prefix));
  }
  key.prefixlen = static_cast<uint32_t>(bits + offset);
  return key;
}

Status fill_cidr_map(bpf_map* map, const std::vector<std::string>& cidrs) {
  const uint8_t one = 1;
  for (const std::string& cidr : cidrs) {
    Result<CidrKey> key = parse_cidr_key(cidr);
    if (!key) return key.status();
    if (bpf_map__update_elem(map, &*key, sizeof(*key), &one, sizeof(one), 0) != 0) {
      return Status::error("filling the CIDR filter map failed: " + errno_message(errno));
    }
  }
  return Status::ok();
}

Status fill_port_map(bpf_map* map, const NetworkFilters& network) {
  std::map<uint32_t, uint8_t> ports;
  for (uint16_t port : network.include_ports) ports[port] |= kPortIncluded;
  for (uint16_t port : network.exclude_ports) ports[port] |= kPortExcluded;
  for (const auto& [port, bits] : ports) {
    if (bpf_map__update_elem(map, &port, sizeof(port), &bits, sizeof(bits), 0) != 0) {
      return Status::error("filling the port filter map failed: " + errno_message(errno));
    }
  }
  return Status::ok();
}

}  // namespace netobs
