// Renders the tcp collector's map snapshot into Prometheus families, and the
// grouping settings (port names, remote CIDR groups) it labels with. Pure
// functions called at scrape time (and by the unit tests and benchmarks);
// the metric names are defined here and documented in collectors/tcp/README.md.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/tcp.h"
#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_config.h"
#include "config/config.h"
#include "exporter/status.h"

namespace netobs {

inline constexpr std::string_view kTcpRttMetric = "netobs_tcp_rtt_seconds";
inline constexpr std::string_view kTcpRetransmitsMetric = "netobs_tcp_retransmits_total";
inline constexpr std::string_view kTcpSeriesDroppedMetric = "netobs_series_dropped_total";

struct TcpHistogram {
  std::array<uint64_t, NETOBS_TCP_HIST_SLOTS> slots{};
  uint64_t sum = 0;

  void add(const netobs_tcp_hist& per_cpu);
};

// Everything one scrape reads, summed over CPUs.
struct TcpSnapshot {
  std::array<uint64_t, NETOBS_TCP_COUNTER_COUNT> counters{};
  std::array<uint64_t, NETOBS_TCP_RETRANS_KIND_COUNT> retrans{};
  std::map<uint32_t, std::array<uint64_t, NETOBS_TCP_RETRANS_KIND_COUNT>> retrans_by_group;
  TcpHistogram rtt;
  std::map<uint32_t, TcpHistogram> rtt_by_group;
  std::array<TcpHistogram, NETOBS_TCP_CONN_HIST_COUNT> conn_hists{};
  std::array<uint64_t, NETOBS_TCP_ERRNO_SLOTS> connect_errors{};
  std::optional<TcpStateCounts> states;  // nullopt: the sock_diag dump failed
  // attribution: cgroup: connection counters by attribution label values (in
  // the order of CgroupLabels::names(); cgroups with equal labels summed).
  std::map<std::vector<std::string>, std::array<uint64_t, NETOBS_TCP_CG_COUNTER_COUNT>> by_cgroup;
  // attribution: cgroup and rtt: RTT histograms by the same label values.
  std::map<std::vector<std::string>, TcpHistogram> rtt_by_cgroup;
};

enum class TcpGroupBy { kNone, kLocalPort, kRemotePort, kRemoteCidr };

// One remote network of a named group, ready for the BPF LPM trie.
struct TcpCidrEntry {
  uint32_t group = 0;  // 1-based index into TcpGrouping::group_names
  netobs_tcp_cidr_key key{};
};

// The grouping settings of TcpConfig, parsed (the loader validated them).
struct TcpGrouping {
  TcpGroupBy by = TcpGroupBy::kNone;
  uint32_t max_groups = 64;
  std::map<uint16_t, std::string> port_names;
  std::vector<std::string> group_names;  // group id i + 1 -> group_names[i]
  std::vector<TcpCidrEntry> cidrs;
};

Result<TcpGrouping> parse_tcp_grouping(const TcpConfig& config);
uint32_t bpf_group_by(TcpGroupBy by);

// What the renderer needs besides the snapshot.
struct TcpMetricOptions {
  TcpGrouping grouping;
  bool rtt = true;
  bool retransmits = true;
  bool connection_tracking = true;
  uint32_t sample_rate = 1;
  bool attribution = false;  // collectors.tcp.attribution: cgroup
};

// "rto", "fast", "tlp", "syn", "synack", "other".
std::string_view retrans_kind_name(uint32_t kind);
// "ECONNREFUSED"...; "none" for 0 (closed by the application first), "other"
// for the overflow slot and errnos without a name.
std::string connect_errno_label(uint32_t slot);

void append_tcp_families(const TcpSnapshot& snapshot, const TcpMetricOptions& options,
                         std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
