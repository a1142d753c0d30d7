#include "collectors/dns/dns_trace.h"

#include <string>
#include <utility>

#include "bpf/dns.h"
#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_events.h"

namespace netobs {

const EventSchema& dns_trace_schema() { return dns_event_schema(); }

Status configure_dns_trace(Config& config, const std::vector<uint16_t>& ports) {
  if (ports.size() > DNS_MAX_PORTS) {
    return Status::error("--port: the dns collector watches at most " +
                         std::to_string(DNS_MAX_PORTS) + " ports (got " +
                         std::to_string(ports.size()) + ")");
  }
  for (uint16_t port : ports) {
    if (port == 0) return Status::error("--port: 0 is not a port (use 1..65535)");
  }
  config.collector<DnsConfig>().common.enabled = true;
  if (!ports.empty()) config.collector<DnsConfig>().ports = ports;
  config.collector<DnsConfig>().server_labels = false;
  config.collector<DnsConfig>().top_domains = 0;
  return Status::ok();
}

std::unique_ptr<Collector> make_dns_trace_collector(std::shared_ptr<EventSink> sink) {
  DnsCollector::Options options;
  options.event_sink = std::move(sink);
  return std::make_unique<DnsCollector>(std::move(options));
}

TraceSource dns_trace_source() {
  return {"dns", dns_trace_schema,
          [](Config& config, const TraceOptions& options) {
            return configure_dns_trace(config, options.ports);
          },
          make_dns_trace_collector};
}

}  // namespace netobs
