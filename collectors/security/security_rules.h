// What the security collector's kernel maps hold, computed from the config:
// the address-class entries (internal ranges and the include/exclude CIDR
// filters merged so the longest match carries every bit that applies) and
// the port bits. Pure; unit-tested without root.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exporter/net/cidr.h"
#include "exporter/status.h"

namespace netobs {

struct NetworkFilters;
struct SecurityConfig;

struct ClassEntry {
  Cidr cidr;
  uint32_t bits = 0;  // NETOBS_SEC_CLASS_*
};

struct SecurityRules {
  std::vector<ClassEntry> classes;
  bool default_excluded = false;       // include_cidrs given: peers outside them are not checked
  std::map<uint16_t, uint32_t> ports;  // peer port -> NETOBS_SEC_PORT_*
  bool default_port_excluded = false;  // include_ports given
};

// `internal`, `include`, `exclude` merged into one longest-prefix table.
std::vector<ClassEntry> merge_class_entries(const std::vector<Cidr>& internal,
                                            const std::vector<Cidr>& include,
                                            const std::vector<Cidr>& exclude);

// Everything from the security section and the global network filters; an
// error names the CIDR that does not parse.
Result<SecurityRules> build_security_rules(const SecurityConfig& config,
                                           const NetworkFilters& filters);

}  // namespace netobs
