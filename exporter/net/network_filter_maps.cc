#include "exporter/net/network_filter_maps.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

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

void size_network_filter_maps(const NetworkFilterMaps& maps, const NetworkFilters& network) {
  const auto at_least_one = [](size_t n) { return static_cast<uint32_t>(std::max<size_t>(1, n)); };
  const bool ports = !network.include_ports.empty() || !network.exclude_ports.empty();
  bpf_map__set_max_entries(maps.include_cidrs, at_least_one(network.include_cidrs.size()));
  bpf_map__set_max_entries(maps.exclude_cidrs, at_least_one(network.exclude_cidrs.size()));
  bpf_map__set_max_entries(maps.port_filter, ports ? 65536 : 1);
}

Status fill_network_filter_maps(const NetworkFilterMaps& maps, const NetworkFilters& network) {
  if (Status in = fill_cidr_map(maps.include_cidrs, network.include_cidrs); !in) return in;
  if (Status ex = fill_cidr_map(maps.exclude_cidrs, network.exclude_cidrs); !ex) return ex;
  if (network.include_ports.empty() && network.exclude_ports.empty()) return Status::ok();
  return fill_port_map(maps.port_filter, network);
}

}  // namespace netobs
