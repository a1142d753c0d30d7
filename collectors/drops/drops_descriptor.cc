// What netobs knows about the drops collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/drops/drops_collector.h"
#include "collectors/drops/drops_command.h"
#include "collectors/drops/drops_config.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor drops_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(DropsCollector::kName),
      .description =
          "Packets the kernel drops, by its drop reason (names from the kernel's BTF), "
          "interface and protocol (skb:kfree_skb)",
      .config = drops_config_section(),
      .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
      .ladders = DropsCollector::ladders(),
      .factory = [] { return std::make_unique<DropsCollector>(); }};
  descriptor.subcommands = drops_subcommands;
  return descriptor;
}

}  // namespace netobs
