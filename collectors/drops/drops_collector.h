// DropsCollector: every packet the kernel drops (skb:kfree_skb with a drop
// reason), counted in a per-CPU kernel map by reason, namespace, interface
// and protocol; reason names from the running kernel's BTF. Owned by the
// CollectorManager (start/stop on the main thread, collect on HTTP workers,
// serialized by the Collector base), or by `netobs drops`.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/drops/drop_reasons.h"
#include "collectors/drops/drops_metrics.h"
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
};

struct CollectorDescriptor;
// What netobs knows about this collector (drops_descriptor.cc).
CollectorDescriptor drops_descriptor();

}  // namespace netobs
