// Settings of the drops collector (`collectors.drops` in netobs.yaml): the
// struct with its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct DropsConfig : CollectorSettingsOf<DropsConfig> {
  static constexpr std::string_view kSection = "drops";

  // Only drops in this namespace (a path like /run/netns/x); "": every namespace.
  std::string network_namespace;
  // Distinct {reason, namespace, interface, protocol} keys held in the kernel
  // (slots); beyond it drops are still counted, by reason only (interface "other").
  uint32_t max_entries = 10240;
  // Label netobs_drops_total with the local port (the socket's, else the
  // packet's destination port); at most max_local_ports ports get their own
  // series, the rest fold into local_port="other".
  bool local_port_labels = false;
  uint32_t max_local_ports = 64;
  // netobs_drops_cgroup_total: drops of packets whose socket is known, by the
  // cgroup of the socket (container_id, pod_uid, unit, pod, namespace,
  // container; see the attribution section): "cgroup" or "none" (the default:
  // no such series, no per-event cost). Drops run in softirq context, so the
  // current task (comm) says nothing about who owns the packet: no "comm".
  std::string attribution = "none";
  // {cgroup, reason, protocol} entries held in the kernel; beyond it the
  // drops fold into the series whose attribution labels are all "other".
  uint32_t max_cgroups = 256;

  bool operator==(const DropsConfig&) const = default;
};

// The `collectors.drops` section: fields and ranges.
CollectorConfigSection drops_config_section();

}  // namespace netobs
