// The collector framework with fake collectors: lifecycle guards, isolation
// of a throwing or overrunning collector, required collectors, self-metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <thread>

#include "exporter/bpf/preflight.h"
#include "exporter/collector_manager.h"
#include "exporter/log.h"
#include "exporter/metric_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Serves one counter family; behaviour chosen per test.
class FakeCollector : public Collector {
 public:
  enum class Mode { kGood, kThrowOnCollect, kFailStart, kSlow };
  FakeCollector(std::string name, Mode mode) : Collector(std::move(name)), mode_(mode) {}
  std::atomic<int> stops{0};

 protected:
  Status start_impl(const CollectorContext&) override {
    if (mode_ == Mode::kFailStart) return Status::error("fake kernel feature missing");
    return Status::ok();
  }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    if (mode_ == Mode::kThrowOnCollect) throw std::runtime_error("boom");
    if (mode_ == Mode::kSlow) std::this_thread::sleep_for(std::chrono::milliseconds(600));
    FamilyBuilder("netobs_fake_" + name() + "_total", "Fake counter.",
                  prometheus::MetricType::Counter)
        .counter({{"kind", "x"}}, 42)
        .append_to(out);
    return Status::ok();
  }
  void stop_impl() override { ++stops; }

 private:
  Mode mode_;
};

CollectorDescriptor fake(const std::string& name, FakeCollector::Mode mode) {
  return {.name = name,
          .description = "fake " + name,
          .needs = {},
          .ladders = {},
          .factory = [name, mode] { return std::make_unique<FakeCollector>(name, mode); }};
}

std::string render(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

class CollectorManagerTest : public ::testing::Test {
 protected:
  PreflightReport preflight_;
  Config config_;
};

TEST_F(CollectorManagerTest, ThrowingCollectorDoesNotBreakOthers) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("thrower", FakeCollector::Mode::kThrowOnCollect)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::string text = render(manager.Collect());
  EXPECT_EQ(testing::metric_value(text, "netobs_fake_good_total", "kind=\"x\""), 42);
  EXPECT_THAT(text, Not(HasSubstr("netobs_fake_thrower_total")));
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"good\""),
            1);
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"thrower\""),
            0);
}

TEST_F(CollectorManagerTest, CollectorThatCannotStartReportsZeroAndOthersServe) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("broken", FakeCollector::Mode::kFailStart)).is_ok());
  std::string log;
  capture_log_for_test(&log);
  CollectorManager manager(registry, preflight_);
  Status status = manager.start(config_);
  std::string text = render(manager.Collect());
  render(manager.Collect());  // a second scrape must not log the reason again
  capture_log_for_test(nullptr);
  ASSERT_TRUE(status.is_ok());
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"broken\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_fake_good_total", "kind=\"x\""), 42);
  // The reason is logged exactly once, at start.
  size_t first = log.find("fake kernel feature missing");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("fake kernel feature missing", first + 1), std::string::npos) << log;
  auto summaries = manager.summaries();
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[1].state, "error");
  EXPECT_EQ(summaries[1].last_error, "fake kernel feature missing");
}

TEST_F(CollectorManagerTest, RequiredCollectorThatCannotStartFailsStartup) {
  CollectorRegistry registry;
  // "snmp" has a config section, so `required` applies to it.
  ASSERT_TRUE(registry.add(fake("snmp", FakeCollector::Mode::kFailStart)).is_ok());
  config_.snmp.common.required = true;
  CollectorManager manager(registry, preflight_);
  Status status = manager.start(config_);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.message(),
            "required collector snmp failed to start: fake kernel feature missing (set "
            "collectors.snmp.required: false to run without it)");
}

TEST_F(CollectorManagerTest, DisabledCollectorIsNotStartedOrReported) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("snmp", FakeCollector::Mode::kGood)).is_ok());
  config_.snmp.common.enabled = false;
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::string text = render(manager.Collect());
  EXPECT_THAT(text, Not(HasSubstr("collector=\"snmp\"")));
  EXPECT_EQ(manager.summaries()[0].state, "disabled");
}

TEST_F(CollectorManagerTest, OverrunningCollectorReportsFailureWithinDeadline) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("slow", FakeCollector::Mode::kSlow)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  auto start = std::chrono::steady_clock::now();
  std::string text = render(manager.collect_until(start + std::chrono::milliseconds(150)));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(elapsed, 0.5);  // did not wait for the 600 ms collector
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"slow\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"good\""),
            1);
  // Once it has finished, the next scrape with enough time succeeds again.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  text = render(manager.collect_until(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"slow\""),
            1);
}

TEST_F(CollectorManagerTest, StartingTwiceIsRefused) {
  FakeCollector collector("good", FakeCollector::Mode::kGood);
  CollectorContext context{config_, preflight_};
  ASSERT_TRUE(collector.start(context).is_ok());
  Status again = collector.start(context);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.message(),
            "collector good was already started (state active): create a new instance to start "
            "it again");
  collector.stop();
  collector.stop();
  EXPECT_EQ(collector.stops.load(), 1);
  EXPECT_EQ(collector.state(), CollectorState::kStopped);
}

TEST_F(CollectorManagerTest, DuplicateRegistrationIsRefused) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("a", FakeCollector::Mode::kGood)).is_ok());
  Status status = registry.add(fake("a", FakeCollector::Mode::kGood));
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.message(), "collector a is registered twice: names must be unique");
}

TEST_F(CollectorManagerTest, ReloadRestartsOnlyChangedCollectors) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("snmp", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("tcp", FakeCollector::Mode::kGood)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  Config next = config_;
  next.snmp.sample_interval_seconds = 10;
  next.tcp.common.enabled = false;
  ASSERT_TRUE(manager.reload(next).is_ok());
  auto summaries = manager.summaries();
  EXPECT_EQ(summaries[0].state, "active");
  EXPECT_EQ(summaries[1].state, "disabled");
  EXPECT_EQ(manager.config().snmp.sample_interval_seconds, 10);
}

TEST_F(CollectorManagerTest, SelfMetricsHaveBuildInfoAndNoExposerMetrics) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::string text = render(manager.Collect());
  EXPECT_THAT(text, HasSubstr("# TYPE netobs_build_info gauge"));
  EXPECT_THAT(text, HasSubstr("netobs_scrape_collector_duration_seconds{collector=\"good\"}"));
  EXPECT_THAT(text, Not(HasSubstr("exposer_")));
}

}  // namespace
}  // namespace netobs
