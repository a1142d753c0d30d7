// Pure part of the socket collector: a snapshot of the kernel maps (summed
// over CPUs) and its conversion into Prometheus families. Built by
// SocketCollector::collect_impl on an HTTP worker; unit-tested without a kernel.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bpf/socket.h"

namespace netobs {

struct SocketSnapshot {
  bool per_process = true;
  uint32_t protocol_mask = (1u << SOCKET_PROTO_TCP) | (1u << SOCKET_PROTO_UDP);
  // One entry per comm slot in use (per_process) or a single unnamed one.
  struct Process {
    std::string comm;  // label value; "other" for the fold slot, "" without per_process
    std::array<socket_stats, SOCKET_STATS_PER_SLOT> stats{};  // [proto * 2 + direction]
  };
  std::vector<Process> processes;
  // attribution: cgroup: `comm` of processes and errors is a key into this
  // map, whose labels (container_id, pod_uid, unit, ...) replace comm.
  std::map<std::string, std::map<std::string, std::string>> owner_labels;
  struct Error {
    std::string comm;
    uint32_t proto = 0;
    uint32_t direction = 0;
    uint32_t err = 0;
    uint64_t count = 0;
  };
  std::vector<Error> errors;
  std::array<uint64_t, SOCKET_CTR_COUNT> counters{};
  uint64_t events_written = 0;
  uint64_t event_write_errors = 0;
  bool events_enabled = false;
  // Without the syscall tracepoints there is no latency and no send flags:
  // those series are left out rather than shown as zeros.
  bool syscall_tracepoints = true;
};

// Appends netobs_socket_* families (and netobs_series_dropped_total for the
// folded process names). Series that will exist are emitted with value 0.
void append_socket_metrics(const SocketSnapshot& snapshot,
                           std::vector<prometheus::MetricFamily>& out);

// Metric names, documented in collectors/socket/README.md.
inline constexpr char kSocketCallsMetric[] = "netobs_socket_calls_total";
inline constexpr char kSocketBytesMetric[] = "netobs_socket_bytes_total";
inline constexpr char kSocketErrorsMetric[] = "netobs_socket_errors_total";
inline constexpr char kSocketFlagsMetric[] = "netobs_socket_msg_flags_total";
inline constexpr char kSocketSizeMetric[] = "netobs_socket_message_size_bytes";
inline constexpr char kSocketLatencyMetric[] = "netobs_socket_operation_duration_seconds";

}  // namespace netobs
