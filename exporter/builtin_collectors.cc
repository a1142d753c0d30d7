// The one place production collectors are registered: name, description,
// what they need from the machine, their BPF program ladders, and a factory.
#include "collectors/snmp/snmp_collector.h"
#include "exporter/collector_registry.h"
#include "exporter/log.h"

namespace netobs {

void register_builtin_collectors(CollectorRegistry& registry) {
  auto add = [&registry](CollectorDescriptor descriptor) {
    Status status = registry.add(std::move(descriptor));
    if (!status.is_ok()) log_error("collector registration failed", {{"err", status.message()}});
  };
  add({.name = std::string(SnmpCollector::kName),
       .description = "System IP/TCP/UDP counters from /proc/net/{snmp,netstat,snmp6} with "
                      "rates and ratios",
       .needs = {},
       .ladders = {},
       .factory = [] { return std::make_unique<SnmpCollector>(); }});
}

}  // namespace netobs
