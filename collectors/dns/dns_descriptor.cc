// What netobs knows about the dns collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_trace.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor dns_descriptor() {
  CollectorDescriptor descriptor{
      .name = std::string(DnsCollector::kName),
      .description =
          "DNS queries, responses, latency by type and response code, unanswered "
          "queries (BPF on tc ingress/egress, packet-socket filter fallback), DNS "
          "events",
      .config = dns_config_section(),
      .needs = {Requirement::kBpfPrivileges, Requirement::kNetAdmin, Requirement::kNetRaw},
      .ladders = {DnsCollector::process_ladder()},
      .factory = [] { return std::make_unique<DnsCollector>(); }};
  descriptor.trace_source = dns_trace_source();
  return descriptor;
}

}  // namespace netobs
