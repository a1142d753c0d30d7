// Collect, bpf_status and stop racing on one collector: a scrape that checked
// the state just before a stop (a SIGHUP reload) must not run collect_impl on
// what stop_impl released. The fake collector frees its data in stop_impl, so
// a race shows up as a crash (or an ASan report in the sanitizer build).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/collector.h"

namespace netobs {
namespace {

class FreeingCollector final : public Collector {
 public:
  FreeingCollector() : Collector("freeing") {}

 protected:
  Status start_impl(const CollectorContext&) override {
    data_ = std::make_unique<std::vector<int>>(64, 7);
    return Status::ok();
  }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    int sum = 0;
    for (int value : *data_) sum += value;  // crashes when stop_impl ran first
    std::this_thread::yield();
    for (int value : *data_) sum += value;
    prometheus::MetricFamily family;
    family.name = "freeing_sum";
    family.help = "sum";
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    metric.gauge.value = sum;
    family.metric.push_back(metric);
    out.push_back(std::move(family));
    return Status::ok();
  }
  void stop_impl() override { data_.reset(); }
  BpfStatus bpf_status_impl() const override {
    BpfStatus status;
    if (data_) status.maps.push_back({.map = "data", .capacity = uint32_t(data_->size())});
    return status;
  }

 private:
  std::unique_ptr<std::vector<int>> data_;
};

TEST(CollectorRaceTest, StopWhileScrapesRunNeverReachesFreedState) {
  const Config config;
  const PreflightReport preflight;
  for (int round = 0; round < 200; ++round) {
    FreeingCollector collector;
    const CollectorContext context{config, preflight};
    ASSERT_TRUE(collector.start(context).is_ok());
    std::atomic<bool> done = false;
    std::atomic<int> complete = 0;
    std::vector<std::thread> scrapers;
    for (int t = 0; t < 3; ++t) {
      scrapers.emplace_back([&] {
        while (!done.load()) {
          std::vector<prometheus::MetricFamily> out;
          Status status = collector.collect(out);
          // Either a whole answer (sum of both passes) or a refusal.
          if (status.is_ok()) {
            ASSERT_EQ(out.size(), 1u);
            EXPECT_EQ(out[0].metric[0].gauge.value, 2 * 64 * 7);
            ++complete;
          } else {
            EXPECT_TRUE(out.empty());
          }
          (void)collector.bpf_status();
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    collector.stop();
    done = true;
    for (auto& t : scrapers) t.join();
    EXPECT_EQ(collector.state(), CollectorState::kStopped);
  }
}

}  // namespace
}  // namespace netobs
