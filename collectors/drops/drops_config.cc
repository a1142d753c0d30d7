#include "collectors/drops/drops_config.h"

#include "config/schema.h"

namespace netobs {
using namespace schema;

CollectorConfigSection drops_config_section() {
  return {
      .name = "drops",
      .make_default = [] { return std::make_unique<DropsConfig>(); },
      .fields = {
          {"network_namespace", bind_to(with_check(text(), check_netns_path),
                                        NETOBS_COLLECTOR_FIELD(DropsConfig, network_namespace))},
          {"max_entries", bind_to(integer(256, 1048576, "max_entries"),
                                  NETOBS_COLLECTOR_FIELD(DropsConfig, max_entries))},
          {"local_port_labels",
           bind_to(boolean(), NETOBS_COLLECTOR_FIELD(DropsConfig, local_port_labels))},
          {"max_local_ports", bind_to(integer(1, 4096, "max_local_ports"),
                                      NETOBS_COLLECTOR_FIELD(DropsConfig, max_local_ports))},
          {"attribution",
           bind_to(one_of({"none", "cgroup"}), NETOBS_COLLECTOR_FIELD(DropsConfig, attribution))},
          {"max_cgroups", bind_to(integer(1, 65536, "max_cgroups"),
                                  NETOBS_COLLECTOR_FIELD(DropsConfig, max_cgroups))},
      }};
}

}  // namespace netobs
