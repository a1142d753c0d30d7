#include "exporter/net/network_filter_maps.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "config/config.h"
#include "exporter/errno_name.h"
#include "exporter/net/ip_prefix.h"

namespace netobs {

Result<CidrKey> parse_cidr_key(const std::string& cidr) {
  Result<IpPrefix> prefix = parse_ip_prefix(cidr);
  if (!prefix) return prefix.status();
  CidrKey key;
  key.prefixlen = prefix->bits;
  std::memcpy(key.addr, prefix->addr.data(), sizeof key.addr);
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
