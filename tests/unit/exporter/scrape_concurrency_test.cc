// Scrapes over real loopback HTTP racing each other and SIGHUP-style reloads
// (the HTTP server, the collector manager and fake collectors in one process;
// tests/run.sh also runs this under ThreadSanitizer). Truth: every answer is
// 200 with every collector's success 1 and its family, and overlapping scrapes
// share one collect of a slow collector instead of failing it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "collectors/snmp/snmp_config.h"
#include "collectors/tcp/tcp_config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/collector_manager.h"
#include "exporter/http_server.h"
#include "exporter/metric_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

class CountingCollector : public Collector {
 public:
  CountingCollector(std::string name, int sleep_ms, std::atomic<int>& collects)
      : Collector(std::move(name)), sleep_ms_(sleep_ms), collects_(collects) {}

 protected:
  Status start_impl(const CollectorContext&) override {
    value_ = std::make_unique<int>(7);
    return Status::ok();
  }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    ++collects_;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    FamilyBuilder("netobs_counting_" + name() + "_total", "Counting.",
                  prometheus::MetricType::Counter)
        .counter({}, *value_)  // freed by stop_impl: a race would read freed memory
        .append_to(out);
    return Status::ok();
  }
  void stop_impl() override { value_.reset(); }

 private:
  int sleep_ms_;
  std::atomic<int>& collects_;
  std::unique_ptr<int> value_;
};

// "snmp" and "tcp": names with config sections, so a changed setting
// restarts them on reload.
class ScrapeConcurrencyTest : public ::testing::Test {
 protected:
  void start(int slow_ms) {
    for (auto [name, ms] : {std::pair<std::string, int>{"snmp", slow_ms}, {"tcp", 1}}) {
      std::atomic<int>& counter = name == "snmp" ? slow_collects_ : quick_collects_;
      ASSERT_TRUE(registry_
                      .add({.name = name,
                            .description = name,
                            .needs = {},
                            .ladders = {},
                            .factory =
                                [name, ms, &counter] {
                                  return std::make_unique<CountingCollector>(name, ms, counter);
                                }})
                      .is_ok());
    }
    manager_ = std::make_unique<CollectorManager>(registry_, preflight_);
    ASSERT_TRUE(manager_->start(config_).is_ok());
    server_ = std::make_unique<HttpServer>(*manager_);
    port_ = testing::free_tcp_port();
    HttpOptions options;
    options.listen_address = "127.0.0.1:" + std::to_string(port_);
    options.max_requests = 40;
    ASSERT_TRUE(server_->start(options).is_ok());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  // What is missing from one answer; empty when complete.
  std::string problem(const std::optional<testing::HttpResponse>& response) const {
    if (!response) return "no answer";
    if (response->status != 200) return "status " + std::to_string(response->status);
    std::string missing;
    for (const char* name : {"snmp", "tcp"}) {
      const std::string label = std::string("collector=\"") + name + "\"";
      if (testing::metric_value(response->body, "netobs_scrape_collector_success", label) != 1 ||
          testing::metric_value(response->body,
                                std::string("netobs_counting_") + name + "_total") != 7) {
        missing += std::string(name) + " ";
      }
    }
    return missing;
  }

  CollectorRegistry registry_;
  PreflightReport preflight_;
  Config config_;
  std::unique_ptr<CollectorManager> manager_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
  std::atomic<int> slow_collects_ = 0;
  std::atomic<int> quick_collects_ = 0;
};

TEST_F(ScrapeConcurrencyTest, OverlappingHttpScrapesAreAllCompleteAndShareTheSlowCollect) {
  start(/*slow_ms=*/400);
  constexpr int kClients = 8;
  std::vector<std::string> problems(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back(
        [&, i] { problems[i] = problem(testing::http_request("127.0.0.1", port_, "/metrics")); });
  }
  for (auto& t : clients) t.join();
  for (const std::string& p : problems) EXPECT_EQ(p, "");
  // Eight scrapes within a few ms of one 400 ms collect: far fewer collects.
  EXPECT_LT(slow_collects_.load(), kClients);
  EXPECT_GE(slow_collects_.load(), 1);
}

TEST_F(ScrapeConcurrencyTest, HttpScrapesDuringReloadsAreComplete) {
  start(/*slow_ms=*/5);
  std::atomic<bool> done = false;
  std::atomic<int> scrapes = 0;
  std::mutex mutex;
  std::vector<std::string> problems;
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 5000 && !done.load(); ++i) {
        std::string p = problem(testing::http_request("127.0.0.1", port_, "/metrics"));
        ++scrapes;
        if (!p.empty()) {
          std::lock_guard<std::mutex> lock(mutex);
          problems.push_back(p);
        }
      }
    });
  }
  Config next = config_;
  for (int round = 0; round < 40; ++round) {
    next.collector<SnmpConfig>().sample_interval_seconds = round % 2 == 0 ? 10 : 20;
    next.collector<TcpConfig>().max_groups = round % 2 == 0 ? 32 : 33;
    ASSERT_TRUE(manager_->reload(next).is_ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(scrapes.load(), 20);
  EXPECT_THAT(problems, ::testing::IsEmpty());
  EXPECT_GE(slow_collects_.load(), 1);
}

}  // namespace
}  // namespace netobs
