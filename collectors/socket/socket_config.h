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
  // MSG_* flags of sends and operation latency, from the syscall
  // tracepoints (which put every syscall of the machine on the kernel's
  // slower traced path while attached).
  bool syscall_details = true;

  bool operator==(const SocketConfig&) const = default;
};

// The `collectors.socket` section: fields, ranges, checks across fields.
CollectorConfigSection socket_config_section();

}  // namespace netobs
