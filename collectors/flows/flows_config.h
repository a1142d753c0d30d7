// Settings of the flows collector (`collectors.flows` in netobs.yaml): the
// struct with its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct FlowsConfig : CollectorSettingsOf<FlowsConfig> {
  static constexpr std::string_view kSection = "flows";

  FlowsConfig() { common.enabled = false; }

  // Edges (client -> server) held in the kernel, each a set of series;
  // connections of edges beyond it are counted under client/server "other".
  uint32_t max_edges = 300;
  // "NAME=ADDRESS", "NAME=CIDR" or "NAME=ADDRESS:PORT": remote ends that
  // match are shown as the service NAME (longest match wins).
  std::vector<std::string> services;
  // "PORT=NAME" entries added to (or replacing) the built-in port -> protocol table.
  std::vector<std::string> protocols;
  // The window /topology and `netobs topology` compute rates over.
  double topology_window_seconds = 60;
  // Only connections in this namespace (a path like /run/netns/x); "": every namespace.
  std::string network_namespace;
  // Connections tracked at once (socket -> edge); beyond it the oldest are forgotten.
  uint32_t max_tracked_connections = 65536;
  // UDP "connections" (5-tuples where a reply was seen) as edges too, from
  // cgroup_skb programs on the cgroup2 root (every datagram of local sockets).
  bool udp = true;
  // Who a local client is: "comm" (the process name), "cgroup" (comm plus
  // the cgroup's container/pod/unit labels, see the attribution section) or
  // "none" (client="local").
  std::string attribution = "comm";

  bool operator==(const FlowsConfig&) const = default;
};

// The `collectors.flows` section: fields, ranges, entry syntax.
CollectorConfigSection flows_config_section();

}  // namespace netobs
