// What netobs knows about the flows collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/flows/flows_collector.h"
#include "collectors/flows/flows_command.h"
#include "collectors/flows/flows_config.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor flows_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(FlowsCollector::kName),
      .description =
          "TCP connections and UDP flows as edges client -> server with counts, "
          "bytes, retransmissions and RTT; the service topology at /topology "
          "(sock:inet_sock_set_state, TCP reset tracepoints, cgroup_skb for UDP)",
      .config = flows_config_section(),
      // CAP_NET_ADMIN: the UDP programs are cgroup_skb (collectors.flows.udp).
      .needs = {Requirement::kBtf, Requirement::kBpfPrivileges, Requirement::kNetAdmin},
      .ladders = FlowsCollector::ladders(),
      .factory = [] { return std::make_unique<FlowsCollector>(); }};
  descriptor.subcommands = flows_subcommands;
  descriptor.json_endpoints = {std::string(FlowsCollector::kTopologyPath)};
  return descriptor;
}

}  // namespace netobs
