// DropsCollector: every packet the kernel drops (skb:kfree_skb with a drop
// reason), counted in a per-CPU kernel map by reason, namespace, interface
// and protocol; reason names from the running kernel's BTF. Owned by the
// CollectorManager (start/stop on the main thread, collect on HTTP workers,
// serialized by the Collector base), or by `netobs drops`.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "collectors/drops/drop_reasons.h"
#include "collectors/drops/drops_metrics.h"
#include "exporter/attribution/attribution.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"
#include "exporter/net/interface_selector.h"

namespace netobs {

struct DropsCollectorOptions {
  // Key by the kernel address that dropped (`netobs drops` shows the
  // function); the exporter sums over locations, so it leaves this off.
  bool by_location = false;
  // Key by the inode of the dropped packet's socket too, so `netobs drops`
  // can name the owning process.
  bool by_owner = false;
  // Use this rung only (tests and benchmarks of every rung); nullopt: the ladder.
  std::optional<AttachKind> force_kind;
};

class DropsCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "drops";
  // The one hook, best rung first (also shown by `netobs check`).
  static const std::vector<HookLadder>& ladders();

  explicit DropsCollector(DropsCollectorOptions options = {});
  ~DropsCollector() override;

  // Reads the maps (summed over CPUs), without the drops on interfaces that
  // network.interfaces / exclude_interfaces leave out. Only valid while active.
  Result<DropsSnapshot> snapshot();
  // The running kernel's reason names. Only valid while active.
  const DropReasons& reasons() const { return *reasons_; }
  // attribution: cgroup: the drops by the socket's cgroup, resolved to
  // labels; entries of cgroups idle for attribution.label_idle_time, or
  // removed and idle for attribution.gone_after, are deleted from the kernel
  // map (their series disappear). Only valid while active.
  Result<DropsByCgroup> by_cgroup();
  // The rung attached ("tp_btf", "raw_tp", "tracepoint"); "" before start.
  std::string attach_kind() const;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  struct Loaded;
  DropsCollectorOptions options_;
  std::unique_ptr<Loaded> loaded_;
  std::optional<DropReasons> reasons_;
  InterfaceSelector interfaces_;                // network.interfaces / exclude_interfaces
  std::optional<DropsPortLabels> port_labels_;  // collectors.drops.local_port_labels

  // attribution: cgroup. Each kernel entry's packets and when they last
  // changed (a returning cgroup starts again from 0).
  struct CgroupActivity {
    uint64_t packets = 0;
    std::chrono::steady_clock::time_point last_change;
  };
  std::shared_ptr<Attribution> attribution_;
  std::chrono::steady_clock::duration label_idle_{};
  std::chrono::steady_clock::duration gone_after_{};
  std::mutex cgroup_mutex_;  // by_cgroup() may run beside a scrape (tests)
  std::map<std::tuple<uint64_t, uint32_t, uint16_t, uint8_t>, CgroupActivity> cgroup_activity_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (drops_descriptor.cc).
CollectorDescriptor drops_descriptor();

}  // namespace netobs
