// network.interfaces / exclude_interfaces for the security collector: a
// client namespace the test creates reaches a peer namespace over two veth
// pairs (10.79.1.0/24 over nb-se-a*, 10.79.2.0/24 over nb-se-b*); the peer
// listens on a suspicious port on both. With nb-se-b* excluded only the
// connection over nb-se-a* is an alert, with only nb-se-b* included only the
// one over it; both connections are looked at (counted as checked) each time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "exporter/events/event_sink.h"
#include "tests/support/line_sink.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using testing::run_command;

using testing::LineSink;

TEST(SecurityInterfacesTest, ExcludedAndIncludedInterfacesDecideWhichConnectionsAlert) {
  NETOBS_REQUIRE_ROOT();
  const std::string tag = std::to_string(::getpid() % 100000);
  testing::Netns client("nb-se-i" + tag), peer("nb-se-p" + tag);
  ASSERT_EQ(client.create(), "");
  ASSERT_EQ(peer.create(), "");
  const std::string a = "nb-se-a" + tag, b = "nb-se-b" + tag;
  for (const auto& [link, other, net] : {std::tuple{a, "nb-se-x" + tag, std::string("10.79.1.")},
                                         std::tuple{b, "nb-se-y" + tag, std::string("10.79.2.")}}) {
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"ip", "link", "add", link, "netns", client.name(), "type", "veth", "peer", "name",
              other, "netns", peer.name()},
             {"ip", "-n", client.name(), "addr", "add", net + "1/24", "dev", link},
             {"ip", "-n", client.name(), "link", "set", link, "up"},
             {"ip", "-n", peer.name(), "addr", "add", net + "2/24", "dev", other},
             {"ip", "-n", peer.name(), "link", "set", other, "up"}}) {
      const auto r = run_command(argv, 20);
      ASSERT_EQ(r.exit_code, 0) << argv[1] << " " << argv[2] << ": " << r.output;
    }
  }
  const int listener = peer.run([] { return tcptest::listen_on("0.0.0.0", 4444, 16); });
  ASSERT_GE(listener, 0);

  auto run_with = [&](const NetworkFilters& network) {
    Config config = default_config();
    config.network = network;
    SecurityConfig& security = config.collector<SecurityConfig>();
    security.common.enabled = true;
    security.network_namespace = client.path();
    security.suspicious_ports = {4444};
    security.rate_limit_interval_seconds = 0;
    auto sink = std::make_shared<LineSink>();
    SecurityCollector collector({.event_sink = sink});
    PreflightReport preflight = run_preflight();
    Status started = collector.start({config, preflight});
    EXPECT_TRUE(started) << started.message();
    if (!started) return std::vector<std::string>{};
    for (const char* ip : {"10.79.1.2", "10.79.2.2"}) {
      client.run([ip] {
        const int fd = tcptest::connect_to(ip, 4444);
        EXPECT_GE(fd, 0) << ip;
        close(fd);
      });
    }
    for (int i = 0; i < 40 && sink->lines().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a second alert would be in
    EXPECT_EQ(collector.snapshot().connections_checked, 2u);
    collector.stop();
    return sink->lines();
  };

  NetworkFilters exclude;
  exclude.exclude_interfaces = {"nb-se-b*"};
  std::vector<std::string> lines = run_with(exclude);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"net.peer.ip\":\"10.79.1.2\",\"net.peer.port\":4444,"));

  NetworkFilters include;
  include.interfaces = {"nb-se-b*"};
  lines = run_with(include);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"net.peer.ip\":\"10.79.2.2\",\"net.peer.port\":4444,"));

  lines = run_with(NetworkFilters{});  // no interface filter: both
  EXPECT_EQ(lines.size(), 2u);
  close(listener);
}

}  // namespace
}  // namespace netobs
