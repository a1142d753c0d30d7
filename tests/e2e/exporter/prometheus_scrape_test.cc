// End to end: the built netobs_exporter with its built-in config, scraped
// over HTTP, checked by promtool, and scraped by a real Prometheus server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ExporterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::free_tcp_port();
    exporter_ = std::make_unique<testing::Subprocess>(std::vector<std::string>{
        testing::exporter_binary(), "--web.listen-address=127.0.0.1:" + std::to_string(port_)});
    ASSERT_TRUE(testing::wait_for_http(port_, "/healthz", 20)) << exporter_->output();
  }
  void TearDown() override {
    exporter_->signal(SIGTERM);
    auto code = exporter_->wait(20);
    EXPECT_EQ(code, 0) << exporter_->output();
  }

  int port_ = 0;
  std::unique_ptr<testing::Subprocess> exporter_;
};

TEST_F(ExporterE2eTest, MetricsPassPromtoolCheck) {
  auto response = testing::http_request("127.0.0.1", port_, "/metrics");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("netobs_build_info{"));
  EXPECT_THAT(response->body, HasSubstr("netobs_scrape_collector_success{collector=\"snmp\"} 1"));
  EXPECT_THAT(response->body, Not(HasSubstr("exposer_")));
  testing::TempDir dir;
  std::string file = dir.write("metrics.txt", response->body);
  auto check = testing::run_command({"sh", "-c", "promtool check metrics < " + file}, 60);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool reported problems";
}

TEST_F(ExporterE2eTest, RealPrometheusScrapesItTwiceWithUpEqualOne) {
  testing::TempDir dir;
  const int prometheus_port = testing::free_tcp_port();
  std::string config = dir.write("prometheus.yml",
                                 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                 "scrape_configs:\n  - job_name: netobs\n    static_configs:\n"
                                 "      - targets: ['127.0.0.1:" +
                                     std::to_string(port_) + "']\n");
  testing::Subprocess prometheus(
      {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.path() + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});
  ASSERT_TRUE(testing::wait_for_http(prometheus_port, "/-/ready", 60)) << prometheus.output();

  // Bounded: at most 60 s for two successful scrapes to be visible.
  std::string last;
  bool seen = false;
  for (int i = 0; i < 120 && !seen; ++i) {
    auto up = testing::http_request(
        "127.0.0.1", prometheus_port,
        "/api/v1/query?query=count_over_time(up%7Bjob%3D%22netobs%22%7D%5B1m%5D)"
        "%20and%20min_over_time(up%7Bjob%3D%22netobs%22%7D%5B1m%5D)%20%3D%3D%201");
    if (up && up->status == 200) {
      last = up->body;
      // Result value is the number of scrapes, all of them with up == 1.
      auto pos = last.find("\"value\":[");
      if (pos != std::string::npos) {
        auto quote = last.find('"', last.find(',', pos) + 1);
        double scrapes = std::strtod(last.c_str() + quote + 1, nullptr);
        seen = scrapes >= 2;
      }
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(seen) << "last answer: " << last << "\nprometheus: " << prometheus.output();

  // Prometheus also sees the exporter's own series.
  auto success = testing::http_request(
      "127.0.0.1", prometheus_port,
      "/api/v1/query?query=netobs_scrape_collector_success%7Bcollector%3D%22snmp%22%7D");
  ASSERT_TRUE(success);
  EXPECT_THAT(success->body, HasSubstr("\"value\":["));
  EXPECT_THAT(success->body, HasSubstr("\"1\"]"));
  prometheus.signal(SIGTERM);
  prometheus.wait(20);
}

// SIGHUP: an invalid new config is logged and the running one kept; a valid
// one is applied (here: disabling the snmp collector).
TEST(ExporterReloadTest, SighupKeepsRunningConfigWhenNewOneIsInvalid) {
  testing::TempDir dir;
  const std::string config = dir.write("netobs.yaml", "collectors:\n  snmp:\n    enabled: true\n");
  const int port = testing::free_tcp_port();
  testing::Subprocess exporter({testing::exporter_binary(), "--config.file=" + config,
                                "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(testing::wait_for_http(port, "/healthz", 20)) << exporter.output();
  auto scrape = [&] {
    auto r = testing::http_request("127.0.0.1", port, "/metrics");
    return r ? r->body : std::string();
  };
  auto wait_for = [&](const std::string& needle, bool present) {
    for (int i = 0; i < 100; ++i) {
      if ((scrape().find(needle) != std::string::npos) == present) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  EXPECT_EQ(testing::metric_value(scrape(), "netobs_config_last_reload_successful"), 1);

  dir.write("netobs.yaml", "collectors:\n  snmp:\n    enabled: maybe\n");
  exporter.signal(SIGHUP);
  EXPECT_TRUE(wait_for("netobs_config_last_reload_successful 0", true)) << exporter.output();
  EXPECT_THAT(scrape(), HasSubstr("netobs_scrape_collector_success{collector=\"snmp\"} 1"));
  EXPECT_THAT(exporter.output(), HasSubstr("config reload failed; keeping the running config"));
  EXPECT_THAT(exporter.output(), HasSubstr("netobs.yaml:3:14: collectors.snmp.enabled"));

  dir.write("netobs.yaml", "collectors:\n  snmp:\n    enabled: false\n");
  exporter.signal(SIGHUP);
  EXPECT_TRUE(wait_for("netobs_config_last_reload_successful 1", true)) << exporter.output();
  EXPECT_THAT(scrape(), Not(HasSubstr("collector=\"snmp\"")));

  exporter.signal(SIGTERM);
  EXPECT_EQ(exporter.wait(20), 0) << exporter.output();
}

TEST(ExporterFlagsTest, BadFlagOrConfigExitsTwoWithTheProblem) {
  auto unknown = testing::run_command({testing::exporter_binary(), "--web.bogus=1"}, 20);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown flag --web.bogus"));
  EXPECT_THAT(unknown.output, HasSubstr("usage: netobs_exporter"));

  testing::TempDir dir;
  const std::string config =
      dir.write("bad.yaml", "exporter:\n  max_requests: -3\ncollectors:\n  snmpp: {}\n");
  auto bad = testing::run_command({testing::exporter_binary(), "--config.file=" + config}, 20);
  EXPECT_EQ(bad.exit_code, 2);
  // Both errors reported, each with its location.
  EXPECT_THAT(bad.output, HasSubstr("bad.yaml:2:17: exporter.max_requests"));
  EXPECT_THAT(bad.output, HasSubstr("bad.yaml:4:3: collectors.snmpp"));

  auto version = testing::run_command({testing::exporter_binary(), "--version"}, 20);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.output, HasSubstr("netobs_exporter version "));
}

TEST(NetobsCliTest, CheckReportsConfigAndCollectors) {
  auto check = testing::run_command({testing::cli_binary(), "check"}, 30);
  EXPECT_THAT(check.output, HasSubstr("config: <built-in>: ok"));
  EXPECT_THAT(check.output, HasSubstr("  snmp: enabled, can run here"));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  // What the configuration costs: the default taxes no unrelated syscall.
  EXPECT_THAT(check.output, HasSubstr("what this configuration costs:\n"));
  EXPECT_THAT(check.output, HasSubstr("  socket: syscall tracepoints: off"));
  testing::TempDir dir;
  const std::string details =
      dir.write("details.yaml", "collectors:\n  socket:\n    syscall_details: true\n");
  auto costly =
      testing::run_command({testing::cli_binary(), "check", "--config.file", details}, 30);
  EXPECT_THAT(costly.output, HasSubstr("  socket: syscall tracepoints: on (syscall_details: true): "
                                       "every syscall on this machine takes the traced path"))
      << costly.output;
  auto help = testing::run_command({testing::cli_binary(), "check", "--help"}, 10);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.output, HasSubstr("usage: netobs check"));
  auto unknown = testing::run_command({testing::cli_binary(), "frobnicate"}, 10);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown command \"frobnicate\""));
}

}  // namespace
}  // namespace netobs
