// TcpCollector: RTT, retransmissions by kind, connection life cycle and
// resets from BPF tracepoints aggregated in kernel maps, plus the
// netobs_tcp_connections{state} gauge counted at scrape time (BPF iterator,
// or a NETLINK_SOCK_DIAG dump). Owned by the CollectorManager; start/stop on the main thread,
// collect on HTTP workers (serialized by the Collector base).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_state_counter.h"
#include "collectors/tcp/tcp_metrics.h"
#include "exporter/attribution/attribution.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"

namespace netobs {

class TcpCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "tcp";
  // Every hook, best rung first (also shown by `netobs check`).
  static const std::vector<HookLadder>& ladders();

  TcpCollector();
  ~TcpCollector() override;

  // Reads every map (summed over CPUs) and the socket states; for tests and
  // benchmarks. Only valid while active.
  Result<TcpSnapshot> snapshot();

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  void reclaim_idle_groups(const TcpSnapshot& snap);

  struct Loaded;
  Status read_cgroup_counts(TcpSnapshot& snap);

  std::unique_ptr<Loaded> loaded_;
  TcpMetricOptions options_;
  std::optional<TcpStateCounter> states_;

  // attribution: cgroup. Each cgroup's counter total and when it last
  // changed: cgroups idle for attribution.label_idle_time, or removed and
  // idle for attribution.gone_after, are deleted from the map (their series
  // disappear; a returning cgroup starts again from 0).
  struct CgroupActivity {
    uint64_t total = 0;
    std::chrono::steady_clock::time_point last_change;
  };
  std::shared_ptr<Attribution> attribution_;
  std::chrono::steady_clock::duration label_idle_{};
  std::chrono::steady_clock::duration gone_after_{};
  std::mutex cgroup_mutex_;  // snapshot() may run beside a scrape (tests)
  std::map<uint64_t, CgroupActivity> cgroup_activity_;
  std::map<uint64_t, CgroupActivity> rtt_cgroup_activity_;  // total: RTT samples
};

struct CollectorDescriptor;
// What netobs knows about this collector (tcp_descriptor.cc).
CollectorDescriptor tcp_descriptor();

}  // namespace netobs
