// Settings of the socket collector (`collectors.socket` in netobs.yaml): the struct with
// its defaults, and the section the config loader validates it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

struct SocketConfig : CollectorSettingsOf<SocketConfig> {
  static constexpr std::string_view kSection = "socket";

  std::vector<std::string> protocols = {"tcp", "udp"};
  std::vector<uint32_t> pids;
  std::vector<std::string> comms;
  bool per_process = true;
  uint32_t max_processes = 64;
  // The per-process label: "comm", "cgroup" (container_id, pod_uid, unit,
  // pod, namespace, container; see the attribution section) or "none".
  // per_process: false is "none".
  std::string attribution = "comm";
  // MSG_* flags of sends and operation latency, from the syscall
  // tracepoints (which put every syscall of the machine on the kernel's
  // slower traced path while attached). Off by default; see
  // syscall_tracepoints() for what turns them on anyway.
  bool syscall_details = false;

  bool operator==(const SocketConfig&) const = default;
};

// Whether the socket collector attaches the send/recv syscall tracepoints,
// and why. They are on when `syscall_details: true`, or when something
// that is exact only with them is on: network event capture (each row has
// the latency and the MSG_* flags of the call, and the peer of unconnected
// UDP), or network.include_cidrs / exclude_cidrs (the peer of an unconnected
// UDP receive is known only at syscall exit). One rule for the collector,
// `netobs check` and the landing page.
struct SyscallTracepoints {
  bool on = false;
  std::string reason;  // the setting that decided it
};
SyscallTracepoints syscall_tracepoints(const Config& config, bool events_enabled);

// What the socket collector's configuration costs, one line per item, for
// `netobs check` and the landing page.
std::vector<std::string> socket_cost_notes(const Config& config);

// The `collectors.socket` section: fields, ranges, checks across fields.
CollectorConfigSection socket_config_section();

}  // namespace netobs
