#include "collectors/socket/socket_config.h"

#include <algorithm>

#include "config/config_text.h"
#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

constexpr int kMaxCommLength = 15;  // TASK_COMM_LEN - 1

std::string check_comm(const Value& v) {
  if (v.text.empty()) return "process name (comm) must not be empty";
  if (v.text.size() > kMaxCommLength) {
    return "process name " + quote(v.text) + " is " + std::to_string(v.text.size()) +
           " characters; the kernel keeps at most 15 (TASK_COMM_LEN-1)";
  }
  return "";
}

// The socket collector keeps a per-CPU stats row per process name (~2 KiB
// each, times the CPU count), preallocated: more than 1024 costs too much.
std::string check_socket_max_processes(const Value& v) {
  if (v.integer <= 1024) return "";
  return "max_processes " + std::to_string(v.integer) +
         " is too large: the socket collector preallocates about 2 KiB per process name and "
         "CPU; use at most 1024, or per_process: false";
}

}  // namespace

SyscallTracepoints syscall_tracepoints(const Config& config, bool events_enabled) {
  if (config.collector<SocketConfig>().syscall_details) return {true, "syscall_details: true"};
  if (events_enabled) {
    return {true, "network event capture records each call's latency, MSG_* flags and UDP peer"};
  }
  if (!config.network.include_cidrs.empty() || !config.network.exclude_cidrs.empty()) {
    return {true, "include_cidrs/exclude_cidrs need the sender of unconnected UDP receives"};
  }
  return {false, "syscall_details: false"};
}

std::vector<std::string> socket_cost_notes(const Config& config) {
  const bool events = !config.events.output_dir.empty();
  const SyscallTracepoints syscalls = syscall_tracepoints(config, events);
  std::vector<std::string> notes = {
      "sock_send_length/sock_recv_length: one BPF program run per socket send and receive"};
  if (syscalls.on) {
    notes.push_back("syscall tracepoints: on (" + syscalls.reason +
                    "): every syscall on this machine takes the traced path");
  } else {
    notes.push_back(
        "syscall tracepoints: off (no MSG_* flags of sends, no operation latency; "
        "syscall_details: true adds them at a cost to every syscall on this machine)");
  }
  if (events) {
    notes.push_back("network event capture: one ring buffer record per operation (1 in " +
                    std::to_string(std::max<uint32_t>(1, config.events.sample_rate)) + ")");
  }
  return notes;
}

CollectorConfigSection socket_config_section() {
  return {
      .name = "socket",
      .make_default = [] { return std::make_unique<SocketConfig>(); },
      .fields =
          {
              {"protocols",
               bind_to(list_of(one_of({"tcp", "udp"}), "list at least one protocol: tcp, udp"),
                       NETOBS_COLLECTOR_FIELD(SocketConfig, protocols))},
              {"pids", bind_to(list_of(integer(1, 4194304, "pid")),
                               NETOBS_COLLECTOR_FIELD(SocketConfig, pids))},
              {"comms", bind_to(list_of(with_check(text(), check_comm)),
                                NETOBS_COLLECTOR_FIELD(SocketConfig, comms))},
              {"per_process",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SocketConfig, per_process))},
              {"max_processes", bind_to(with_check(integer(1, 65536), check_socket_max_processes),
                                        NETOBS_COLLECTOR_FIELD(SocketConfig, max_processes))},
              {"attribution", bind_to(one_of({"comm", "cgroup", "none"}),
                                      NETOBS_COLLECTOR_FIELD(SocketConfig, attribution))},
              {"syscall_details",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SocketConfig, syscall_details))},
          },
      .aliases = {},
      .check = nullptr};
}

}  // namespace netobs
