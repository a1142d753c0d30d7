#include "collectors/xdp/xdp_config.h"

#include "collectors/xdp/interface_selector.h"

#include "config/config_text.h"
#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

// The xdp BPF program keeps one counter slot per filters.ports entry, 64 in all.
void check_xdp_ports(ConfigChecker& checker) {
  const FieldOrigin* ports = checker.origin("collectors.xdp.filters.ports");
  if (!ports || checker.config().collector<XdpConfig>().filter_ports.size() <= 64) return;
  checker.error(ports->mark, ports->path,
                "at most 64 ports (got " +
                    std::to_string(checker.config().collector<XdpConfig>().filter_ports.size()) +
                    "); each gets its own counters in the XDP program: drop some");
}

}  // namespace

CollectorConfigSection xdp_config_section() {
  // sample_rate 0 and 1 both mean every packet; store 1.
  SchemaPtr xdp_sample_rate = integer(0, 1000000);
  xdp_sample_rate->bind = [](Config& c, const Value& v) {
    c.collector<XdpConfig>().sample_rate = v.integer == 0 ? 1 : static_cast<uint32_t>(v.integer);
  };
  return {.name = "xdp",
          .make_default = [] { return std::make_unique<XdpConfig>(); },
          .fields =
              {
                  {"sample_rate", xdp_sample_rate},
                  {"interfaces", bind_to(list_of(interface_glob()),
                                         NETOBS_COLLECTOR_FIELD(XdpConfig, interfaces))},
                  {"mode", bind_to(one_of({"auto", "native", "generic", "tc"}),
                                   NETOBS_COLLECTOR_FIELD(XdpConfig, mode))},
                  {"filters",
                   section({
                       {"ports",
                        bind_to(list_of(port()), NETOBS_COLLECTOR_FIELD(XdpConfig, filter_ports))},
                       {"protocols", bind_to(list_of(one_of({"tcp", "udp", "icmp", "icmpv6"})),
                                             NETOBS_COLLECTOR_FIELD(XdpConfig, filter_protocols))},
                   })},
                  {"top_talkers", bind_to(integer(0, 1000, "top_talkers"),
                                          NETOBS_COLLECTOR_FIELD(XdpConfig, top_talkers))},
              },
          .aliases = {"agent.network.xdp"},
          .check = check_xdp_ports};
}

InterfaceSelector xdp_interface_selector(const Config& config) {
  const XdpConfig& xdp = config.collector<XdpConfig>();
  return InterfaceSelector(xdp.interfaces.empty() ? config.network.interfaces : xdp.interfaces,
                           config.network.exclude_interfaces);
}

}  // namespace netobs
