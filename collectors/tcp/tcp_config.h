// Settings of the tcp collector (`collectors.tcp` in netobs.yaml): the struct with
// its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct TcpConfig : CollectorSettingsOf<TcpConfig> {
  static constexpr std::string_view kSection = "tcp";

  bool rtt = true;
  bool retransmits = true;
  bool connection_tracking = true;
  uint32_t sample_rate = 1;  // 1-in-N connections
  // Optional labels on RTT and retransmissions:
  // none | local_port | remote_port | remote_cidr.
  std::string group_by = "none";
  uint32_t max_groups = 64;                     // series per metric; the rest fold into "other"
  std::vector<std::string> port_names;          // "PORT=NAME", e.g. "5432=postgres"
  std::vector<std::string> remote_cidr_groups;  // "NAME=CIDR", e.g. "office=10.0.0.0/8"
  std::string network_namespace;  // only this namespace (a path like /run/netns/x); "": all
  uint32_t max_tracked_connections = 65536;  // connections timed at once (duration histogram)
  // Connection counters per cgroup of the socket (container_id, pod_uid, unit,
  // pod, namespace, container; see the attribution section): "cgroup" or
  // "none" (the default: no per-cgroup series, no per-event cost).
  std::string attribution = "none";
  uint32_t max_cgroups = 256;  // cgroups with their own series; the rest fold into "other"

  bool operator==(const TcpConfig&) const = default;
};

// The `collectors.tcp` section: fields, ranges, checks across fields.
CollectorConfigSection tcp_config_section();

}  // namespace netobs
