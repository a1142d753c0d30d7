// bpf_selftest: a test-only collector that attaches ladder_test's
// sock_send_length handler through the attach ladder and exports the bytes
// sent by one process (NETOBS_SELFTEST_TGID in the environment).
#pragma once

#include <memory>

#include "exporter/collector.h"

namespace netobs {

class BpfSelftestCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "bpf_selftest";
  BpfSelftestCollector();
  ~BpfSelftestCollector() override;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
};

}  // namespace netobs
