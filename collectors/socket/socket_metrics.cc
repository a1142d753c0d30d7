#include "collectors/socket/socket_metrics.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "collectors/socket/socket_format.h"
#include "exporter/metric_builder.h"

namespace netobs {
namespace {

using prometheus::MetricType;

Labels with_comm(const SocketSnapshot& snapshot, const std::string& comm, Labels labels) {
  if (!snapshot.per_process) return labels;
  if (snapshot.owner_labels.empty()) {
    labels["comm"] = comm;
    return labels;
  }
  if (auto owner = snapshot.owner_labels.find(comm); owner != snapshot.owner_labels.end()) {
    for (const auto& [name, value] : owner->second) labels[name] = value;
  }
  return labels;
}

std::vector<uint32_t> enabled_protocols(const SocketSnapshot& snapshot) {
  std::vector<uint32_t> protos;
  for (uint32_t p = 0; p < SOCKET_PROTO_COUNT; ++p) {
    if (snapshot.protocol_mask & (1u << p)) protos.push_back(p);
  }
  return protos;
}

uint64_t calls_of(const socket_stats& s) { return s.calls[0] + s.calls[1]; }

// Size buckets: slot k holds (2^(k-1), 2^k] bytes, so le = 2^k; the last
// slot is the +Inf overflow.
const std::vector<double>& size_bounds() {
  static const std::vector<double> kBounds = log2_upper_bounds(SOCKET_SIZE_SLOTS - 1, 1.0);
  return kBounds;
}

// Latency buckets: slot k holds (2^(k+9), 2^(k+10)] ns, so le = 2^(k+10) ns
// in seconds; the last slot is +Inf.
const std::vector<double>& latency_bounds() {
  static const std::vector<double> kBounds = [] {
    std::vector<double> bounds = log2_upper_bounds(SOCKET_LAT_SLOTS - 1, 1e-9);
    for (double& b : bounds) b *= static_cast<double>(1u << SOCKET_LAT_FIRST_SHIFT);
    return bounds;
  }();
  return kBounds;
}

}  // namespace

void append_socket_metrics(const SocketSnapshot& snapshot,
                           std::vector<prometheus::MetricFamily>& out) {
  const std::vector<uint32_t> protos = enabled_protocols(snapshot);
  FamilyBuilder calls(kSocketCallsMetric,
                      "Socket send and receive operations on TCP and UDP sockets, failed ones "
                      "included (one per message for sendmmsg/recvmmsg).",
                      MetricType::Counter);
  FamilyBuilder bytes(kSocketBytesMetric,
                      "Bytes moved by successful socket sends and receives (MSG_PEEK receives "
                      "move none: the data is read again later).",
                      MetricType::Counter);
  FamilyBuilder errors(kSocketErrorsMetric, "Socket sends and receives that failed, by errno name.",
                       MetricType::Counter);
  FamilyBuilder flags(kSocketFlagsMetric, "Socket sends and receives that carried each MSG_* flag.",
                      MetricType::Counter);
  FamilyBuilder sizes(kSocketSizeMetric, "Bytes returned by successful socket sends and receives.",
                      MetricType::Histogram);
  FamilyBuilder latency(kSocketLatencyMetric,
                        "Time from the send/receive syscall's entry to the protocol's return "
                        "(operations made through sendto/sendmsg/sendmmsg/recvfrom/recvmsg/"
                        "recvmmsg).",
                        MetricType::Histogram);

  // Errors by (comm, proto, direction); every common errno present with 0.
  std::map<std::tuple<std::string, uint32_t, uint32_t>, std::map<uint32_t, uint64_t>> error_counts;
  for (const auto& process : snapshot.processes) {
    for (uint32_t proto : protos) {
      for (uint32_t dir = 0; dir < SOCKET_DIR_COUNT; ++dir) {
        auto& by_errno = error_counts[{process.comm, proto, dir}];
        for (uint32_t err : kCommonErrnos) by_errno.emplace(err, 0);
      }
    }
  }
  for (const auto& error : snapshot.errors) {
    if (error.proto >= SOCKET_PROTO_COUNT || error.direction >= SOCKET_DIR_COUNT) continue;
    error_counts[{error.comm, error.proto, error.direction}][error.err] += error.count;
  }
  // Two errnos can share a name only for unknown values ("E<n>" is unique), so
  // names are unique per series; merge defensively anyway.
  for (const auto& [key, by_errno] : error_counts) {
    const auto& [comm, proto, dir] = key;
    std::map<std::string, uint64_t> by_name;
    for (const auto& [err, n] : by_errno) by_name[errno_name(err)] += n;
    for (const auto& [name, n] : by_name) {
      errors.counter(with_comm(snapshot, comm,
                               {{"protocol", std::string(socket_protocol_name(proto))},
                                {"direction", std::string(socket_direction_name(dir))},
                                {"error", name}}),
                     static_cast<double>(n));
    }
  }

  for (const auto& process : snapshot.processes) {
    std::array<std::array<uint64_t, SOCKET_FLAG_COUNT>, SOCKET_DIR_COUNT> flag_counts{};
    for (uint32_t proto : protos) {
      for (uint32_t dir = 0; dir < SOCKET_DIR_COUNT; ++dir) {
        const socket_stats& s = process.stats[proto * SOCKET_DIR_COUNT + dir];
        const std::string protocol(socket_protocol_name(proto));
        const std::string direction(socket_direction_name(dir));
        for (uint32_t v = 0; v < SOCKET_IPVER_COUNT; ++v) {
          Labels labels = with_comm(snapshot, process.comm,
                                    {{"protocol", protocol},
                                     {"direction", direction},
                                     {"ip_version", v == SOCKET_IPV4 ? "4" : "6"}});
          calls.counter(labels, static_cast<double>(s.calls[v]));
          bytes.counter(labels, static_cast<double>(s.bytes[v]));
        }
        for (uint32_t f = 0; f < SOCKET_FLAG_COUNT; ++f) flag_counts[dir][f] += s.flags[f];
        // Histograms per process only once that process used this pair
        // (each is ~55 series); without per_process always.
        if (snapshot.per_process && calls_of(s) == 0) continue;
        Labels labels =
            with_comm(snapshot, process.comm, {{"protocol", protocol}, {"direction", direction}});
        std::vector<uint64_t> size_counts(s.size_slots, s.size_slots + SOCKET_SIZE_SLOTS);
        sizes.histogram(labels, size_bounds(), size_counts, static_cast<double>(s.size_sum));
        if (!snapshot.syscall_tracepoints) continue;  // no latency without them
        std::vector<uint64_t> lat_counts(s.lat_slots, s.lat_slots + SOCKET_LAT_SLOTS);
        latency.histogram(labels, latency_bounds(), lat_counts,
                          static_cast<double>(s.lat_sum_ns) * 1e-9);
      }
    }
    for (uint32_t dir = 0; dir < SOCKET_DIR_COUNT; ++dir) {
      // A send's flags come only from the syscall tracepoints.
      if (dir == SOCKET_DIR_SEND && !snapshot.syscall_tracepoints) continue;
      for (uint32_t f = 0; f < SOCKET_FLAG_COUNT; ++f) {
        flags.counter(with_comm(snapshot, process.comm,
                                {{"direction", std::string(socket_direction_name(dir))},
                                 {"flag", std::string(kSocketFlags[f].name)}}),
                      static_cast<double>(flag_counts[dir][f]));
      }
    }
  }

  calls.append_to(out);
  bytes.append_to(out);
  errors.append_to(out);
  flags.append_to(out);
  sizes.append_to(out);
  if (snapshot.syscall_tracepoints) latency.append_to(out);

  if (snapshot.per_process) {
    FamilyBuilder dropped("netobs_series_dropped_total",
                          "Distinct label values folded into \"other\" because a cap was "
                          "reached (socket: process names beyond collectors.socket."
                          "max_processes).",
                          MetricType::Counter);
    dropped.counter(
        {{"collector", "socket"}, {"metric", snapshot.owner_labels.empty() ? "comm" : "cgroup"}},
        static_cast<double>(snapshot.counters[SOCKET_CTR_FOLDED_COMMS]));
    dropped.append_to(out);
    FamilyBuilder("netobs_socket_folded_operations_total",
                  "Operations of processes counted under comm=\"other\" (beyond "
                  "collectors.socket.max_processes).",
                  MetricType::Counter)
        .counter({}, static_cast<double>(snapshot.counters[SOCKET_CTR_FOLDED_OPS]))
        .append_to(out);
  }
  FamilyBuilder("netobs_socket_untracked_syscalls_total",
                "Socket syscalls whose flags and start time were not recorded because the "
                "per-thread table was full.",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.counters[SOCKET_CTR_THREAD_OPS_FULL]))
      .append_to(out);
  if (snapshot.events_enabled) {
    FamilyBuilder("netobs_socket_events_written_total",
                  "Socket events written to the event output (CSV/JSON).", MetricType::Counter)
        .counter({}, static_cast<double>(snapshot.events_written))
        .append_to(out);
    FamilyBuilder("netobs_socket_events_sampled_out_total",
                  "Socket events skipped by events.sample_rate (metrics still count them).",
                  MetricType::Counter)
        .counter({}, static_cast<double>(snapshot.counters[SOCKET_CTR_EVENTS_SAMPLED]))
        .append_to(out);
    FamilyBuilder("netobs_socket_event_write_errors_total",
                  "Socket events that could not be written (disk full, permissions...).",
                  MetricType::Counter)
        .counter({}, static_cast<double>(snapshot.event_write_errors))
        .append_to(out);
  }
}

}  // namespace netobs
