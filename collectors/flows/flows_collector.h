// FlowsCollector: TCP connections aggregated in the kernel into edges
// client -> server (bpf/flows.bpf.c), connections older than netobs seeded
// from one sock_diag dump, exported as netobs_flow_* metrics under the
// max_edges budget and as the service topology (/topology, `netobs
// topology`). Owned by the CollectorManager, or by `netobs topology`.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/flows/flows_model.h"
#include "exporter/attribution/attribution.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"

namespace netobs {

struct FlowsCollectorOptions {
  std::optional<AttachKind> force_kind;  // one rung only (tests, benchmarks)
  // Sets of the kernel's socket table (a power of two; 0: from
  // max_tracked_connections). Tests shrink it so sockets overflow into the hash.
  uint32_t socket_table_sets = 0;
};

class FlowsCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "flows";
  static constexpr std::string_view kTopologyPath = "/topology";
  // The hooks, best rung first (also shown by `netobs check`).
  static const std::vector<HookLadder>& ladders();

  explicit FlowsCollector(FlowsCollectorOptions options = {});
  ~FlowsCollector() override;

  // Reads the kernel map (summed over CPUs) and adds it to the topology
  // window. Only valid while active.
  Result<FlowsSnapshot> snapshot();
  // The topology over the configured window, after a fresh snapshot.
  Result<Topology> topology();
  // Connections seeded from the sock_diag dump at start.
  size_t seeded_connections() const { return seeded_; }

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;
  Result<std::string> json_endpoint_impl(std::string_view path) override;

 private:
  // One kernel edge as read by a snapshot: its slot, key and counters.
  struct SlotRead;
  Result<FlowsSnapshot> read_snapshot(std::vector<SlotRead>* slots);
  void reclaim_idle_edges(const std::vector<SlotRead>& slots);
  void forget_udp_flows_on(const std::vector<uint32_t>& freed);

  struct Loaded;
  Status fill_maps(const Config& config);
  Status attach_udp(const Config& config);
  Status seed_existing(const Config& config);
  FlowsCollectorOptions options_;
  std::unique_ptr<Loaded> loaded_;
  std::optional<ServiceMap> services_;
  std::optional<ProtocolTable> protocols_;
  uint32_t max_edges_ = 0;
  // attribution: cgroup (else null): cgroup id -> container/pod/unit labels.
  std::shared_ptr<Attribution> attribution_;
  double gone_after_seconds_ = 60;
  size_t seeded_ = 0;
  std::mutex window_mutex_;  // snapshot() from scrapes and /topology at once
  std::optional<TopologyWindow> window_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (flows_descriptor.cc).
CollectorDescriptor flows_descriptor();

}  // namespace netobs
