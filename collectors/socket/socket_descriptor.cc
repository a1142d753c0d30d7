// What netobs knows about the socket collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/socket/socket_collector.h"
#include "collectors/socket/socket_config.h"
#include "collectors/socket/trace_command.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor socket_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(SocketCollector::kName),
      .description =
          "TCP/UDP send and receive bytes, calls, errors, latency and MSG_* flags "
          "(BPF), and the per-event network capture",
      .config = socket_config_section(),
      .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
      .ladders = SocketCollector::tracepoint_ladders(),
      .factory = [] { return std::make_unique<SocketCollector>(); }};
  descriptor.subcommands = socket_subcommands;
  descriptor.trace_source = socket_trace_source();
  descriptor.cost_notes = socket_cost_notes;
  return descriptor;
}

}  // namespace netobs
