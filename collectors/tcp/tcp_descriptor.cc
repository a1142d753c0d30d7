// What netobs knows about the tcp collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/tcp/tcp_collector.h"
#include "collectors/tcp/tcp_config.h"
#include "collectors/tcp/conns_command.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor tcp_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(TcpCollector::kName),
      .description =
          "TCP RTT, retransmissions by kind, connection life cycle and resets (BPF), "
          "connection states (sock_diag)",
      .config = tcp_config_section(),
      .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
      .ladders = TcpCollector::ladders(),
      .factory = [] { return std::make_unique<TcpCollector>(); }};
  descriptor.subcommands = tcp_subcommands;
  return descriptor;
}

}  // namespace netobs
