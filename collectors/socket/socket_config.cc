#include "collectors/socket/socket_config.h"

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
              {"syscall_details",
               bind_to(boolean(), NETOBS_COLLECTOR_FIELD(SocketConfig, syscall_details))},
          },
      .aliases = {},
      .check = nullptr};
}

}  // namespace netobs
