// The security collector end to end: the exporter watches a client network
// namespace joined by a veth pair to a peer namespace holding documentation
// addresses (198.51.100.50, 203.0.113.7...: external once the built-in
// internal ranges are off, as on a network that uses them for real). The
// test's own child processes connect from the client namespace; every alert
// (events file and webhook) is checked field by field against the child's
// pid and executable, the peer it dialed, and the detection counters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/exporter_process.h"
#include "tests/support/http_receiver.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using testing::Netns;

constexpr char kClient[] = "10.77.0.1";
constexpr char kInternalPeer[] = "10.77.0.2";
constexpr char kBlocked[] = "198.51.100.50";
constexpr char kExternal[] = "203.0.113.7";
constexpr char kFlood[] = "203.0.113.9";
constexpr char kLater[] = "192.0.2.77";  // blocklisted during the test
constexpr uint16_t kServicePort = 8080;
constexpr uint16_t kSuspiciousPort = 4444;

std::string self_exe() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : "";
}

// A child of this test that connected and waits for release().
struct Child {
  pid_t pid = -1;
  int release_fd = -1;
  bool connected = false;
};

// Forks on a thread inside `ns`: the child connects to ip:port, reports,
// then waits until the parent closes the release pipe (so /proc/PID/exe
// stays readable until the alert is written). Only async-signal-safe calls
// in the child.
Child connect_from_child(Netns& ns, const char* ip, uint16_t port) {
  return ns.run([&] {
    Child child;
    int ready[2], release[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(release, O_CLOEXEC) != 0) return child;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, ip, &to.sin_addr);
    const pid_t pid = fork();
    if (pid == 0) {
      // Keep only the two pipe ends: a sibling's release pipe inherited here
      // would keep that sibling from ever seeing EOF.
      const int ready_fd = fcntl(ready[1], F_DUPFD, 1000);
      const int release_fd = fcntl(release[0], F_DUPFD, 1001);
      close_range(3, 999, 0);
      close_range(1002, ~0U, 0);
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      const char ok = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 ? 1 : 0;
      (void)!write(ready_fd, &ok, 1);
      char byte;
      while (read(release_fd, &byte, 1) > 0) {
      }
      _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char ok = 0;
    child.connected = read(ready[0], &ok, 1) == 1 && ok == 1;
    close(ready[0]);
    child.pid = pid;
    child.release_fd = release[1];
    return child;
  });
}

void release(Child& child) {
  if (child.release_fd >= 0) close(child.release_fd);
  if (child.pid > 0) waitpid(child.pid, nullptr, 0);
  child = {};
}

class SecurityEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    ASSERT_EQ(client_.create(), "");
    ASSERT_EQ(peer_.create(), "");
    ASSERT_EQ(ip({"-n", client_.name(), "link", "add", "nbsec0", "type", "veth", "peer", "name",
                  "nbsec1", "netns", peer_.name()}),
              "");
    ASSERT_EQ(
        ip({"-n", client_.name(), "addr", "add", std::string(kClient) + "/24", "dev", "nbsec0"}),
        "");
    ASSERT_EQ(ip({"-n", peer_.name(), "addr", "add", std::string(kInternalPeer) + "/24", "dev",
                  "nbsec1"}),
              "");
    for (const char* address : {kBlocked, kExternal, kFlood, kLater}) {
      ASSERT_EQ(
          ip({"-n", peer_.name(), "addr", "add", std::string(address) + "/32", "dev", "nbsec1"}),
          "");
    }
    ASSERT_EQ(ip({"-n", client_.name(), "link", "set", "nbsec0", "up"}), "");
    ASSERT_EQ(ip({"-n", peer_.name(), "link", "set", "nbsec1", "up"}), "");
    // Every peer address is on the link (the peer answers ARP for them all).
    ASSERT_EQ(ip({"-n", client_.name(), "route", "add", "default", "dev", "nbsec0"}), "");
    listeners_ = peer_.run([] {
      return std::vector<int>{tcptest::listen_on("0.0.0.0", kServicePort, 256),
                              tcptest::listen_on("0.0.0.0", kSuspiciousPort, 256)};
    });
    for (int fd : listeners_) ASSERT_GE(fd, 0);

    blocklist_ = dir_.write("blocklist.txt", "# addresses this test treats as known bad\n" +
                                                 std::string(kBlocked) +
                                                 "\nnot-an-address\n2001:db8:bad::/48\n");
    exporter_ = std::make_unique<testing::ExporterProcess>(testing::ExporterOptions{
        .collectors = {"security"},
        .config_yaml = config_yaml(),
    });
    ASSERT_TRUE(exporter_->wait_ready()) << exporter_->output();
  }

  void TearDown() override {
    for (int fd : listeners_) close(fd);
    if (exporter_) {
      EXPECT_EQ(exporter_->terminate(), 0) << exporter_->output();
    }
  }

  std::string config_yaml() const {
    return "agent:\n"
           "  network:\n"
           "    security:\n"
           "      enabled: true\n"
           "      suspicious_ports: [4444, 31337]\n"
           "      external_connection_alerts: true\n"
           "      blocklists: [\"" +
           blocklist_ +
           "\"]\n"
           "events:\n"
           "  output_dir: " +
           dir_.path() +
           "/events\n"
           "collectors:\n"
           "  security:\n"
           "    network_namespace: " +
           client_.path() +
           "\n"
           "    internal_cidrs: [10.0.0.0/8, 127.0.0.0/8]\n"
           "    builtin_internal_ranges: false\n"
           // Alerts compared whole: no container attributes from whatever
           // cgroup the test runs in (security_attribution_test covers them).
           "    attribution: none\n"
           "    rate_limit_interval: 3s\n"
           "    blocklist_check_interval: 1h\n"  // only SIGHUP re-reads in this test
           "    webhook_url: " +
           webhook_.url("/hook") + "\n";
  }

  std::string ip(std::vector<std::string> args) {
    args.insert(args.begin(), "ip");
    testing::CommandResult r = testing::run_command(args, 30);
    return r.exit_code == 0 ? "" : r.output;
  }

  // Every alert line written so far.
  std::vector<std::string> alerts() const {
    std::vector<std::string> lines;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(dir_.path() + "/events", ec)) {
      if (entry.path().extension() != ".jsonl") continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    return lines;
  }

  std::vector<std::string> alerts_of(pid_t pid) const {
    std::vector<std::string> out;
    for (const std::string& line : alerts()) {
      if (line.find("\"process.pid\":" + std::to_string(pid) + ",") != std::string::npos) {
        out.push_back(line);
      }
    }
    return out;
  }

  // Waits (at most 5 s) for an alert of `pid`, then 300 ms more for any
  // second one, and returns them all.
  std::vector<std::string> wait_alerts_of(pid_t pid) const {
    for (int i = 0; i < 100 && alerts_of(pid).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return alerts_of(pid);
  }

  double metric(const std::string& text, const std::string& name, const std::string& labels) {
    return testing::metric_value(text, name, labels).value_or(-1);
  }
  double detections(const std::string& text, const std::string& type, const std::string& severity) {
    return metric(text, "netobs_security_detections_total",
                  "detection=\"" + type + "\",severity=\"" + severity + "\"");
  }

  // The alert with its timestamp and cgroup id replaced by placeholders,
  // after checking them.
  static std::string normalized(const std::string& line) {
    static const std::regex kTimestamp(
        R"re("timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")re");
    static const std::regex kCgroup(R"re("netobs\.cgroup\.id":[1-9][0-9]*,)re");
    std::smatch match;
    EXPECT_TRUE(std::regex_search(line, match, kTimestamp)) << line;
    std::string out = std::regex_replace(line, kTimestamp, R"re("timestamp":"T")re");
    return std::regex_replace(out, kCgroup, "");
  }

  std::string expected(const std::string& severity, const std::string& body, const char* peer,
                       uint16_t port, pid_t pid, const std::string& type,
                       const std::string& matches, const std::string& extra,
                       uint64_t suppressed = 0) const {
    return "{\"timestamp\":\"T\",\"severity\":\"" + severity + "\",\"body\":\"" + body +
           "\",\"attributes\":{\"network.event_type\":\"suspicious_connection\","
           "\"net.peer.ip\":\"" +
           peer + "\",\"net.peer.port\":" + std::to_string(port) +
           ",\"process.pid\":" + std::to_string(pid) + ",\"process.executable.path\":\"" +
           self_exe() +
           "\",\"process.command\":\"security_events\",\"network.direction\":\"outbound\","
           "\"net.host.ip\":\"" +
           kClient + "\",\"netobs.detection.type\":\"" + type +
           "\",\"netobs.detection.matches\":\"" + matches + "\"" + extra +
           ",\"netobs.suppressed_count\":" + std::to_string(suppressed) + "}}";
  }

  // Connects from a child, returns its alerts (the child is released after).
  std::vector<std::string> connect_and_collect(const char* peer, uint16_t port, pid_t* pid) {
    Child child = connect_from_child(client_, peer, port);
    EXPECT_TRUE(child.connected) << peer << ":" << port;
    *pid = child.pid;
    std::vector<std::string> found = wait_alerts_of(child.pid);
    release(child);
    return found;
  }

  Netns client_{"nb-sec-c" + std::to_string(getpid())};
  Netns peer_{"nb-sec-p" + std::to_string(getpid())};
  testing::TempDir dir_;
  testing::HttpReceiver webhook_;
  std::string blocklist_;
  std::vector<int> listeners_;
  std::unique_ptr<testing::ExporterProcess> exporter_;
};

TEST_F(SecurityEventsTest, BlocklistedPeerIsOneAlertWithEveryField) {
  const std::string before = exporter_->scrape();
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kBlocked, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(alerts());
  EXPECT_EQ(normalized(found[0]),
            expected("WARNING", "Suspicious outbound connection to known bad IP", kBlocked,
                     kServicePort, pid, "blocklist", "blocklist,external_connection",
                     ",\"netobs.blocklist\":\"" + blocklist_ + ":2\""));
  const std::string after = exporter_->scrape_until("netobs_security_detections_total",
                                                    "detection=\"blocklist\",severity=\"warning\"",
                                                    detections(before, "blocklist", "warning") + 1);
  EXPECT_EQ(detections(after, "blocklist", "warning") - detections(before, "blocklist", "warning"),
            1);
  EXPECT_EQ(detections(after, "external_connection", "info"),
            detections(before, "external_connection", "info"));
  EXPECT_EQ(detections(after, "suspicious_port", "warning"),
            detections(before, "suspicious_port", "warning"));
}

TEST_F(SecurityEventsTest, SuspiciousPortIsOneAlert) {
  const std::string before = exporter_->scrape();
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kInternalPeer, kSuspiciousPort, &pid);
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(alerts());
  EXPECT_EQ(normalized(found[0]),
            expected("WARNING", "Suspicious outbound connection to port 4444", kInternalPeer,
                     kSuspiciousPort, pid, "suspicious_port", "suspicious_port", ""));
  const std::string after = exporter_->scrape_until(
      "netobs_security_detections_total", "detection=\"suspicious_port\",severity=\"warning\"",
      detections(before, "suspicious_port", "warning") + 1);
  EXPECT_EQ(detections(after, "suspicious_port", "warning") -
                detections(before, "suspicious_port", "warning"),
            1);
  EXPECT_EQ(detections(after, "blocklist", "warning"), detections(before, "blocklist", "warning"));
}

TEST_F(SecurityEventsTest, ExternalPeerIsOneAlertAndInternalPeerNone) {
  const std::string before = exporter_->scrape();
  pid_t internal_pid = 0;
  EXPECT_EQ(connect_and_collect(kInternalPeer, kServicePort, &internal_pid).size(), 0u);
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kExternal, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(alerts());
  EXPECT_EQ(normalized(found[0]),
            expected("INFO", "Outbound connection to external address", kExternal, kServicePort,
                     pid, "external_connection", "external_connection", ""));
  const std::string after = exporter_->scrape_until(
      "netobs_security_detections_total", "detection=\"external_connection\",severity=\"info\"",
      detections(before, "external_connection", "info") + 1);
  EXPECT_EQ(detections(after, "external_connection", "info") -
                detections(before, "external_connection", "info"),
            1);
  // The kernel looked at both connects; only the external one is an alert.
  EXPECT_EQ(metric(after, "netobs_security_connections_checked_total", "") -
                metric(before, "netobs_security_connections_checked_total", ""),
            2);
  EXPECT_EQ(alerts().size(), 1u);
}

TEST_F(SecurityEventsTest, MalformedBlocklistLineIsReportedWithItsNumber) {
  EXPECT_THAT(exporter_->output(),
              HasSubstr(blocklist_ + ":3: \\\"not-an-address\\\" is not an IPv4 or IPv6"));
  const std::string text = exporter_->scrape();
  EXPECT_EQ(metric(text, "netobs_security_blocklist_entries", ""), 2);
  EXPECT_EQ(metric(text, "netobs_security_blocklist_errors", ""), 1);
}

TEST_F(SecurityEventsTest, SighupRereadsTheBlocklist) {
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kLater, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0], HasSubstr("\"netobs.detection.type\":\"external_connection\""));

  std::ofstream(blocklist_, std::ios::app) << kLater << "  # added during the test\n";
  exporter_->process().signal(SIGHUP);
  const std::string reloaded =
      exporter_->scrape_until("netobs_security_blocklist_loads_total", "", 2, 10);
  ASSERT_EQ(metric(reloaded, "netobs_security_blocklist_entries", ""), 3) << exporter_->output();

  found = connect_and_collect(kLater, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(alerts());
  EXPECT_EQ(normalized(found[0]),
            expected("WARNING", "Suspicious outbound connection to known bad IP", kLater,
                     kServicePort, pid, "blocklist", "blocklist,external_connection",
                     ",\"netobs.blocklist\":\"" + blocklist_ + ":5\""));
}

TEST_F(SecurityEventsTest, WebhookReceivesEveryAlert) {
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kBlocked, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u);
  found = connect_and_collect(kInternalPeer, kSuspiciousPort, &pid);
  ASSERT_EQ(found.size(), 1u);
  const std::vector<std::string> written = alerts();
  ASSERT_EQ(written.size(), 2u);
  for (int i = 0; i < 100 && webhook_.bodies().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::vector<std::string> bodies = webhook_.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0], written[0] + "\n");
  EXPECT_EQ(bodies[1], written[1] + "\n");
  for (const std::string& request : webhook_.requests()) {
    EXPECT_THAT(request, HasSubstr("POST /hook HTTP/1.0\r\n"));
    EXPECT_THAT(request, HasSubstr("Content-Type: application/json\r\n"));
  }
  const std::string text = exporter_->scrape_until("netobs_security_webhook_sent_total", "", 2);
  EXPECT_EQ(metric(text, "netobs_security_webhook_sent_total", ""), 2);
  EXPECT_EQ(metric(text, "netobs_security_webhook_dropped_total", "reason=\"queue_full\""), 0);
}

TEST_F(SecurityEventsTest, FloodIsRateLimitedAndTheNextAlertCountsWhatWasHeldBack) {
  constexpr int kFloodConnections = 20;
  const std::string before = exporter_->scrape();
  std::vector<Child> children;
  struct ReleaseAll {
    std::vector<Child>& children;
    ~ReleaseAll() {
      for (Child& child : children) release(child);
    }
  } release_all{children};
  for (int i = 0; i < kFloodConnections; ++i) {
    children.push_back(connect_from_child(client_, kFlood, kServicePort));
    ASSERT_TRUE(children.back().connected);
  }
  const std::string during = exporter_->scrape_until(
      "netobs_security_suppressed_total", "detection=\"external_connection\"",
      metric(before, "netobs_security_suppressed_total", "detection=\"external_connection\"") +
          kFloodConnections - 1);
  EXPECT_EQ(
      metric(during, "netobs_security_suppressed_total", "detection=\"external_connection\"") -
          metric(before, "netobs_security_suppressed_total", "detection=\"external_connection\""),
      kFloodConnections - 1);
  EXPECT_EQ(detections(during, "external_connection", "info") -
                detections(before, "external_connection", "info"),
            1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::string> flood_alerts;
  for (const std::string& line : alerts()) {
    if (line.find(kFlood) != std::string::npos) flood_alerts.push_back(line);
  }
  ASSERT_EQ(flood_alerts.size(), 1u);
  EXPECT_EQ(normalized(flood_alerts[0]),
            expected("INFO", "Outbound connection to external address", kFlood, kServicePort,
                     children[0].pid, "external_connection", "external_connection", ""));
  for (Child& child : children) release(child);

  // After the interval (3 s) the next alert reports the 19 held back.
  std::this_thread::sleep_for(std::chrono::milliseconds(3200));
  pid_t pid = 0;
  std::vector<std::string> found = connect_and_collect(kFlood, kServicePort, &pid);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(normalized(found[0]),
            expected("INFO", "Outbound connection to external address", kFlood, kServicePort, pid,
                     "external_connection", "external_connection", "", kFloodConnections - 1));
}

}  // namespace
}  // namespace netobs
