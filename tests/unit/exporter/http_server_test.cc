// The HTTP server over real loopback sockets with fake collectors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "exporter/bpf/preflight.h"
#include "exporter/http_server.h"
#include "exporter/metric_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SleepyCollector : public Collector {
 public:
  SleepyCollector(std::string name, int sleep_ms)
      : Collector(std::move(name)), sleep_ms_(sleep_ms) {}

 protected:
  Status start_impl(const CollectorContext&) override { return Status::ok(); }
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    FamilyBuilder("netobs_sleepy_total", "Sleepy.", prometheus::MetricType::Counter)
        .counter({{"collector", name()}}, 1)
        .append_to(out);
    return Status::ok();
  }
  void stop_impl() override {}

 private:
  int sleep_ms_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(int sleep_ms, int max_requests) {
    ASSERT_TRUE(
        registry_
            .add({.name = "sleepy",
                  .description = "sleeps <b>",
                  .needs = {},
                  .ladders = {},
                  .factory =
                      [sleep_ms] { return std::make_unique<SleepyCollector>("sleepy", sleep_ms); }})
            .is_ok());
    manager_ = std::make_unique<CollectorManager>(registry_, preflight_);
    ASSERT_TRUE(manager_->start(config_).is_ok());
    server_ = std::make_unique<HttpServer>(*manager_);
    port_ = testing::free_tcp_port();
    HttpOptions options{"127.0.0.1:" + std::to_string(port_), "/metrics", max_requests};
    ASSERT_TRUE(server_->start(options).is_ok());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  std::optional<testing::HttpResponse> get(const std::string& path,
                                           std::map<std::string, std::string> headers = {},
                                           const std::string& method = "GET") {
    return testing::http_request("127.0.0.1", port_, path, headers, 10, method);
  }

  CollectorRegistry registry_;
  PreflightReport preflight_;
  Config config_;
  std::unique_ptr<CollectorManager> manager_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ServesMetricsLandingPageAndHealth) {
  start(0, 4);
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->headers, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_EQ(testing::metric_value(metrics->body, "netobs_sleepy_total", "collector=\"sleepy\""), 1);
  auto landing = get("/");
  ASSERT_TRUE(landing);
  EXPECT_EQ(landing->status, 200);
  EXPECT_THAT(landing->body, HasSubstr("<a href=\"/metrics\">"));
  EXPECT_THAT(landing->body, HasSubstr("sleeps &lt;b&gt;"));  // escaped
  EXPECT_THAT(landing->body, HasSubstr(">active<"));
  auto health = get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
}

// The landing page says what the running configuration costs the machine.
TEST(LandingPageTest, ListsWhatTheConfigurationCosts) {
  const std::string with = render_landing_page(
      {}, {"socket: syscall tracepoints: on (syscall_details: true): every syscall <x>"},
      "/metrics");
  EXPECT_THAT(with, HasSubstr("<h2>What this configuration costs</h2>"));
  EXPECT_THAT(with, HasSubstr("<li>socket: syscall tracepoints: on (syscall_details: true): "
                              "every syscall &lt;x&gt;</li>"));
  EXPECT_THAT(render_landing_page({}, {}, "/metrics"), Not(HasSubstr("configuration costs")));
}

TEST_F(HttpServerTest, UnknownPathAndMethod) {
  start(0, 4);
  auto missing = get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "not found: metrics are at /metrics\n");
  auto post = get("/metrics", {}, "POST");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(HttpServerTest, ScrapeTimeoutHeaderBoundsTheScrape) {
  start(1500, 4);
  auto begin = std::chrono::steady_clock::now();
  auto metrics = get("/metrics", {{"X-Prometheus-Scrape-Timeout-Seconds", "0.5"}});
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_LT(elapsed, 1.2);
  EXPECT_EQ(testing::metric_value(metrics->body, "netobs_scrape_collector_success",
                                  "collector=\"sleepy\""),
            0);
}

TEST_F(HttpServerTest, ConcurrentScrapesBeyondLimitGet503) {
  start(800, 1);
  auto slow = std::async(std::launch::async, [&] { return get("/metrics"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto rejected = get("/metrics");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 503);
  EXPECT_EQ(rejected->body, "too many concurrent scrapes (limit 1, see --web.max-requests)\n");
  auto first = slow.get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
}

TEST(ListenAddressTest, ConvertsToCivetwebSyntax) {
  EXPECT_EQ(*civetweb_listening_ports(":9723"), "+9723");
  EXPECT_EQ(*civetweb_listening_ports("127.0.0.1:80"), "127.0.0.1:80");
  EXPECT_EQ(*civetweb_listening_ports("localhost:80"), "127.0.0.1:80");
  EXPECT_EQ(*civetweb_listening_ports("[::1]:9723"), "[::1]:9723");
  EXPECT_EQ(civetweb_listening_ports("9723").message(),
            "listen address \"9723\" has no port: use host:port or :port, e.g. :9723");
  EXPECT_EQ(civetweb_listening_ports(":99999").message(),
            "listen address \":99999\" has no valid port: use host:port, :port or [v6]:port with "
            "a port from 0 to 65535");
}

TEST(ScrapeBudgetTest, UsesHeaderLessMargin) {
  EXPECT_DOUBLE_EQ(scrape_budget_seconds("10", 10), 9.5);
  EXPECT_DOUBLE_EQ(scrape_budget_seconds("1", 10), 0.9);
  EXPECT_DOUBLE_EQ(scrape_budget_seconds(nullptr, 4), 3.6);
  EXPECT_DOUBLE_EQ(scrape_budget_seconds("garbage", 4), 3.6);
}

}  // namespace
}  // namespace netobs
