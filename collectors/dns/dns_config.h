// Settings of the dns collector (`collectors.dns` in netobs.yaml): the struct with
// its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct DnsConfig : CollectorSettingsOf<DnsConfig> {
  static constexpr std::string_view kSection = "dns";

  bool capture_queries = true;
  bool capture_responses = true;
  bool capture_content = false;
  std::vector<uint16_t> ports = {53};  // at most 8
  double timeout_seconds = 5;
  uint32_t max_outstanding_queries = 16384;  // size of the in-kernel correlation map
  bool server_labels = false;                // per-server series, capped at max_servers
  uint32_t max_servers = 32;
  uint32_t top_domains = 0;           // 0: off; else the most queried names exported
  uint32_t domain_sample_rate = 100;  // 1-in-N queries parsed for top_domains
  // Responses by the cgroup of the process that sent the query (container_id,
  // pod_uid, unit, pod, namespace, container; see the attribution section):
  // "cgroup" or "none" (the default: no per-cgroup series, no cost).
  std::string attribution = "none";
  uint32_t max_cgroups = 256;  // {cgroup, rcode} series; the rest fold into "other"

  bool operator==(const DnsConfig&) const = default;
};

// The `collectors.dns` section: fields, ranges, checks across fields.
CollectorConfigSection dns_config_section();

}  // namespace netobs
