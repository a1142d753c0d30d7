// Settings of the security collector (`collectors.security` in netobs.yaml,
// also `agent.network.security`): the struct with its defaults, and the
// section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct SecurityConfig : CollectorSettingsOf<SecurityConfig> {
  static constexpr std::string_view kSection = "security";

  SecurityConfig() { common.enabled = false; }

  // Only connections in this namespace (a path like /run/netns/x); "": every namespace.
  std::string network_namespace;
  // Outbound connections to these peer ports are detections.
  std::vector<uint16_t> suspicious_ports;
  // Connections to or from addresses outside the internal ranges are detections.
  bool external_connection_alerts = false;
  // Files of IPs and CIDRs, one per line, '#' comments; re-read on SIGHUP
  // and when they change.
  std::vector<std::string> blocklists;
  // More internal networks (besides the built-in private, loopback,
  // link-local, CGNAT and documentation ranges when builtin_internal_ranges).
  std::vector<std::string> internal_cidrs;
  bool builtin_internal_ranges = true;
  // At most one event per (detection type, peer address) per interval; the
  // rest are counted and the next event reports how many were suppressed.
  double rate_limit_interval_seconds = 60;
  uint32_t rate_limit_max_peers = 4096;  // (type, peer) pairs remembered
  // Events also as JSON lines on standard output.
  bool stdout_events = false;
  // Events POSTed as JSON to this http:// URL ("" off).
  std::string webhook_url;
  uint32_t webhook_queue_size = 1024;
  uint32_t webhook_max_retries = 3;
  double webhook_timeout_seconds = 5;
  // DNS responses (UDP, from dns_port) received in the namespace are
  // checked too: an A/AAAA answer on a blocklist is a dns_blocklist detection.
  bool dns_answers = true;
  // "cgroup": alerts of a known process carry its container and pod
  // (container.id, k8s.pod.uid, k8s.pod.name, k8s.namespace.name...) from
  // the shared attribution (top-level `attribution:` for pod names);
  // "none": only netobs.cgroup.id.
  std::string attribution = "cgroup";
  uint16_t dns_port = 53;
  // How often the blocklist files are checked for changes.
  double blocklist_check_interval_seconds = 2;

  bool operator==(const SecurityConfig&) const = default;
};

// The `collectors.security` section: fields, ranges, checks across fields.
CollectorConfigSection security_config_section();

}  // namespace netobs
