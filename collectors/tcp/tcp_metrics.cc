#include "collectors/tcp/tcp_metrics.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

#include "exporter/attribution/attribution.h"
#include "exporter/metric_builder.h"
#include "exporter/errno_name.h"

namespace netobs {
namespace {

using prometheus::MetricType;

constexpr double kMicro = 1e-6;

// Always exported (0 until seen): the errnos a failed connect usually has.
constexpr uint32_t kCommonConnectErrnos[] = {0,           ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH,
                                             ENETUNREACH, ECONNRESET};

std::vector<uint64_t> slot_counts(const TcpHistogram& hist, size_t slots) {
  return {hist.slots.begin(), hist.slots.begin() + static_cast<std::ptrdiff_t>(slots)};
}

// A histogram of `slots` log2 slots: slot i < slots-1 has le = 2^i units,
// the last slot (which also holds everything larger) is +Inf.
void add_log2_histogram(FamilyBuilder& family, const Labels& labels, const TcpHistogram& hist,
                        size_t slots, double unit) {
  family.histogram(labels, log2_upper_bounds(slots - 1, unit), slot_counts(hist, slots),
                   static_cast<double>(hist.sum) * unit);
}

Labels group_labels(const TcpGrouping& grouping, uint32_t group) {
  const bool other = group == NETOBS_TCP_GROUP_OTHER;
  switch (grouping.by) {
    case TcpGroupBy::kNone:
      return {};
    case TcpGroupBy::kLocalPort:
    case TcpGroupBy::kRemotePort: {
      const std::string key = grouping.by == TcpGroupBy::kLocalPort ? "local_port" : "remote_port";
      if (other) return {{key, "other"}};
      Labels labels{{key, std::to_string(group)}};
      auto name = grouping.port_names.find(static_cast<uint16_t>(group));
      if (name != grouping.port_names.end()) labels["service"] = name->second;
      return labels;
    }
    case TcpGroupBy::kRemoteCidr:
      if (other) return {{"remote_group", "other"}};
      if (group == 0 || group > grouping.group_names.size()) {
        return {{"remote_group", "unmatched"}};
      }
      return {{"remote_group", grouping.group_names[group - 1]}};
  }
  return {};
}

void append_rtt(const TcpSnapshot& snapshot, const TcpMetricOptions& options,
                std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder family(std::string(kTcpRttMetric),
                       "Smoothed round-trip time (the kernel's srtt) of TCP connections, one "
                       "observation per received segment (tcp:tcp_probe).",
                       MetricType::Histogram);
  if (options.grouping.by == TcpGroupBy::kNone) {
    add_log2_histogram(family, {}, snapshot.rtt, NETOBS_TCP_RTT_SLOTS, kMicro);
  } else {
    // Several kernel groups may share labels (e.g. unknown CIDR group ids).
    std::map<Labels, TcpHistogram> merged;
    for (const auto& [group, hist] : snapshot.rtt_by_group) {
      TcpHistogram& target = merged[group_labels(options.grouping, group)];
      for (size_t i = 0; i < target.slots.size(); ++i) target.slots[i] += hist.slots[i];
      target.sum += hist.sum;
    }
    for (const auto& [labels, hist] : merged) {
      add_log2_histogram(family, labels, hist, NETOBS_TCP_RTT_SLOTS, kMicro);
    }
  }
  family.append_to(out);
}

void append_retransmits(const TcpSnapshot& snapshot, const TcpMetricOptions& options,
                        std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder family(std::string(kTcpRetransmitsMetric),
                       "TCP segments retransmitted, by kind: rto (timeout, Loss state), fast "
                       "(fast retransmit, Recovery state), tlp (tail loss probe), syn, synack, "
                       "other. Counted per segment like Tcp RetransSegs.",
                       MetricType::Counter);
  if (options.grouping.by == TcpGroupBy::kNone) {
    for (uint32_t kind = 0; kind < NETOBS_TCP_RETRANS_KIND_COUNT; ++kind) {
      family.counter({{"kind", std::string(retrans_kind_name(kind))}},
                     static_cast<double>(snapshot.retrans[kind]));
    }
  } else {
    std::map<Labels, uint64_t> merged;
    for (const auto& [group, kinds] : snapshot.retrans_by_group) {
      Labels base = group_labels(options.grouping, group);
      for (uint32_t kind = 0; kind < NETOBS_TCP_RETRANS_KIND_COUNT; ++kind) {
        Labels labels = base;
        labels["kind"] = std::string(retrans_kind_name(kind));
        merged[labels] += kinds[kind];
      }
    }
    for (const auto& [labels, value] : merged) {
      family.counter(labels, static_cast<double>(value));
    }
  }
  family.append_to(out);
  FamilyBuilder("netobs_tcp_retransmit_errors_total",
                "TCP retransmission attempts that failed before reaching the IP layer "
                "(host queue busy, no memory, no route); not in Tcp RetransSegs.",
                MetricType::Counter)
      .counter({}, static_cast<double>(snapshot.counters[NETOBS_TCP_RETRANS_ERRORS]))
      .append_to(out);
}

// Connection counters per cgroup of the socket, labelled with the
// attribution labels (container_id, pod_uid, unit, pod, namespace,
// container; all "other" for the series beyond max_cgroups).
void append_by_cgroup(const TcpSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out) {
  const std::vector<std::string>& names = CgroupLabels::names();
  auto labels_of = [&names](const std::vector<std::string>& values) {
    Labels labels;
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) labels[names[i]] = values[i];
    return labels;
  };
  FamilyBuilder opened("netobs_tcp_cgroup_connections_opened_total",
                       "TCP connections established, by the cgroup of the socket (the process "
                       "that created it; accepted sockets: the listener's): active or passive.",
                       MetricType::Counter);
  struct Counter {
    const char* name;
    const char* help;
    uint32_t index;
  };
  const Counter counters[] = {
      {"netobs_tcp_cgroup_connections_closed_total",
       "Established TCP connections that reached CLOSE, by the cgroup of the socket.",
       NETOBS_TCP_CG_CLOSED},
      {"netobs_tcp_cgroup_sent_bytes_total",
       "Payload bytes sent by TCP connections (each byte once), added when each closes, by the "
       "cgroup of the socket.",
       NETOBS_TCP_CG_SENT_BYTES},
      {"netobs_tcp_cgroup_received_bytes_total",
       "Payload bytes received by TCP connections, added when each closes, by the cgroup of the "
       "socket.",
       NETOBS_TCP_CG_RECEIVED_BYTES},
      {"netobs_tcp_cgroup_retransmits_total",
       "Retransmitted TCP segments of sampled connections, by the cgroup of the socket.",
       NETOBS_TCP_CG_RETRANS_SEGS},
  };
  for (const auto& [values, counts] : snapshot.by_cgroup) {
    Labels labels = labels_of(values);
    labels["direction"] = "active";
    opened.counter(labels, static_cast<double>(counts[NETOBS_TCP_CG_OPENED_ACTIVE]));
    labels["direction"] = "passive";
    opened.counter(labels, static_cast<double>(counts[NETOBS_TCP_CG_OPENED_PASSIVE]));
  }
  opened.append_to(out);
  for (const Counter& counter : counters) {
    FamilyBuilder family(counter.name, counter.help, MetricType::Counter);
    for (const auto& [values, counts] : snapshot.by_cgroup) {
      family.counter(labels_of(values), static_cast<double>(counts[counter.index]));
    }
    family.append_to(out);
  }
  if (snapshot.rtt_by_cgroup.empty()) return;
  FamilyBuilder rtt("netobs_tcp_cgroup_rtt_seconds",
                    "Smoothed round-trip time (the kernel's srtt) of TCP connections, one "
                    "observation per received segment (tcp:tcp_probe), by the cgroup of the "
                    "socket.",
                    MetricType::Histogram);
  for (const auto& [values, hist] : snapshot.rtt_by_cgroup) {
    add_log2_histogram(rtt, labels_of(values), hist, NETOBS_TCP_RTT_SLOTS, kMicro);
  }
  rtt.append_to(out);
}

void append_series_dropped(const TcpSnapshot& snapshot, const TcpMetricOptions& options,
                           std::vector<prometheus::MetricFamily>& out) {
  const bool grouped = options.grouping.by != TcpGroupBy::kNone;
  if (!grouped && !options.attribution) return;
  FamilyBuilder family(std::string(kTcpSeriesDroppedMetric),
                       "Observations folded into the `other` series because the metric reached "
                       "its series cap (collectors.<name>.max_groups, max_cgroups).",
                       MetricType::Counter);
  if (grouped && options.rtt) {
    family.counter({{"collector", "tcp"}, {"metric", std::string(kTcpRttMetric)}},
                   static_cast<double>(snapshot.counters[NETOBS_TCP_RTT_OVERFLOW]));
  }
  if (grouped && options.retransmits) {
    family.counter({{"collector", "tcp"}, {"metric", std::string(kTcpRetransmitsMetric)}},
                   static_cast<double>(snapshot.counters[NETOBS_TCP_RETRANS_OVERFLOW]));
  }
  if (options.attribution) {
    family.counter({{"collector", "tcp"}, {"metric", "cgroup"}},
                   static_cast<double>(snapshot.counters[NETOBS_TCP_CGROUP_OVERFLOW]));
  }
  family.append_to(out);
}

void append_counter(std::vector<prometheus::MetricFamily>& out, const std::string& name,
                    const std::string& help, double value) {
  FamilyBuilder(name, help, MetricType::Counter).counter({}, value).append_to(out);
}

void append_lifecycle(const TcpSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out) {
  const auto& c = snapshot.counters;
  FamilyBuilder("netobs_tcp_connections_opened_total",
                "TCP connections established: active (connect, SYN_SENT -> ESTABLISHED) or "
                "passive (accepted, SYN_RECV -> ESTABLISHED).",
                MetricType::Counter)
      .counter({{"direction", "active"}}, static_cast<double>(c[NETOBS_TCP_OPENED_ACTIVE]))
      .counter({{"direction", "passive"}}, static_cast<double>(c[NETOBS_TCP_OPENED_PASSIVE]))
      .append_to(out);
  append_counter(out, "netobs_tcp_connections_closed_total",
                 "Established TCP connections that reached CLOSE (either end; resets included).",
                 static_cast<double>(c[NETOBS_TCP_CLOSED]));

  std::map<std::string, uint64_t> failures;
  for (uint32_t slot : kCommonConnectErrnos) failures[connect_errno_label(slot)] += 0;
  for (uint32_t slot = 0; slot < NETOBS_TCP_ERRNO_SLOTS; ++slot) {
    if (snapshot.connect_errors[slot] != 0) {
      failures[connect_errno_label(slot)] += snapshot.connect_errors[slot];
    }
  }
  FamilyBuilder failure_family(
      "netobs_tcp_connect_failures_total",
      "Active opens that never became established (SYN_SENT -> CLOSE), by the socket error: "
      "ECONNREFUSED (reset by the peer), ETIMEDOUT (SYN retries exhausted), ...; \"none\": "
      "the application closed the socket first.",
      MetricType::Counter);
  for (const auto& [label, value] : failures) {
    failure_family.counter({{"errno", label}}, static_cast<double>(value));
  }
  failure_family.append_to(out);
  append_counter(out, "netobs_tcp_passive_open_failures_total",
                 "Accepted TCP connections reset or closed before becoming established "
                 "(SYN_RECV -> CLOSE).",
                 static_cast<double>(c[NETOBS_TCP_PASSIVE_FAILED]));
  append_counter(out, "netobs_tcp_resets_sent_total",
                 "TCP resets sent (tcp:tcp_send_reset), with or without a socket.",
                 static_cast<double>(c[NETOBS_TCP_RESETS_SENT]));
  append_counter(out, "netobs_tcp_resets_received_total",
                 "TCP resets received and accepted by a socket (tcp:tcp_receive_reset).",
                 static_cast<double>(c[NETOBS_TCP_RESETS_RECEIVED]));

  FamilyBuilder duration("netobs_tcp_connection_duration_seconds",
                         "Lifetime of closed TCP connections from ESTABLISHED to CLOSE (sampled "
                         "connections that became established while netobs ran).",
                         MetricType::Histogram);
  add_log2_histogram(duration, {}, snapshot.conn_hists[NETOBS_TCP_HIST_DURATION],
                     NETOBS_TCP_DURATION_SLOTS, kMicro);
  duration.append_to(out);
  append_counter(out, "netobs_tcp_connection_duration_unknown_total",
                 "Closed sampled connections whose start netobs did not see (opened before it "
                 "started, or evicted from the tracking map).",
                 static_cast<double>(c[NETOBS_TCP_DURATION_UNKNOWN]));
  FamilyBuilder sent("netobs_tcp_connection_sent_bytes",
                     "Payload bytes a closed TCP connection sent, each byte once (tcpi_bytes_sent "
                     "- tcpi_bytes_retrans at close), per sampled connection.",
                     MetricType::Histogram);
  add_log2_histogram(sent, {}, snapshot.conn_hists[NETOBS_TCP_HIST_SENT_BYTES],
                     NETOBS_TCP_BYTES_SLOTS, 1.0);
  sent.append_to(out);
  FamilyBuilder received("netobs_tcp_connection_received_bytes",
                         "Payload bytes a closed TCP connection received (tcpi_bytes_received at "
                         "close, without the FIN), per sampled connection.",
                         MetricType::Histogram);
  add_log2_histogram(received, {}, snapshot.conn_hists[NETOBS_TCP_HIST_RECEIVED_BYTES],
                     NETOBS_TCP_BYTES_SLOTS, 1.0);
  received.append_to(out);
  append_counter(out, "netobs_tcp_sent_bytes_total",
                 "Payload bytes sent by TCP connections (each byte once), added when each "
                 "closes (all connections, not sampled).",
                 static_cast<double>(c[NETOBS_TCP_SENT_BYTES]));
  append_counter(out, "netobs_tcp_received_bytes_total",
                 "Payload bytes received by TCP connections, added when each closes (all "
                 "connections, not sampled).",
                 static_cast<double>(c[NETOBS_TCP_RECEIVED_BYTES]));
}

void append_states(const TcpSnapshot& snapshot, std::vector<prometheus::MetricFamily>& out) {
  if (!snapshot.states) return;
  FamilyBuilder family("netobs_tcp_connections",
                       "TCP sockets of the namespace by state right now (kept up to date in "
                       "BPF from state changes, counted from the existing sockets at start; "
                       "request sockets count as syn_recv; time_wait counts every timewait socket, "
                       "as /proc/net/sockstat "
                       "tw, including orphaned FIN_WAIT2 connections ss shows as FIN-WAIT-2).",
                       MetricType::Gauge);
  const TcpStateCounts& counts = *snapshot.states;
  for (uint8_t state = 1; state <= kTcpMaxState; ++state) {
    uint64_t value = counts[state];
    if (state == kTcpSynRecv) value += counts[12];  // TCP_NEW_SYN_RECV
    family.gauge({{"state", std::string(tcp_state_name(state))}}, static_cast<double>(value));
  }
  family.append_to(out);
}

}  // namespace

void TcpHistogram::add(const netobs_tcp_hist& per_cpu) {
  for (size_t i = 0; i < slots.size(); ++i) slots[i] += per_cpu.slots[i];
  sum += per_cpu.sum;
}

std::string_view retrans_kind_name(uint32_t kind) {
  switch (kind) {
    case NETOBS_TCP_RETRANS_RTO:
      return "rto";
    case NETOBS_TCP_RETRANS_FAST:
      return "fast";
    case NETOBS_TCP_RETRANS_TLP:
      return "tlp";
    case NETOBS_TCP_RETRANS_SYN:
      return "syn";
    case NETOBS_TCP_RETRANS_SYNACK:
      return "synack";
    default:
      return "other";
  }
}

std::string connect_errno_label(uint32_t slot) {
  if (slot == 0) return "none";
  if (slot >= NETOBS_TCP_ERRNO_SLOTS - 1) return "other";
  const char* name = errno_symbol(static_cast<int>(slot));
  return name != nullptr ? name : "other";
}

uint32_t bpf_group_by(TcpGroupBy by) {
  switch (by) {
    case TcpGroupBy::kNone:
      return NETOBS_TCP_GROUP_NONE;
    case TcpGroupBy::kLocalPort:
      return NETOBS_TCP_GROUP_LOCAL_PORT;
    case TcpGroupBy::kRemotePort:
      return NETOBS_TCP_GROUP_REMOTE_PORT;
    case TcpGroupBy::kRemoteCidr:
      return NETOBS_TCP_GROUP_REMOTE_CIDR;
  }
  return NETOBS_TCP_GROUP_NONE;
}

Result<TcpGrouping> parse_tcp_grouping(const TcpConfig& config) {
  TcpGrouping grouping;
  grouping.max_groups = config.max_groups;
  if (config.group_by == "local_port") {
    grouping.by = TcpGroupBy::kLocalPort;
  } else if (config.group_by == "remote_port") {
    grouping.by = TcpGroupBy::kRemotePort;
  } else if (config.group_by == "remote_cidr") {
    grouping.by = TcpGroupBy::kRemoteCidr;
  } else if (config.group_by != "none") {
    return Status::error("collectors.tcp.group_by: unknown value \"" + config.group_by +
                         "\"; use none, local_port, remote_port or remote_cidr");
  }
  for (const std::string& entry : config.port_names) {
    const size_t eq = entry.find('=');
    const unsigned long port = std::strtoul(entry.substr(0, eq).c_str(), nullptr, 10);
    if (eq == std::string::npos || port < 1 || port > 65535) {
      return Status::error("collectors.tcp.port_names: invalid entry \"" + entry +
                           "\"; write \"PORT=NAME\"");
    }
    grouping.port_names[static_cast<uint16_t>(port)] = entry.substr(eq + 1);
  }
  for (const std::string& entry : config.remote_cidr_groups) {
    const size_t eq = entry.find('=');
    const size_t slash = entry.find('/', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || slash == std::string::npos) {
      return Status::error("collectors.tcp.remote_cidr_groups: invalid entry \"" + entry +
                           "\"; write \"NAME=CIDR\"");
    }
    const std::string name = entry.substr(0, eq);
    const std::string address = entry.substr(eq + 1, slash - eq - 1);
    const int prefix = std::atoi(entry.substr(slash + 1).c_str());
    TcpCidrEntry cidr;
    uint8_t v4[4];
    if (inet_pton(AF_INET, address.c_str(), v4) == 1 && prefix >= 0 && prefix <= 32) {
      cidr.key.prefixlen = 96 + static_cast<uint32_t>(prefix);
      cidr.key.addr[10] = 0xff;
      cidr.key.addr[11] = 0xff;
      std::memcpy(&cidr.key.addr[12], v4, 4);
    } else if (inet_pton(AF_INET6, address.c_str(), cidr.key.addr) == 1 && prefix >= 0 &&
               prefix <= 128) {
      cidr.key.prefixlen = static_cast<uint32_t>(prefix);
    } else {
      return Status::error("collectors.tcp.remote_cidr_groups: invalid network in \"" + entry +
                           "\"");
    }
    auto it = std::find(grouping.group_names.begin(), grouping.group_names.end(), name);
    if (it == grouping.group_names.end()) {
      grouping.group_names.push_back(name);
      it = grouping.group_names.end() - 1;
    }
    cidr.group = static_cast<uint32_t>(it - grouping.group_names.begin()) + 1;
    grouping.cidrs.push_back(cidr);
  }
  if (grouping.by == TcpGroupBy::kRemoteCidr && grouping.cidrs.empty()) {
    return Status::error(
        "collectors.tcp.group_by remote_cidr needs collectors.tcp.remote_cidr_groups");
  }
  return grouping;
}

void append_tcp_families(const TcpSnapshot& snapshot, const TcpMetricOptions& options,
                         std::vector<prometheus::MetricFamily>& out) {
  if (options.rtt) append_rtt(snapshot, options, out);
  if (options.retransmits) append_retransmits(snapshot, options, out);
  append_series_dropped(snapshot, options, out);
  if (options.connection_tracking) {
    append_lifecycle(snapshot, out);
    append_states(snapshot, out);
  }
  if (options.attribution) append_by_cgroup(snapshot, out);
  FamilyBuilder("netobs_tcp_sample_rate",
                "1-in-N connection sampling of RTT, retransmissions and the per-connection "
                "histograms (collectors.tcp.sample_rate); multiply by it to estimate totals.",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(options.sample_rate))
      .append_to(out);
}

}  // namespace netobs
