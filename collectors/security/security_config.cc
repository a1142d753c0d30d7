#include "collectors/security/security_config.h"

#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

std::string check_webhook_url(const Value& v) {
  if (v.text.empty() || v.text.rfind("http://", 0) == 0) return "";
  return "webhook_url must start with http:// (plain HTTP; put a local TLS proxy in front for "
         "https), got \"" +
         v.text + "\"";
}

std::string check_blocklist_path(const Value& v) {
  if (!v.text.empty() && v.text.front() == '/') return "";
  return "blocklist paths must be absolute (the exporter's working directory is not fixed), got "
         "\"" +
         v.text + "\"";
}

}  // namespace

CollectorConfigSection security_config_section() {
  return {
      .name = "security",
      .make_default = [] { return std::make_unique<SecurityConfig>(); },
      .fields =
          {
              {"network_namespace",
               bind_to(with_check(text(), check_netns_path),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, network_namespace))},
              {"suspicious_ports",
               bind_to(list_of(port()), NETOBS_COLLECTOR_FIELD(SecurityConfig, suspicious_ports))},
              {"external_connection_alerts",
               bind_to(boolean(),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, external_connection_alerts))},
              {"blocklists", bind_to(list_of(with_check(text(), check_blocklist_path)),
                                     NETOBS_COLLECTOR_FIELD(SecurityConfig, blocklists))},
              {"internal_cidrs",
               bind_to(list_of(cidr()), NETOBS_COLLECTOR_FIELD(SecurityConfig, internal_cidrs))},
              {"builtin_internal_ranges",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SecurityConfig, builtin_internal_ranges))},
              {"rate_limit_interval",
               bind_to(duration(0, 86400),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, rate_limit_interval_seconds))},
              {"rate_limit_max_peers",
               bind_to(integer(16, 1 << 20, "rate_limit_max_peers"),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, rate_limit_max_peers))},
              {"stdout", bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SecurityConfig, stdout_events))},
              {"webhook_url", bind_to(with_check(text(), check_webhook_url),
                                      NETOBS_COLLECTOR_FIELD(SecurityConfig, webhook_url))},
              {"webhook_queue_size",
               bind_to(integer(1, 1 << 20, "webhook_queue_size"),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, webhook_queue_size))},
              {"webhook_max_retries",
               bind_to(integer(0, 100, "webhook_max_retries"),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, webhook_max_retries))},
              {"webhook_timeout",
               bind_to(duration(0.1, 120),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, webhook_timeout_seconds))},
              {"attribution", bind_to(one_of({"cgroup", "none"}),
                                      NETOBS_COLLECTOR_FIELD(SecurityConfig, attribution))},
              {"dns_answers",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SecurityConfig, dns_answers))},
              {"dns_port", bind_to(port(), NETOBS_COLLECTOR_FIELD(SecurityConfig, dns_port))},
              {"blocklist_check_interval",
               bind_to(duration(0.1, 3600),
                       NETOBS_COLLECTOR_FIELD(SecurityConfig, blocklist_check_interval_seconds))},
          },
      .aliases = {"agent.network.security"},
      .check = nullptr};
}

}  // namespace netobs
