// XdpCollector (`xdp`, XDP packet analysis): a packet observer (every packet
// passes) on the receive side of every interface the config selects, as an
// XDP program (bpf_link) or a tc-ingress program (tcx link, or a clsact
// cls_bpf filter before Linux 6.6) per `xdp.mode`, re-evaluated when
// interfaces come and go (rtnetlink). Someone else's XDP program is never
// replaced; tc programs of others keep running beside ours. Owned by the CollectorManager;
// start/stop on the main thread, collect on scrape threads; a link-watcher thread attaches and
// detaches, a ring-buffer thread decodes samples into per-interface top talkers.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "exporter/collector.h"

namespace netobs {

class XdpCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "xdp";
  XdpCollector();
  ~XdpCollector() override;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (xdp_descriptor.cc).
CollectorDescriptor xdp_descriptor();

}  // namespace netobs
