// What netobs knows about the snmp collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/snmp/snmp_collector.h"
#include "collectors/snmp/snmp_config.h"
#include "collectors/snmp/stats_command.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor snmp_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(SnmpCollector::kName),
      .description =
          "System IP/TCP/UDP counters from /proc/net/{snmp,netstat,snmp6} with "
          "rates and ratios",
      .config = snmp_config_section(),
      .needs = {},
      .ladders = {},
      .factory = [] { return std::make_unique<SnmpCollector>(); }};
  // The sampler reads /proc only: the shared BPF filters do not concern it.
  descriptor.restart_needed = [](const Config& before, const Config& after) {
    return !before.collector<SnmpConfig>().equals(after.collector<SnmpConfig>()) ||
           before.exporter.procfs != after.exporter.procfs;
  };
  descriptor.subcommands = snmp_subcommands;
  return descriptor;
}

}  // namespace netobs
