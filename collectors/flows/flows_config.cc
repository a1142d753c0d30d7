#include "collectors/flows/flows_config.h"

#include "collectors/flows/flows_model.h"
#include "config/schema.h"

namespace netobs {
using namespace schema;

namespace {

std::string check_service(const Value& v) {
  Result<ServiceEntry> entry = parse_service_entry(v.text);
  return entry ? "" : entry.status().message();
}

std::string check_protocol(const Value& v) {
  Result<std::pair<uint16_t, std::string>> entry = parse_protocol_entry(v.text);
  return entry ? "" : entry.status().message();
}

}  // namespace

CollectorConfigSection flows_config_section() {
  return {
      .name = "flows",
      .make_default = [] { return std::make_unique<FlowsConfig>(); },
      .fields = {
          {"max_edges", bind_to(integer(1, 100000, "max_edges"),
                                NETOBS_COLLECTOR_FIELD(FlowsConfig, max_edges))},
          {"services", bind_to(list_of(with_check(text(), check_service)),
                               NETOBS_COLLECTOR_FIELD(FlowsConfig, services))},
          {"protocols", bind_to(list_of(with_check(text(), check_protocol)),
                                NETOBS_COLLECTOR_FIELD(FlowsConfig, protocols))},
          {"topology_window",
           bind_to(duration(1, 86400),
                   NETOBS_COLLECTOR_FIELD(FlowsConfig, topology_window_seconds))},
          {"network_namespace", bind_to(with_check(text(), check_netns_path),
                                        NETOBS_COLLECTOR_FIELD(FlowsConfig, network_namespace))},
          {"max_tracked_connections",
           bind_to(integer(1024, 4194304, "max_tracked_connections"),
                   NETOBS_COLLECTOR_FIELD(FlowsConfig, max_tracked_connections))},
          {"udp", bind_to(boolean(), NETOBS_COLLECTOR_FIELD(FlowsConfig, udp))},
          {"attribution", bind_to(one_of({"comm", "cgroup", "none"}),
                                  NETOBS_COLLECTOR_FIELD(FlowsConfig, attribution))},
      }};
}

}  // namespace netobs
