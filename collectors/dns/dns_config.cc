#include "collectors/dns/dns_config.h"

#include "config/config_text.h"
#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

// The dns BPF filter compares ports against a fixed array of 8.
void check_dns_ports(ConfigChecker& checker) {
  const FieldOrigin* ports = checker.origin("collectors.dns.ports");
  if (!ports || checker.config().collector<DnsConfig>().ports.size() <= 8) return;
  checker.error(ports->mark, ports->path,
                "at most 8 DNS ports (got " +
                    std::to_string(checker.config().collector<DnsConfig>().ports.size()) +
                    "); drop some");
}

}  // namespace

CollectorConfigSection dns_config_section() {
  return {.name = "dns",
          .make_default = [] { return std::make_unique<DnsConfig>(); },
          .fields =
              {
                  {"capture_queries",
                   bind_to(boolean(), NETOBS_COLLECTOR_FIELD(DnsConfig, capture_queries))},
                  {"capture_responses",
                   bind_to(boolean(), NETOBS_COLLECTOR_FIELD(DnsConfig, capture_responses))},
                  {"capture_content",
                   bind_to(boolean(), NETOBS_COLLECTOR_FIELD(DnsConfig, capture_content))},
                  {"ports", bind_to(list_of(port(), "list at least one port (DNS uses 53)"),
                                    NETOBS_COLLECTOR_FIELD(DnsConfig, ports))},
                  {"timeout", bind_to(duration(0.001, 300),
                                      NETOBS_COLLECTOR_FIELD(DnsConfig, timeout_seconds))},
                  {"max_outstanding_queries",
                   bind_to(integer(64, 1 << 22, "max_outstanding_queries"),
                           NETOBS_COLLECTOR_FIELD(DnsConfig, max_outstanding_queries))},
                  {"server_labels",
                   bind_to(boolean(), NETOBS_COLLECTOR_FIELD(DnsConfig, server_labels))},
                  {"max_servers", bind_to(integer(1, 4096, "max_servers"),
                                          NETOBS_COLLECTOR_FIELD(DnsConfig, max_servers))},
                  {"attribution", bind_to(one_of({"none", "cgroup"}),
                                          NETOBS_COLLECTOR_FIELD(DnsConfig, attribution))},
                  {"max_cgroups", bind_to(integer(1, 65536, "max_cgroups"),
                                          NETOBS_COLLECTOR_FIELD(DnsConfig, max_cgroups))},
                  {"top_domains", bind_to(integer(0, 10000, "top_domains"),
                                          NETOBS_COLLECTOR_FIELD(DnsConfig, top_domains))},
                  {"domain_sample_rate",
                   bind_to(integer(1, 1000000, "domain_sample_rate"),
                           NETOBS_COLLECTOR_FIELD(DnsConfig, domain_sample_rate))},
              },
          .aliases = {"agent.network.dns"},
          .check = check_dns_ports};
}

}  // namespace netobs
