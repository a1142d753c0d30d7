// Every rung of the security collector's attach ladder (tp_btf, raw_tp,
// classic tracepoint) loads, attaches and reports the same alert for a
// loopback connection to a suspicious port inside a namespace the test
// creates, and an IPv6 connection to a blocklisted address (IPv4-mapped
// and plain IPv6 peers are matched in their own tries).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "exporter/events/event_sink.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

class SecurityRungsTest : public ::testing::TestWithParam<AttachKind> {};

std::string wait_for_line(std::ostringstream& out, const std::string& needle) {
  for (int i = 0; i < 60 && out.str().find(needle) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return out.str();
}

TEST_P(SecurityRungsTest, DetectsOnEveryRung) {
  NETOBS_REQUIRE_ROOT();
  testing::Netns ns("nb-sec-r" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  ASSERT_EQ(ns.exec({"ip", "addr", "add", "2001:db8::bad/128", "dev", "lo"}).exit_code, 0);
  testing::TempDir dir;
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = ns.path();
  security.rate_limit_interval_seconds = 0;  // the inbound alert has the same peer
  security.suspicious_ports = {4444};
  security.blocklists = {dir.write("bl.txt", "2001:db8::/64\n")};
  std::ostringstream alerts;
  auto sink = std::make_shared<StreamEventSink>(alerts, EventFormat::kJson,
                                                EventSchema{.kind = "security", .fields = {}});
  SecurityCollector collector({.event_sink = sink, .attribute = nullptr, .force_kind = GetParam()});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  EXPECT_EQ(collector.attach_kind(), attach_kind_name(GetParam()));

  ns.run([] {
    const int listener = tcptest::listen_on("127.0.0.1", 4444, 8);
    ASSERT_GE(listener, 0);
    const int client = tcptest::connect_to("127.0.0.1", 4444);
    ASSERT_GE(client, 0);
    close(client);
    close(listener);
  });
  std::string text = wait_for_line(alerts, "\"net.peer.port\":4444");
  EXPECT_THAT(text,
              HasSubstr("\"net.peer.ip\":\"127.0.0.1\",\"net.peer.port\":4444,\"process.pid\":" +
                        std::to_string(getpid()) + ","));

  ns.run([] {
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(8443);
    inet_pton(AF_INET6, "2001:db8::bad", &addr.sin6_addr);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(listener, 8), 0);
    int client = socket(AF_INET6, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    close(client);
    close(listener);
  });
  text = wait_for_line(alerts, "inbound connection from known bad IP");
  EXPECT_THAT(text, HasSubstr("\"net.peer.ip\":\"2001:db8::bad\",\"net.peer.port\":8443,"));
  EXPECT_THAT(text, HasSubstr("\"netobs.blocklist\":\"" + security.blocklists[0] + ":1\""));
  // The accepting side of both connections completed its handshake inbound:
  // the blocklisted peer (its own address) is an inbound alert too.
  EXPECT_THAT(text, HasSubstr("Suspicious inbound connection from known bad IP"));
  collector.stop();
}

// The global filters apply in the kernel: an excluded port or CIDR is
// looked at (counted as checked) but never an alert. A blocklist file that
// changes is re-read without a signal.
TEST(SecurityFiltersTest, ExcludedPortsAndCidrsAreSkippedAndChangedFilesReread) {
  NETOBS_REQUIRE_ROOT();
  testing::Netns ns("nb-sec-f" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  testing::TempDir dir;
  Config config = default_config();
  config.network.exclude_ports = {4444};
  config.network.exclude_cidrs = {"127.0.0.2/32"};
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = ns.path();
  security.suspicious_ports = {4444, 4445};
  security.blocklists = {dir.write("bl.txt", "127.0.0.2\n")};
  security.blocklist_check_interval_seconds = 0.1;
  security.rate_limit_interval_seconds = 0;
  std::ostringstream alerts;
  auto sink = std::make_shared<StreamEventSink>(alerts, EventFormat::kJson,
                                                EventSchema{.kind = "security", .fields = {}});
  SecurityCollector collector({.event_sink = sink});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  auto connect_once = [&](const char* ip, uint16_t port) {
    ns.run([&] {
      const int listener = tcptest::listen_on(ip, port, 8);
      ASSERT_GE(listener, 0);
      const int client = tcptest::connect_to(ip, port);
      ASSERT_GE(client, 0);
      close(client);
      close(listener);
    });
  };
  connect_once("127.0.0.1", 4444);  // excluded port
  connect_once("127.0.0.2", 8080);  // blocklisted, but an excluded CIDR
  connect_once("127.0.0.1", 4445);  // the one alert
  const std::string text = wait_for_line(alerts, "\"net.peer.port\":4445");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_THAT(text, HasSubstr("\"net.peer.port\":4445"));
  // 3 connects and 3 accepts looked at.
  EXPECT_EQ(collector.snapshot().connections_checked, 6u);

  dir.write("bl.txt", "127.0.0.2\n127.0.0.3\n");
  for (int i = 0; i < 40 && collector.snapshot().blocklist_entries != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(collector.snapshot().blocklist_entries, 2u);
  EXPECT_EQ(collector.snapshot().blocklist_loads, 2u);
  connect_once("127.0.0.3", 8080);
  EXPECT_THAT(wait_for_line(alerts, "127.0.0.3"),
              HasSubstr("\"net.peer.ip\":\"127.0.0.3\",\"net.peer.port\":8080"));
  collector.stop();
}

INSTANTIATE_TEST_SUITE_P(Rungs, SecurityRungsTest,
                         ::testing::Values(AttachKind::kTpBtf, AttachKind::kRawTp,
                                           AttachKind::kTracepoint),
                         [](const auto& info) {
                           return std::string(attach_kind_name(info.param));
                         });

}  // namespace
}  // namespace netobs
