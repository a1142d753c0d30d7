#include "collectors/security/security_rules.h"

#include "bpf/security.h"
#include "collectors/security/security_config.h"
#include "config/config.h"

namespace netobs {
namespace {

bool covers(const Cidr& outer, const Cidr& inner) {
  return outer.family == inner.family && outer.prefix_len <= inner.prefix_len &&
         outer.contains(inner.family, inner.bytes.data());
}

Result<std::vector<Cidr>> parse_all(const std::vector<std::string>& texts, const std::string& key) {
  std::vector<Cidr> out;
  for (const std::string& text : texts) {
    Result<Cidr> cidr = parse_cidr(text);
    if (!cidr) return Status::error(key + ": " + cidr.status().message());
    out.push_back(*cidr);
  }
  return out;
}

}  // namespace

std::vector<ClassEntry> merge_class_entries(const std::vector<Cidr>& internal,
                                            const std::vector<Cidr>& include,
                                            const std::vector<Cidr>& exclude) {
  std::vector<Cidr> prefixes;
  for (const auto* list : {&internal, &include, &exclude}) {
    for (const Cidr& cidr : *list) {
      bool seen = false;
      for (const Cidr& p : prefixes) seen = seen || p == cidr;
      if (!seen) prefixes.push_back(cidr);
    }
  }
  const bool default_excluded = !include.empty();
  std::vector<ClassEntry> out;
  for (const Cidr& p : prefixes) {
    ClassEntry entry{.cidr = p};
    for (const Cidr& range : internal) {
      if (covers(range, p)) entry.bits |= NETOBS_SEC_CLASS_INTERNAL;
    }
    // The longest filter covering p decides; an exclude wins a tie.
    int best = -1;
    bool excluded = default_excluded;
    for (const Cidr& range : include) {
      if (covers(range, p) && range.prefix_len > best) {
        best = range.prefix_len;
        excluded = false;
      }
    }
    for (const Cidr& range : exclude) {
      if (covers(range, p) && range.prefix_len >= best) {
        best = range.prefix_len;
        excluded = true;
      }
    }
    if (excluded) entry.bits |= NETOBS_SEC_CLASS_EXCLUDED;
    out.push_back(entry);
  }
  return out;
}

Result<SecurityRules> build_security_rules(const SecurityConfig& config,
                                           const NetworkFilters& filters) {
  SecurityRules rules;
  auto internal = parse_all(config.internal_cidrs, "internal_cidrs");
  if (!internal) return internal.status();
  if (config.builtin_internal_ranges) {
    const std::vector<Cidr>& builtin = non_external_ranges();
    internal->insert(internal->end(), builtin.begin(), builtin.end());
  }
  auto include = parse_all(filters.include_cidrs, "network.include_cidrs");
  if (!include) return include.status();
  auto exclude = parse_all(filters.exclude_cidrs, "network.exclude_cidrs");
  if (!exclude) return exclude.status();
  rules.classes = merge_class_entries(*internal, *include, *exclude);
  rules.default_excluded = !include->empty();

  for (uint16_t port : config.suspicious_ports) rules.ports[port] |= NETOBS_SEC_PORT_SUSPICIOUS;
  rules.default_port_excluded = !filters.include_ports.empty();
  if (rules.default_port_excluded) {
    for (auto& [port, bits] : rules.ports) bits |= NETOBS_SEC_PORT_EXCLUDED;
    for (uint16_t port : filters.include_ports) rules.ports[port] &= ~NETOBS_SEC_PORT_EXCLUDED;
  }
  for (uint16_t port : filters.exclude_ports) rules.ports[port] |= NETOBS_SEC_PORT_EXCLUDED;
  return rules;
}

}  // namespace netobs
