// The built binaries on the real kernel, in a network namespace the test
// creates, with an nftables rule that counts and drops UDP to one port:
// `netobs drops --json` lists the rule's drops with their count, the reason
// NETFILTER_DROP and the kernel function (a text symbol of /proc/kallsyms)
// where they happened; the receive-buffer drops of a socket the test holds
// name the test's process; netobs_exporter (drops only) exports the same
// count, and promtool accepts the output.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>  // tcp_netns.h uses HUGE_VAL
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::Netns;
using Clock = std::chrono::steady_clock;

void send_udp(Netns& ns, uint16_t port, int count) {
  ns.run([&] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = tcptest::ipv4("127.0.0.1", port);
    for (int i = 0; i < count; ++i) {
      sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    close(fd);
  });
}

uint64_t rule_counter(Netns& ns) {
  testing::CommandResult listed = testing::run_command(
      {"ip", "netns", "exec", ns.name(), "nft", "list", "chain", "inet", "nobsdrops", "input"}, 30);
  std::smatch m;
  if (!std::regex_search(listed.output, m, std::regex("counter packets (\\d+)"))) return UINT64_MAX;
  return std::stoull(m[1]);
}

bool text_symbol(const std::string& name) {
  std::ifstream in("/proc/kallsyms");
  std::string address, kind, symbol;
  while (in >> address >> kind >> symbol) {
    if (symbol == name && (kind == "t" || kind == "T")) return true;
    in.ignore(1024, '\n');
  }
  return false;
}

class DropsBinaries : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    for (const std::string& binary : {testing::cli_binary(), testing::exporter_binary()}) {
      if (!std::filesystem::exists(binary)) FAIL() << binary << " not built";
    }
    ASSERT_EQ(ns_.create(), "");
    ASSERT_EQ(ns_.nft("table inet nobsdrops {\n"
                      "  chain input {\n"
                      "    type filter hook input priority 0; policy accept;\n"
                      "    udp dport 9101 counter drop\n"
                      "  }\n"
                      "}\n"),
              "");
  }
  Netns ns_{"nobsdropsE" + std::to_string(getpid())};
};

TEST_F(DropsBinaries, CliJsonListsTheRulesDropsWithTheKernelFunction) {
  testing::Subprocess cli({testing::cli_binary(), "drops", "--json", "--netns", ns_.path(),
                           "--interval", "1", "--count", "3", "--top", "0"});
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline && cli.output().find("watching") == std::string::npos) {
    ASSERT_TRUE(cli.running()) << cli.output();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(cli.output().find("watching skb:kfree_skb"), std::string::npos) << cli.output();
  send_udp(ns_, 9101, 29);
  ASSERT_EQ(cli.wait(20), 0) << cli.output();
  const uint64_t rule = rule_counter(ns_);
  ASSERT_EQ(rule, 29u);

  // One JSON object per interval; sum the rule's drops over them.
  std::istringstream lines(cli.output());
  std::string line;
  uint64_t listed = 0;
  int intervals = 0;
  const std::regex row(
      "\\{\"reason\":\"([A-Z_0-9a-z]+)\",\"reason_value\":\\d+,\"function\":\"([^\"]*)\","
      "\"location\":\"([^\"]*)\",\"interface\":\"([^\"]*)\",\"family\":\"([^\"]*)\","
      "\"protocol\":\"([^\"]*)\",\"packets\":(\\d+),\"pid\":(null|\\d+),\"comm\":[^}]*\\}");
  std::set<std::string> functions;
  while (std::getline(lines, line)) {
    if (line.rfind("{\"interval_seconds\":", 0) != 0) continue;
    ++intervals;
    for (std::sregex_iterator it(line.begin(), line.end(), row), end; it != end; ++it) {
      const std::smatch& m = *it;
      if (m[1] != "NETFILTER_DROP") continue;
      EXPECT_EQ(m[4], "lo");
      EXPECT_EQ(m[6], "udp");
      EXPECT_EQ(m[3].str().rfind(m[2].str() + "+0x", 0), 0u) << m[3];
      functions.insert(m[2]);
      listed += std::stoull(m[7]);
    }
  }
  EXPECT_EQ(intervals, 3) << cli.output();
  EXPECT_EQ(listed, rule) << cli.output();
  ASSERT_FALSE(functions.empty());
  for (const std::string& f : functions) EXPECT_TRUE(text_symbol(f)) << f << " not in kallsyms";
}

// A UDP socket of this test process with the smallest receive buffer, never
// read: `netobs drops` names this process (pid and comm) for its drops, and
// their count equals the namespace's UdpRcvbufErrors.
TEST_F(DropsBinaries, CliNamesTheProcessHoldingTheSocket) {
  const int receiver = ns_.run([] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tiny = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in addr = tcptest::ipv4("127.0.0.1", 9102);
    return bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? fd : -1;
  });
  ASSERT_GE(receiver, 0);
  testing::Subprocess cli({testing::cli_binary(), "drops", "--json", "--netns", ns_.path(),
                           "--reason", "SOCKET_RCVBUFF", "--interval", "1", "--count", "3"});
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline && cli.output().find("watching") == std::string::npos) {
    ASSERT_TRUE(cli.running()) << cli.output();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  ns_.run([] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = tcptest::ipv4("127.0.0.1", 9102);
    std::string payload(1000, 'x');
    for (int i = 0; i < 60; ++i) {
      sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    close(fd);
  });
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  ASSERT_EQ(cli.wait(20), 0) << cli.output();
  close(receiver);
  const uint64_t rcvbuf = tcptest::delta(counters_before, counters_after, "Udp.RcvbufErrors");
  EXPECT_GT(rcvbuf, 40u);

  std::ifstream comm_file("/proc/self/comm");
  std::string comm;
  std::getline(comm_file, comm);
  const std::regex row(
      "\\{\"reason\":\"SOCKET_RCVBUFF\"[^}]*\"packets\":(\\d+),\"pid\":(\\d+),"
      "\"comm\":\"([^\"]*)\"\\}");
  const std::string output = cli.output();
  uint64_t listed = 0;
  for (std::sregex_iterator it(output.begin(), output.end(), row), end; it != end; ++it) {
    EXPECT_EQ(std::stoi((*it)[2]), getpid());
    EXPECT_EQ((*it)[3], comm);
    listed += std::stoull((*it)[1]);
  }
  EXPECT_EQ(listed, rcvbuf) << output;
  EXPECT_EQ(output.find("\"pid\":null"), std::string::npos) << output;
}

TEST_F(DropsBinaries, ExporterServesTheRulesDropsAndPromtoolAcceptsThem) {
  testing::TempDir dir;
  const std::string config = dir.write(
      "netobs.yaml", "collectors:\n  drops:\n    network_namespace: " + ns_.path() + "\n");
  const int port = testing::free_tcp_port();
  testing::Subprocess exporter(
      {testing::exporter_binary(), "--collector.disable-defaults", "--collector.drops",
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--config.file=" + config});
  ASSERT_TRUE(testing::wait_for_http(port, "/metrics", 20)) << exporter.output();
  auto first = testing::http_request("127.0.0.1", port, "/metrics");
  ASSERT_TRUE(first && first->status == 200);
  EXPECT_EQ(
      testing::metric_value(first->body, "netobs_scrape_collector_success", "collector=\"drops\""),
      1)
      << exporter.output();
  EXPECT_EQ(
      testing::metric_value(first->body, "netobs_drops_reasons_info", "reason=\"NETFILTER_DROP\""),
      1);

  send_udp(ns_, 9101, 17);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto response = testing::http_request("127.0.0.1", port, "/metrics");
  ASSERT_TRUE(response && response->status == 200);
  EXPECT_EQ(testing::metric_value(
                response->body, "netobs_drops_total",
                "family=\"ipv4\",interface=\"lo\",protocol=\"udp\",reason=\"NETFILTER_DROP\""),
            static_cast<double>(rule_counter(ns_)))
      << response->body;
  const std::string file = dir.write("metrics.txt", response->body);
  auto check = testing::run_command({"sh", "-c", "promtool check metrics < " + file}, 60);
  EXPECT_EQ(check.output, "") << "promtool reported problems";
}

}  // namespace
}  // namespace netobs
