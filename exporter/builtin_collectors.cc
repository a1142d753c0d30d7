// The one place production collectors are registered: one line each, adding
// the descriptor the collector's folder provides (collectors/README.md).
#include "collectors/dns/dns_collector.h"
#include "collectors/drops/drops_collector.h"
#include "collectors/security/security_collector.h"
#include "collectors/flows/flows_collector.h"
#include "collectors/snmp/snmp_collector.h"
#include "collectors/socket/socket_collector.h"
#include "collectors/tcp/tcp_collector.h"
#include "collectors/xdp/xdp_collector.h"
#include "exporter/builtin_config.h"
#include "exporter/collector_registry.h"
#include "exporter/log.h"

namespace netobs {

void register_builtin_collectors(CollectorRegistry& registry) {
  for (CollectorDescriptor descriptor : {
           snmp_descriptor(),
           socket_descriptor(),
           tcp_descriptor(),
           dns_descriptor(),
           xdp_descriptor(),
           drops_descriptor(),
           security_descriptor(),
           flows_descriptor(),
       }) {
    Status status = registry.add(std::move(descriptor));
    if (!status.is_ok()) log_error("collector registration failed", {{"err", status.message()}});
  }
}

}  // namespace netobs

namespace netobs {

const CollectorRegistry& builtin_registry() {
  static const CollectorRegistry kRegistry = [] {
    CollectorRegistry registry;
    register_builtin_collectors(registry);
    return registry;
  }();
  return kRegistry;
}

const CollectorConfigSections& builtin_config_sections() {
  static const CollectorConfigSections kSections = builtin_registry().config_sections();
  return kSections;
}

Config default_config() { return default_config(builtin_config_sections()); }

ConfigLoadResult load_config_string(std::string_view yaml, std::string_view source_name) {
  return load_config_string(yaml, source_name, builtin_config_sections());
}

ConfigLoadResult load_config_file(const std::string& path) {
  return load_config_file(path, builtin_config_sections());
}

ConfigLoadResult load_default_config() { return load_default_config(builtin_config_sections()); }

}  // namespace netobs
