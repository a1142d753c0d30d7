// What a config needs from systemd when netobs runs as an unprivileged user:
// the Linux capabilities of its enabled collectors (each with the collectors
// that need it, from CollectorDescriptor::needs), what no capability can
// grant, and the netobs.service drop-in. Pure: reads the config and the
// registry, not the machine. Used by `netobs check --systemd`.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/collector_registry.h"

namespace netobs {

struct CapabilityNeed {
  std::string name;                    // "CAP_BPF"
  std::string why;                     // what netobs does with it
  std::vector<std::string> needed_by;  // collector names, registry order
};

struct ServicePlan {
  std::vector<std::string> enabled_collectors;
  std::vector<CapabilityNeed>
      capabilities;  // CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW, CAP_DAC_READ_SEARCH
  std::vector<std::string> read_write_paths;  // outside the unit's StateDirectory
  std::vector<std::string> notes;             // what the drop-in cannot fix, with the fix
};

// The directory the packaged unit makes writable (StateDirectory=netobs).
inline constexpr std::string_view kServiceStateDir = "/var/lib/netobs";

ServicePlan plan_service(const Config& config, const CollectorRegistry& registry);

// "CAP_BPF CAP_PERFMON ..." in plan order; empty when none is needed.
std::string capability_list(const ServicePlan& plan);

// A drop-in for netobs.service that grants exactly the plan's capabilities.
std::string render_systemd_dropin(const ServicePlan& plan);

// The report `netobs check --systemd` prints: capabilities, notes, drop-in.
std::string format_service_plan(const ServicePlan& plan);

}  // namespace netobs
