// The collector framework with fake collectors: lifecycle guards, isolation
// of a throwing or overrunning collector, required collectors, self-metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "collectors/snmp/snmp_config.h"
#include "collectors/tcp/tcp_config.h"
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
  std::mutex threads_mutex;
  std::vector<std::thread::id> threads;  // the thread of each collect, in order

 protected:
  Status start_impl(const CollectorContext&) override {
    if (mode_ == Mode::kFailStart) return Status::error("fake kernel feature missing");
    return Status::ok();
  }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    {
      std::lock_guard<std::mutex> lock(threads_mutex);
      threads.push_back(std::this_thread::get_id());
    }
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

// `made`, when given, receives the instance the manager creates.
CollectorDescriptor fake(const std::string& name, FakeCollector::Mode mode,
                         std::shared_ptr<FakeCollector*> made = nullptr) {
  return {.name = name,
          .description = "fake " + name,
          .needs = {},
          .ladders = {},
          .factory = [name, mode, made] {
            auto collector = std::make_unique<FakeCollector>(name, mode);
            if (made) *made = collector.get();
            return collector;
          }};
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
  config_.collector<SnmpConfig>().common.required = true;
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
  config_.collector<SnmpConfig>().common.enabled = false;
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
  next.collector<SnmpConfig>().sample_interval_seconds = 10;
  next.collector<TcpConfig>().common.enabled = false;
  ASSERT_TRUE(manager.reload(next).is_ok());
  auto summaries = manager.summaries();
  EXPECT_EQ(summaries[0].state, "active");
  EXPECT_EQ(summaries[1].state, "disabled");
  EXPECT_EQ(manager.config().collector<SnmpConfig>().sample_interval_seconds, 10);
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

// Collectors of a scrape run on persistent workers (no thread per collector
// per scrape); scrape() runs one of them on the calling thread.
TEST_F(CollectorManagerTest, CollectorsRunOnPersistentWorkersAndOneInline) {
  auto a = std::make_shared<FakeCollector*>(nullptr);
  auto b = std::make_shared<FakeCollector*>(nullptr);
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("a", FakeCollector::Mode::kGood, a)).is_ok());
  ASSERT_TRUE(registry.add(fake("b", FakeCollector::Mode::kGood, b)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  for (int i = 0; i < 3; ++i) render(manager.Collect());
  int deliveries = 0;
  std::string text;
  std::thread::id delivered_on;
  for (int i = 0; i < 3; ++i) {
    manager.scrape(std::chrono::steady_clock::now() + std::chrono::seconds(5),
                   [&](std::vector<prometheus::MetricFamily>&& families) {
                     ++deliveries;
                     delivered_on = std::this_thread::get_id();
                     text = render(families);
                   });
  }
  EXPECT_EQ(deliveries, 3);
  EXPECT_EQ(delivered_on, std::this_thread::get_id());
  EXPECT_EQ(testing::metric_value(text, "netobs_fake_a_total", "kind=\"x\""), 42);
  EXPECT_EQ(testing::metric_value(text, "netobs_fake_b_total", "kind=\"x\""), 42);
  const auto here = std::this_thread::get_id();
  ASSERT_EQ((*a)->threads.size(), 6u);
  ASSERT_EQ((*b)->threads.size(), 6u);
  // "a" always ran on one worker thread; "b" on its own worker for Collect()
  // and on this thread for scrape().
  EXPECT_EQ(std::set<std::thread::id>((*a)->threads.begin(), (*a)->threads.end()).size(), 1u);
  EXPECT_NE((*a)->threads[0], here);
  EXPECT_NE((*b)->threads[0], here);
  EXPECT_NE((*b)->threads[0], (*a)->threads[0]);
  EXPECT_EQ((*b)->threads[1], (*b)->threads[0]);
  EXPECT_EQ((*b)->threads[3], here);
  EXPECT_EQ((*b)->threads[5], here);
}

// The collector on the scraping thread overruns: the watchdog delivers at the
// deadline (from its own thread), once; scrape() returns when the collector
// is done; the next scrape while it still runs shares that collect.
TEST_F(CollectorManagerTest, InlineCollectorOverrunIsDeliveredByTheWatchdog) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("slow", FakeCollector::Mode::kSlow)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());

  std::mutex mutex;
  std::vector<std::string> texts;
  std::vector<double> delivered_after;
  std::vector<std::thread::id> delivered_on;
  const auto start = std::chrono::steady_clock::now();
  auto deliver = [&](std::vector<prometheus::MetricFamily>&& families) {
    std::lock_guard<std::mutex> lock(mutex);
    texts.push_back(render(families));
    delivered_after.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    delivered_on.push_back(std::this_thread::get_id());
  };
  std::thread scraper([&] {
    manager.scrape(start + std::chrono::milliseconds(150), deliver);
    std::lock_guard<std::mutex> lock(mutex);
    delivered_after.push_back(
        -std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_EQ(texts.size(), 1u);  // delivered, while the scraper is still in "slow"
    EXPECT_GE(delivered_after[0], 0.14);
    EXPECT_LT(delivered_after[0], 0.29);
    EXPECT_NE(delivered_on[0], scraper.get_id());
    EXPECT_EQ(
        testing::metric_value(texts[0], "netobs_scrape_collector_success", "collector=\"slow\""),
        0);
    EXPECT_EQ(testing::metric_value(texts[0], "netobs_fake_good_total", "kind=\"x\""), 42);
  }
  // A second scrape meanwhile joins the collect of "slow" still running and
  // gets its result: complete, without a second collect.
  std::string second =
      render(manager.collect_until(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_EQ(testing::metric_value(second, "netobs_scrape_collector_success", "collector=\"slow\""),
            1);
  EXPECT_EQ(testing::metric_value(second, "netobs_fake_slow_total", "kind=\"x\""), 42);
  EXPECT_EQ(testing::metric_value(second, "netobs_scrape_collector_success", "collector=\"good\""),
            1);
  scraper.join();
  ASSERT_EQ(texts.size(), 1u);  // never delivered twice
  ASSERT_EQ(delivered_after.size(), 2u);
  EXPECT_LE(delivered_after[1], -0.59);  // scrape() returned after the 600 ms collector
  // Once it has finished, it is scraped again, inline.
  manager.scrape(std::chrono::steady_clock::now() + std::chrono::seconds(5), deliver);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(delivered_on[1], std::this_thread::get_id());
  EXPECT_EQ(
      testing::metric_value(texts[1], "netobs_scrape_collector_success", "collector=\"slow\""), 1);
}

// A collector on a worker overruns while the inline one is quick: the
// scraping thread itself delivers at the deadline.
TEST_F(CollectorManagerTest, WorkerCollectorOverrunIsDeliveredAtTheDeadline) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("slow", FakeCollector::Mode::kSlow)).is_ok());
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  const auto start = std::chrono::steady_clock::now();
  int deliveries = 0;
  std::string text;
  manager.scrape(start + std::chrono::milliseconds(150),
                 [&](std::vector<prometheus::MetricFamily>&& families) {
                   ++deliveries;
                   text = render(families);
                 });
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(deliveries, 1);
  EXPECT_GE(elapsed, 0.14);
  EXPECT_LT(elapsed, 0.5);
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"slow\""),
            0);
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"good\""),
            1);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // let "slow" finish
}

// Several scrapes at once: every one gets every collector's families, and a
// collector runs one collect for all the scrapes that overlap it.
TEST_F(CollectorManagerTest, OverlappingScrapesShareTheInFlightCollect) {
  CollectorRegistry registry;
  auto slow = std::make_shared<FakeCollector*>(nullptr);
  ASSERT_TRUE(registry.add(fake("slow", FakeCollector::Mode::kSlow, slow)).is_ok());
  ASSERT_TRUE(registry.add(fake("good", FakeCollector::Mode::kGood)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::string log;
  capture_log_for_test(&log);
  constexpr int kScrapes = 6;
  std::vector<std::string> texts(kScrapes);
  std::vector<std::thread> scrapers;
  for (int i = 0; i < kScrapes; ++i) {
    scrapers.emplace_back([&, i] {
      if (i % 2 == 0) {
        texts[i] = render(
            manager.collect_until(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
      } else {
        manager.scrape(std::chrono::steady_clock::now() + std::chrono::seconds(5),
                       [&](std::vector<prometheus::MetricFamily>&& f) { texts[i] = render(f); });
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : scrapers) t.join();
  capture_log_for_test(nullptr);
  for (const std::string& text : texts) {
    EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"slow\""),
              1);
    EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"good\""),
              1);
    EXPECT_EQ(testing::metric_value(text, "netobs_fake_slow_total", "kind=\"x\""), 42);
    EXPECT_EQ(testing::metric_value(text, "netobs_fake_good_total", "kind=\"x\""), 42);
  }
  // All six started within ~120 ms of one 600 ms collect: they shared it.
  std::lock_guard<std::mutex> lock((*slow)->threads_mutex);
  EXPECT_EQ((*slow)->threads.size(), 1u);
  EXPECT_THAT(log, Not(HasSubstr("level=warn")));
}

// A scrape joining a collect that overruns its own deadline reports failure
// at the deadline; the overrun warning is logged once a minute per collector,
// with the count of those suppressed.
TEST_F(CollectorManagerTest, OverrunWarningsAreRateLimited) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("slow", FakeCollector::Mode::kSlow)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::string log;
  capture_log_for_test(&log);
  for (int i = 0; i < 5; ++i) {
    std::string text = render(
        manager.collect_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"slow\""),
              0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // let "slow" finish
  capture_log_for_test(nullptr);
  size_t warnings = 0;
  for (size_t at = log.find("overran"); at != std::string::npos; at = log.find("overran", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
}

// Reloads that restart a collector while scrapes run: every scrape still gets
// every collector (a reload waits for running scrapes, new ones wait for it).
TEST_F(CollectorManagerTest, ScrapesDuringReloadsAreComplete) {
  CollectorRegistry registry;
  ASSERT_TRUE(registry.add(fake("snmp", FakeCollector::Mode::kGood)).is_ok());
  ASSERT_TRUE(registry.add(fake("tcp", FakeCollector::Mode::kGood)).is_ok());
  CollectorManager manager(registry, preflight_);
  ASSERT_TRUE(manager.start(config_).is_ok());
  std::atomic<bool> done = false;
  std::atomic<int> scrapes = 0;
  std::atomic<int> incomplete = 0;
  std::vector<std::thread> scrapers;
  for (int t = 0; t < 4; ++t) {
    scrapers.emplace_back([&, t] {
      while (!done.load()) {
        std::string text;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        if (t % 2 == 0) {
          text = render(manager.collect_until(deadline));
        } else {
          manager.scrape(deadline,
                         [&](std::vector<prometheus::MetricFamily>&& f) { text = render(f); });
        }
        ++scrapes;
        for (const char* name : {"snmp", "tcp"}) {
          const std::string label = std::string("collector=\"") + name + "\"";
          if (testing::metric_value(text, "netobs_scrape_collector_success", label) != 1 ||
              text.find(std::string("netobs_fake_") + name + "_total") == std::string::npos) {
            ++incomplete;
          }
        }
      }
    });
  }
  Config next = config_;
  for (int round = 0; round < 100; ++round) {
    next.collector<SnmpConfig>().sample_interval_seconds = round % 2 == 0 ? 10 : 20;
    ASSERT_TRUE(manager.reload(next).is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  done = true;
  for (auto& t : scrapers) t.join();
  EXPECT_GT(scrapes.load(), 100);
  EXPECT_EQ(incomplete.load(), 0);
}

TEST(LogLimiterTest, LetsOneRecordThroughPerIntervalAndCountsTheRest) {
  LogLimiter limiter(std::chrono::seconds(60));
  const auto t0 = LogLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(limiter.admit("a", t0), 0u);
  EXPECT_EQ(limiter.admit("a", t0 + std::chrono::seconds(1)), std::nullopt);
  EXPECT_EQ(limiter.admit("a", t0 + std::chrono::seconds(2)), std::nullopt);
  EXPECT_EQ(limiter.admit("b", t0 + std::chrono::seconds(2)), 0u);  // keys are separate
  EXPECT_EQ(limiter.admit("a", t0 + std::chrono::seconds(61)), 2u);
  EXPECT_EQ(limiter.admit("a", t0 + std::chrono::seconds(62)), std::nullopt);
}

TEST(LogTest, ControlCharactersAreEscaped) {
  std::string log;
  capture_log_for_test(&log);
  log_warn("bad", {{"file", std::string("a\x1b[31mred\rb\x01\x7f\ttab\nz")}});
  capture_log_for_test(nullptr);
  EXPECT_THAT(log, HasSubstr("file=\"a\\x1b[31mred\\rb\\x01\\x7f\\ttab\\nz\""));
  EXPECT_EQ(log.find('\x1b'), std::string::npos);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1);
}

}  // namespace
}  // namespace netobs
