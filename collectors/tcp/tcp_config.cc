#include "collectors/tcp/tcp_config.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "config/config_text.h"
#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

// tcp collector: "PORT=NAME" entries of port_names and "NAME=CIDR" entries of
// remote_cidr_groups. Names become label values: keep them short and plain.
std::string check_tcp_label_name(const std::string& name, const std::string& entry) {
  const bool plain =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
  if (plain) return "";
  return "invalid name in " + quote(entry) +
         ": use 1..64 letters, digits, '_', '-' or '.' (it becomes a label value)";
}

std::string check_tcp_port_name(const Value& v) {
  const size_t eq = v.text.find('=');
  const std::string port_text = v.text.substr(0, eq);
  const bool digits =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (eq == std::string::npos || !digits || std::stoi(port_text) < 1 ||
      std::stoi(port_text) > 65535) {
    return "invalid port name " + quote(v.text) + ": write \"PORT=NAME\", e.g. \"5432=postgres\"";
  }
  return check_tcp_label_name(v.text.substr(eq + 1), v.text);
}

std::string check_tcp_cidr_group(const Value& v) {
  const size_t eq = v.text.find('=');
  if (eq == std::string::npos) {
    return "invalid CIDR group " + quote(v.text) +
           ": write \"NAME=CIDR\", e.g. \"office=10.1.0.0/16\" (repeat a name for more networks)";
  }
  if (std::string message = check_tcp_label_name(v.text.substr(0, eq), v.text); !message.empty()) {
    return message;
  }
  Value cidr_value = v;
  cidr_value.text = v.text.substr(eq + 1);
  return check_cidr(cidr_value);
}

// tcp grouping: one name per port, remote_cidr needs groups, and the groups
// (plus "unmatched") must fit under max_groups and the 256-entry LPM map.
void check_tcp_grouping(ConfigChecker& checker) {
  const TcpConfig& tcp = checker.config().collector<TcpConfig>();
  if (const FieldOrigin* names = checker.origin("collectors.tcp.port_names")) {
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < tcp.port_names.size() && i < names->item_marks.size(); ++i) {
      const std::string port = tcp.port_names[i].substr(0, tcp.port_names[i].find('='));
      if (auto [it, inserted] = seen.emplace(port, i); !inserted) {
        checker.error(names->item_marks[i], names->path + "[" + std::to_string(i) + "]",
                      "port " + port + " is already named at " +
                          position(names->item_marks[it->second]) + "; give each port one name");
      }
    }
  }
  const FieldOrigin* groups = checker.origin("collectors.tcp.remote_cidr_groups");
  std::set<std::string> group_names;
  for (const std::string& entry : tcp.remote_cidr_groups) {
    group_names.insert(entry.substr(0, entry.find('=')));
  }
  if (groups && tcp.remote_cidr_groups.size() > 256) {
    checker.error(
        groups->mark, groups->path,
        "at most 256 networks (got " + std::to_string(tcp.remote_cidr_groups.size()) + ")");
  }
  if (groups && group_names.size() + 1 > tcp.max_groups) {
    checker.error(groups->mark, groups->path,
                  std::to_string(group_names.size()) +
                      " group names plus \"unmatched\" exceed max_groups " +
                      std::to_string(tcp.max_groups) + "; raise collectors.tcp.max_groups");
  }
  if (tcp.group_by == "remote_cidr" && tcp.remote_cidr_groups.empty() &&
      !checker.failed("collectors.tcp.remote_cidr_groups")) {
    const FieldOrigin* group_by = checker.origin("collectors.tcp.group_by");
    checker.error(group_by ? group_by->mark : YAML::Mark::null_mark(),
                  group_by ? group_by->path : "collectors.tcp.group_by",
                  "group_by remote_cidr needs collectors.tcp.remote_cidr_groups, e.g. "
                  "[\"office=10.1.0.0/16\"]");
  }
}

}  // namespace

CollectorConfigSection tcp_config_section() {
  return {
      .name = "tcp",
      .make_default = [] { return std::make_unique<TcpConfig>(); },
      .fields =
          {
              {"rtt", bind_to(boolean(), NETOBS_COLLECTOR_FIELD(TcpConfig, rtt))},
              {"retransmits", bind_to(boolean(), NETOBS_COLLECTOR_FIELD(TcpConfig, retransmits))},
              {"connection_tracking",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(TcpConfig, connection_tracking))},
              {"sample_rate",
               bind_to(integer(1, 1000000), NETOBS_COLLECTOR_FIELD(TcpConfig, sample_rate))},
              {"group_by", bind_to(one_of({"none", "local_port", "remote_port", "remote_cidr"}),
                                   NETOBS_COLLECTOR_FIELD(TcpConfig, group_by))},
              {"max_groups", bind_to(integer(1, 4096, "max_groups"),
                                     NETOBS_COLLECTOR_FIELD(TcpConfig, max_groups))},
              {"port_names", bind_to(list_of(with_check(text(), check_tcp_port_name)),
                                     NETOBS_COLLECTOR_FIELD(TcpConfig, port_names))},
              {"remote_cidr_groups",
               bind_to(list_of(with_check(text(), check_tcp_cidr_group)),
                       NETOBS_COLLECTOR_FIELD(TcpConfig, remote_cidr_groups))},
              {"network_namespace", bind_to(with_check(text(), check_netns_path),
                                            NETOBS_COLLECTOR_FIELD(TcpConfig, network_namespace))},
              {"max_tracked_connections",
               bind_to(integer(1024, 4194304, "max_tracked_connections"),
                       NETOBS_COLLECTOR_FIELD(TcpConfig, max_tracked_connections))},
              {"attribution",
               bind_to(one_of({"none", "cgroup"}), NETOBS_COLLECTOR_FIELD(TcpConfig, attribution))},
              {"max_cgroups", bind_to(integer(1, 65536, "max_cgroups"),
                                      NETOBS_COLLECTOR_FIELD(TcpConfig, max_cgroups))},
          },
      .aliases = {"agent.network.tcp"},
      .check = check_tcp_grouping};
}

}  // namespace netobs
