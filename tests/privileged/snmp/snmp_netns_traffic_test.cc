// Live check of the snmp collector on the real kernel. The test creates its
// own network namespace, so only its own traffic moves that namespace's
// /proc/net counters; it runs netobs_exporter (snmp only) inside it, drives
// real TCP traffic with ~10 % of client segments dropped on input by an
// nftables `numgen random` rule (forcing retransmissions) plus UDP datagrams, and
// checks the exported counters exactly against what it did and against fresh
// reads of /proc, and that the 1m rates moved with the traffic.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "collectors/snmp/snmp_config.h"
#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/rate_history.h"
#include "config/config.h"
#include "tests/support/exporter_process.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kConnections = 20;
constexpr size_t kBytesPerConnection = 256 * 1024;
constexpr uint16_t kTcpPort = 5201;
constexpr uint16_t kUdpPort = 5353;
constexpr uint16_t kClosedUdpPort = 5354;
constexpr int kDatagrams = 100;
constexpr int kDatagramsToClosedPort = 7;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The test's namespace, entered by this thread (and everything it starts
// afterwards), with lo at MTU 1500 and without GSO (many packets per
// connection, so drops hit data, not only handshakes).
std::string enter_netns(testing::Netns& netns) {
  if (std::string error = netns.enter(); !error.empty()) return error;
  testing::CommandResult up =
      testing::run_command({"ip", "link", "set", "lo", "up", "mtu", "1500"}, 30);
  if (up.exit_code != 0) return "ip link set lo up failed: " + up.output;
  // One MSS per packet (no GSO super-packets), so the drop rule hits segments.
  up = testing::run_command({"ip", "link", "set", "lo", "gso_max_segs", "1"}, 30);
  if (up.exit_code != 0) return "ip link set lo up failed: " + up.output;
  return "";
}

std::map<std::string, MibValue> read_proc() {
  std::map<std::string, MibValue> values;
  for (const MibEntry& entry : read_mib_snapshot("/proc").parsed.entries) {
    values[entry.group + "." + entry.field] = entry.value;
  }
  return values;
}

uint64_t at(const std::map<std::string, MibValue>& values, const std::string& name) {
  auto it = values.find(name);
  EXPECT_NE(it, values.end()) << name;
  return it == values.end() ? 0 : it->second.bits;
}

// Every netobs_snmp_mib_total / _current series of a scrape, by Group.Field.
std::map<std::string, double> exported_fields(const std::string& text) {
  std::map<std::string, double> values;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("netobs_snmp_mib_total{", 0) != 0 &&
        line.rfind("netobs_snmp_mib_current{", 0) != 0) {
      continue;
    }
    auto label = [&](const std::string& key) {
      size_t start = line.find(key + "=\"") + key.size() + 2;
      return line.substr(start, line.find('"', start) - start);
    };
    values[label("group") + "." + label("field")] =
        std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return values;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A server that accepts `count` connections one by one, reads each to EOF,
// counts the bytes, and closes.
class SinkServer {
 public:
  explicit SinkServer(int count) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(kTcpPort);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 64) == 0;
    thread_ = std::thread([this, count] { serve(count); });
  }
  ~SinkServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  bool ok() const { return ok_; }
  uint64_t bytes() const { return bytes_; }
  int accepted() const { return accepted_; }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void serve(int count) {
    auto start = Clock::now();
    while (accepted_ < count && !stop_ && seconds_since(start) < 120) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      ++accepted_;
      set_timeouts(conn, 30);
      char buffer[65536];
      while (true) {
        ssize_t n = recv(conn, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        bytes_ += static_cast<uint64_t>(n);
      }
      close(conn);
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// One client connection: connect, send everything, half-close, wait for the
// server's close. False on any failure or timeout.
bool send_one(const std::string& payload) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  set_timeouts(fd, 30);
  sockaddr_in addr = loopback(kTcpPort);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  size_t sent = 0;
  while (ok && sent < payload.size()) {
    ssize_t n = send(fd, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) ok = false;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  if (ok) shutdown(fd, SHUT_WR);
  char byte;
  if (ok) ok = recv(fd, &byte, 1, 0) == 0;  // the server's FIN
  close(fd);
  return ok;
}

// Sends UDP datagrams to a bound socket (and reads them all) and to a port
// nobody listens on. Returns how many the receiver got.
int udp_traffic() {
  int receiver = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = loopback(kUdpPort);
  bind(receiver, reinterpret_cast<sockaddr*>(&to), sizeof to);
  set_timeouts(receiver, 5);
  int received = 0;
  char buffer[64] = "netobs";
  for (int i = 0; i < kDatagrams; ++i) {
    sendto(sender, buffer, 32, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    if (recv(receiver, buffer, sizeof buffer, 0) == 32) ++received;  // keeps the queue short
  }
  sockaddr_in closed = loopback(kClosedUdpPort);
  for (int i = 0; i < kDatagramsToClosedPort; ++i) {
    sendto(sender, buffer, 32, 0, reinterpret_cast<sockaddr*>(&closed), sizeof closed);
  }
  close(sender);
  close(receiver);
  return received;
}

class Scraper {
 public:
  explicit Scraper(int port) : port_(port) {}
  // One scrape = one TCP connection in the namespace (counted by the caller).
  std::string scrape() {
    ++count_;
    auto response = testing::http_request("127.0.0.1", port_, "/metrics", {}, 10);
    EXPECT_TRUE(response && response->status == 200);
    return response ? response->body : "";
  }
  int count() const { return count_; }

 private:
  int port_;
  int count_ = 0;
};

TEST(SnmpNetnsTraffic, ExactCountersAndRatesFollowTraffic) {
  NETOBS_REQUIRE_ROOT();
  for (const char* tool : {"ip", "nft"}) {
    if (testing::run_command({"sh", "-c", std::string("command -v ") + tool}, 10).exit_code != 0) {
      if (testing::running_in_ci()) FAIL() << tool << " not installed (iproute2, nftables)";
      GTEST_SKIP() << tool << " not installed (iproute2, nftables)";
    }
  }
  std::string binary = testing::exporter_binary();
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary;

  // Destroyed last: leaves and deletes the namespace.
  testing::Netns netns("netobs-snmp-" + std::to_string(getpid()));
  std::string error = enter_netns(netns);
  ASSERT_EQ(error, "");

  testing::TempDir dir;
  testing::ExporterProcess exporter({.collectors = {"snmp"},
                                     .config_yaml = "collectors:\n"
                                                    "  snmp:\n"
                                                    "    sample_interval: 1s\n"
                                                    "    windows: [1m, 5m]\n",
                                     .binary = binary});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 15)) << exporter.output();
  const int port = exporter.port();
  Scraper scraper(port);

  // Let the sampler take two samples so that rates exist before the traffic.
  auto start = Clock::now();
  std::string text;
  while (seconds_since(start) < 15) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto response = testing::http_request("127.0.0.1", port, "/metrics");
    if (response && testing::metric_value(response->body, "netobs_snmp_window_covered_seconds",
                                          "window=\"1m\"")) {
      break;
    }
  }

  // --- before: a fresh read of /proc, then one scrape (one more connection).
  std::map<std::string, MibValue> before = read_proc();
  text = scraper.scrape();
  std::map<std::string, double> first = exported_fields(text);
  EXPECT_EQ(first.at("Tcp.ActiveOpens"), at(before, "Tcp.ActiveOpens") + 1);
  EXPECT_EQ(first.at("Tcp.PassiveOpens"), at(before, "Tcp.PassiveOpens") + 1);
  EXPECT_EQ(first.at("Tcp.RetransSegs"), at(before, "Tcp.RetransSegs"));
  EXPECT_EQ(first.at("Udp.InDatagrams"), at(before, "Udp.InDatagrams"));
  EXPECT_EQ(first.at("Tcp.MaxConn"), -1);
  EXPECT_EQ(testing::metric_value(text, "netobs_snmp_mib_rate_per_second",
                                  "field=\"RetransSegs\",group=\"Tcp\",window=\"1m\""),
            0.0)
      << "no retransmissions yet in a fresh namespace";
  EXPECT_EQ(at(before, "Tcp.RetransSegs"), 0u);

  // --- traffic: TCP through a 10 % drop rule on the client's segments, then UDP.
  // The rule sits on the input hook: a drop on the output hook fails the send
  // locally and TCP simply sends again later, without counting a retransmission.
  std::string rules = dir.write("drop.nft",
                                "table inet netobs_snmp_test {\n"
                                "  chain in {\n"
                                "    type filter hook input priority 0;\n"
                                "    tcp dport " +
                                    std::to_string(kTcpPort) +
                                    " numgen random mod 10 == 0 drop\n"
                                    "  }\n"
                                    "}\n");
  testing::CommandResult nft = testing::run_command({"nft", "-f", rules}, 30);
  ASSERT_EQ(nft.exit_code, 0) << nft.output;
  SinkServer server(kConnections);
  ASSERT_TRUE(server.ok());
  std::string payload(kBytesPerConnection, 'x');
  int completed = 0;
  for (int i = 0; i < kConnections && seconds_since(start) < 150; ++i) {
    completed += send_one(payload) ? 1 : 0;
  }
  server.join();
  ASSERT_EQ(completed, kConnections);
  EXPECT_EQ(server.accepted(), kConnections);
  EXPECT_EQ(server.bytes(), uint64_t{kConnections} * kBytesPerConnection);
  EXPECT_EQ(udp_traffic(), kDatagrams);

  // Stop dropping and wait until nothing moves any more (pending
  // retransmissions and FINs done), then let the sampler see it.
  testing::CommandResult del =
      testing::run_command({"nft", "delete", "table", "inet", "netobs_snmp_test"}, 30);
  ASSERT_EQ(del.exit_code, 0) << del.output;
  auto quiet_start = Clock::now();
  std::map<std::string, MibValue> previous = read_proc();
  int stable = 0;
  while (stable < 3 && seconds_since(quiet_start) < 30) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::map<std::string, MibValue> now = read_proc();
    bool same = at(now, "Tcp.OutSegs") == at(previous, "Tcp.OutSegs") &&
                at(now, "Tcp.RetransSegs") == at(previous, "Tcp.RetransSegs");
    stable = same ? stable + 1 : 0;
    previous = now;
  }
  ASSERT_EQ(stable, 3) << "TCP counters kept moving after the traffic stopped";
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // > 2 sample intervals

  // --- after: fresh read, scrape, fresh read.
  std::map<std::string, MibValue> after_before_scrape = read_proc();
  text = scraper.scrape();
  std::map<std::string, MibValue> after_scrape = read_proc();
  std::map<std::string, double> second = exported_fields(text);

  // Exactly what the test did (plus its own scrape connections).
  EXPECT_EQ(second.at("Tcp.ActiveOpens"),
            at(before, "Tcp.ActiveOpens") + kConnections + scraper.count());
  EXPECT_EQ(second.at("Tcp.PassiveOpens"),
            at(before, "Tcp.PassiveOpens") + kConnections + scraper.count());
  EXPECT_EQ(second.at("Tcp.AttemptFails"), at(before, "Tcp.AttemptFails"));
  EXPECT_EQ(second.at("Tcp.CurrEstab"), 2) << "only the scrape's own two ends are established";
  EXPECT_EQ(second.at("Udp.InDatagrams"), at(before, "Udp.InDatagrams") + kDatagrams);
  EXPECT_EQ(second.at("Udp.OutDatagrams"),
            at(before, "Udp.OutDatagrams") + kDatagrams + kDatagramsToClosedPort);
  EXPECT_EQ(second.at("Udp.NoPorts"), at(before, "Udp.NoPorts") + kDatagramsToClosedPort);
  // Retransmissions happened and stopped: the scrape equals both fresh reads.
  uint64_t retrans = at(after_scrape, "Tcp.RetransSegs");
  // About 10 % of ~3600 client data segments are dropped: hundreds of retransmissions.
  EXPECT_GT(retrans, at(before, "Tcp.RetransSegs") + 50);
  EXPECT_GT(second.at("TcpExt.TCPFastRetrans"), first.at("TcpExt.TCPFastRetrans"));
  EXPECT_EQ(second.at("Tcp.RetransSegs"), retrans);
  EXPECT_EQ(at(after_before_scrape, "Tcp.RetransSegs"), retrans);

  // Every exported field lies between the reads just before and after the scrape.
  size_t checked = 0;
  for (const auto& [name, value] : after_scrape) {
    auto it = second.find(name);
    ASSERT_NE(it, second.end()) << name << " not exported";
    auto old = after_before_scrape.find(name);
    ASSERT_NE(old, after_before_scrape.end());
    if (name == "Tcp.CurrEstab" || value.negative) continue;  // gauges may go either way
    EXPECT_LE(old->second.as_double(), it->second) << name;
    EXPECT_LE(it->second, value.as_double()) << name;
    ++checked;
  }
  EXPECT_GT(checked, 200u);

  // Rates: the sampler's window holds everything since its first sample, which
  // came before any retransmission; rate x covered = the increase we caused.
  auto rate = [&](const std::string& field, const std::string& group, const std::string& window) {
    return testing::metric_value(
        text, "netobs_snmp_mib_rate_per_second",
        "field=\"" + field + "\",group=\"" + group + "\",window=\"" + window + "\"");
  };
  std::optional<double> covered_1m =
      testing::metric_value(text, "netobs_snmp_window_covered_seconds", "window=\"1m\"");
  std::optional<double> covered_5m =
      testing::metric_value(text, "netobs_snmp_window_covered_seconds", "window=\"5m\"");
  ASSERT_TRUE(covered_1m && covered_5m);
  std::string window = *covered_1m < 59 ? "1m" : "5m";  // the 1m window unless the test was slow
  double covered = window == "1m" ? *covered_1m : *covered_5m;
  std::optional<double> retrans_rate = rate("RetransSegs", "Tcp", window);
  ASSERT_TRUE(retrans_rate);
  EXPECT_GT(*rate("RetransSegs", "Tcp", "1m"), 0) << "the 1m rate must move with the drops";
  EXPECT_NEAR(*retrans_rate * covered, static_cast<double>(retrans - at(before, "Tcp.RetransSegs")),
              1e-6 * static_cast<double>(retrans) + 1e-6);
  std::optional<double> opens_rate = rate("ActiveOpens", "Tcp", window);
  ASSERT_TRUE(opens_rate);
  EXPECT_GE(*opens_rate * covered + 1e-6, kConnections);
  std::optional<double> no_ports = rate("NoPorts", "Udp", window);
  ASSERT_TRUE(no_ports);
  EXPECT_NEAR(*no_ports * covered, kDatagramsToClosedPort, 1e-6);

  // Ratios and verdicts agree with each other and with the thresholds.
  std::optional<double> ratio = testing::metric_value(text, "netobs_snmp_derived_ratio",
                                                      "ratio=\"retransmission\",window=\"1m\"");
  ASSERT_TRUE(ratio);
  EXPECT_GT(*ratio, 0);
  EXPECT_LT(*ratio, 1);
  std::optional<double> verdict =
      testing::metric_value(text, "netobs_snmp_verdict", "check=\"retransmission_ratio\"");
  ASSERT_TRUE(verdict);
  EXPECT_GE(*verdict, 1) << "a 10 % drop rate is far above the 1 % warning threshold";
  SnmpThresholds defaults;
  EXPECT_EQ(*verdict, static_cast<double>(grade(*ratio, defaults.retrans_ratio_warning,
                                                defaults.retrans_ratio_critical)));
  std::optional<double> parse_errors =
      testing::metric_value(text, "netobs_snmp_parse_errors_total", "file=\"snmp\"");
  EXPECT_EQ(parse_errors, 0.0);
  std::cout << "traffic: " << kConnections << " connections, " << server.bytes() << " bytes, "
            << retrans - at(before, "Tcp.RetransSegs") << " retransmitted segments, " << window
            << " rate " << *retrans_rate << "/s over " << covered << " s, retransmission ratio "
            << *ratio << ", verdict " << *verdict << "\n";
}

}  // namespace
}  // namespace netobs
