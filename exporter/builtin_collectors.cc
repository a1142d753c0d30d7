// The one place production collectors are registered: name, description,
// what they need from the machine, their BPF program ladders, and a factory.
#include "collectors/dns/dns_collector.h"
#include "collectors/snmp/snmp_collector.h"
#include "collectors/socket/socket_collector.h"
#include "collectors/tcp/tcp_collector.h"
#include "collectors/xdp/xdp_collector.h"
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
  add({.name = std::string(DnsCollector::kName),
       .description = "DNS queries, responses, latency by type and response code, unanswered "
                      "queries (BPF on tc ingress/egress, packet-socket filter fallback), DNS "
                      "events",
       .needs = {Requirement::kBpfPrivileges, Requirement::kNetAdmin, Requirement::kNetRaw},
       .ladders = {DnsCollector::process_ladder()},
       .factory = [] { return std::make_unique<DnsCollector>(); }});
  add({.name = std::string(SocketCollector::kName),
       .description = "TCP/UDP send and receive bytes, calls, errors, latency and MSG_* flags "
                      "(BPF), and the per-event network capture",
       .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
       .ladders = SocketCollector::tracepoint_ladders(),
       .factory = [] { return std::make_unique<SocketCollector>(); }});
  add({.name = std::string(TcpCollector::kName),
       .description = "TCP RTT, retransmissions by kind, connection life cycle and resets (BPF), "
                      "connection states (sock_diag)",
       .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
       .ladders = TcpCollector::ladders(),
       .factory = [] { return std::make_unique<TcpCollector>(); }});
  add({.name = std::string(XdpCollector::kName),
       .description = "Packets and bytes by protocol, TCP flags, ports, sizes and malformed "
                      "packets per interface (XDP or tc-ingress observer, opt-in), top talkers "
                      "from 1-in-N samples",
       .needs = {Requirement::kBpfPrivileges, Requirement::kNetAdmin},
       .ladders = {},
       .factory = [] { return std::make_unique<XdpCollector>(); }});
}

}  // namespace netobs
