// Reloads while Prometheus-like clients scrape (root): every collector runs,
// xdp attached to a veth pair in a namespace the test creates; the exporter
// gets SIGHUP with two configs in turn, each restarting every collector,
// while several clients scrape without pause. Truth: every answer is 200 and
// complete (each collector's netobs_scrape_collector_success is 1 and its own
// families are present), every reload is logged as applied, the process
// never dies, and SIGTERM ends it promptly. Names carry the nbrob prefix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/support/exporter_process.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

const std::vector<std::string> kCollectors = {"snmp", "socket", "tcp", "dns", "xdp", "drops"};

// A family each collector always exports while it runs (checked on top of
// its success gauge: a complete answer has the collector's own series).
const std::map<std::string, std::string> kFamilyOf = {
    {"snmp", "netobs_snmp_parse_errors_total"},
    {"socket", "netobs_series_dropped_total"},
    {"tcp", "netobs_tcp_connections"},
    {"dns", "netobs_dns_"},
    {"xdp", "netobs_xdp_"},
    {"drops", "netobs_drops_"},
};

// Two configs differing in one setting of every collector, so each reload
// restarts all six (xdp detaches and re-attaches to the veth).
std::string config_yaml(int variant) {
  const bool a = variant == 0;
  return std::string("collectors:\n") +                                 //
         "  snmp:\n    sample_interval: " + (a ? "5s" : "4s") + "\n" +  //
         "  socket:\n    max_processes: " + (a ? "64" : "63") + "\n" +  //
         "  tcp:\n    max_groups: " + (a ? "64" : "63") + "\n" +        //
         "  dns:\n    max_servers: " + (a ? "32" : "31") + "\n" +       //
         "  xdp:\n    enabled: true\n    interfaces: [\"nbr*\"]\n" +    //
         "    top_talkers: " + (a ? "10" : "9") + "\n" +                //
         "  drops:\n    max_entries: " + (a ? "10240" : "10000") + "\n";
}

// What is missing from one scrape; empty when complete.
std::string incomplete(const std::string& text) {
  std::string missing;
  for (const std::string& name : kCollectors) {
    const auto success = testing::metric_value(text, "netobs_scrape_collector_success",
                                               "collector=\"" + name + "\"");
    if (success != 1)
      missing += name + " success=" + (success ? std::to_string(*success) : "-") + " ";
    if (text.find(kFamilyOf.at(name)) == std::string::npos) missing += name + " families ";
  }
  return missing;
}

class ReloadStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    ASSERT_EQ(ns_.create(), "");
    auto veth = ns_.exec({"ip", "link", "add", "nbr0", "type", "veth", "peer", "name", "nbr0p"});
    ASSERT_EQ(veth.exit_code, 0) << veth.output;
    for (const char* dev : {"nbr0", "nbr0p"}) {
      ASSERT_EQ(ns_.exec({"ip", "link", "set", dev, "up"}).exit_code, 0);
    }
  }

  testing::Netns ns_{"nbrob" + std::to_string(getpid())};
};

TEST_F(ReloadStressTest, ReloadsUnderContinuousScrapesServeCompleteAnswers) {
  testing::ExporterProcess exporter(
      {.collectors = kCollectors, .config_yaml = config_yaml(0), .netns = ns_.name()});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 60)) << exporter.output();
  const std::string first = exporter.scrape();
  ASSERT_EQ(incomplete(first), "") << first << exporter.output();

  constexpr int kClients = 4;
  constexpr int kReloads = 12;
  std::atomic<bool> done = false;
  std::atomic<int> scrapes = 0;
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      ns_.run([&] {
        // Bounded: at most 2000 scrapes per client.
        for (int i = 0; i < 2000 && !done.load(); ++i) {
          auto response = testing::http_request("127.0.0.1", exporter.port(), "/metrics", {}, 30);
          ++scrapes;
          std::string problem;
          if (!response) {
            problem = "no answer";
          } else if (response->status != 200) {
            problem = "status " + std::to_string(response->status);
          } else {
            problem = incomplete(response->body);
          }
          if (!problem.empty()) {
            std::lock_guard<std::mutex> lock(mutex);
            failures.push_back(problem);
          }
        }
      });
    });
  }
  size_t reloaded = 0;
  for (int round = 1; round <= kReloads; ++round) {
    std::ofstream(exporter.config_path(), std::ios::trunc) << config_yaml(round % 2);
    exporter.process().signal(SIGHUP);
    // Wait for this reload to be applied before the next one (at most 30 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string log = exporter.output();
      size_t count = 0;
      for (size_t at = log.find("msg=\"config reloaded\""); at != std::string::npos;
           at = log.find("msg=\"config reloaded\"", at + 1)) {
        ++count;
      }
      if (count >= static_cast<size_t>(round)) {
        reloaded = count;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(exporter.process().running()) << exporter.output();
  }
  done = true;
  for (auto& client : clients) client.join();

  EXPECT_EQ(reloaded, static_cast<size_t>(kReloads)) << exporter.output();
  EXPECT_GT(scrapes.load(), kClients * kReloads);
  EXPECT_THAT(failures, ::testing::IsEmpty()) << failures.size() << " of " << scrapes.load();
  const std::string last = exporter.scrape();
  EXPECT_EQ(testing::metric_value(last, "netobs_config_last_reload_successful"), 1) << last;
  std::cout << "[ stress   ] " << scrapes.load() << " scrapes by " << kClients << " clients, "
            << reloaded << " reloads, " << failures.size() << " incomplete\n";

  // Concurrent scrapes at once (no reload): all complete, no overrun warning.
  std::vector<std::string> bodies(8);
  std::vector<std::thread> burst;
  for (size_t i = 0; i < bodies.size(); ++i) {
    burst.emplace_back([&, i] { bodies[i] = exporter.scrape(); });
  }
  for (auto& t : burst) t.join();
  for (const std::string& body : bodies) EXPECT_EQ(incomplete(body), "");
  EXPECT_THAT(exporter.output(), ::testing::Not(::testing::HasSubstr("overran")));

  const auto stop = std::chrono::steady_clock::now();
  EXPECT_EQ(exporter.terminate(15), 0) << exporter.output();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - stop).count(), 12);
  // xdp detached from the veth on exit.
  EXPECT_THAT(ns_.exec({"ip", "-d", "link", "show", "nbr0"}).output,
              ::testing::Not(::testing::HasSubstr("prog/xdp")));
}

}  // namespace
}  // namespace netobs
