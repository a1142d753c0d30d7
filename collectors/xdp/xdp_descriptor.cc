// What netobs knows about the xdp collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/xdp/xdp_collector.h"
#include "collectors/xdp/xdp_config.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor xdp_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(XdpCollector::kName),
      .description =
          "Packets and bytes by protocol, TCP flags, ports, sizes and malformed "
          "packets per interface (XDP or tc-ingress observer, opt-in), top talkers "
          "from 1-in-N samples",
      .config = xdp_config_section(),
      .needs = {Requirement::kBpfPrivileges, Requirement::kNetAdmin},
      .ladders = {},
      .factory = [] { return std::make_unique<XdpCollector>(); }};
  return descriptor;
}

}  // namespace netobs
