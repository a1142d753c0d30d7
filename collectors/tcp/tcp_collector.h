// TcpCollector: RTT, retransmissions by kind, connection life cycle and
// resets from BPF tracepoints aggregated in kernel maps, plus the
// netobs_tcp_connections{state} gauge counted at scrape time (BPF iterator,
// or a NETLINK_SOCK_DIAG dump). Owned by the CollectorManager; start/stop on the main thread,
// collect on HTTP workers (serialized by the Collector base).
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_state_counter.h"
#include "collectors/tcp/tcp_metrics.h"
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
  std::unique_ptr<Loaded> loaded_;
  TcpMetricOptions options_;
  std::optional<TcpStateCounter> states_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (tcp_descriptor.cc).
CollectorDescriptor tcp_descriptor();

}  // namespace netobs
