// The network.* filters applied to the dns collector, with real dnsmasq
// servers and dig. Two network namespaces the test creates, each joined to
// this one by a veth pair and running a dnsmasq on a port chosen for the
// test (so other DNS traffic of the machine is not counted): server A
// 10.253.54.2 behind nbdnsfa*, server B 10.253.55.2 behind nbdnsfb*. The
// collector runs with one filter at a time; queries through an excluded
// interface or to an excluded server (CIDR, port) are not counted, the
// others exactly (each dig is one query and one response), and what the
// CIDR and port filters leave out is counted in DNS_C_FILTERED.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_config.h"
#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "tests/support/dns_snapshot.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::run_command;
using testing::Subprocess;

constexpr int kQueries = 3;  // per server

struct Server {
  std::string host_link;  // this namespace's end of the veth pair
  std::string host_ip;
  std::string ip;  // dnsmasq's address in its namespace
  std::unique_ptr<testing::Netns> ns;
  std::unique_ptr<Subprocess> dnsmasq;
};

class DnsNetworkFilters : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    for (const char* tool : {"dnsmasq", "dig"}) {
      if (run_command({"sh", "-c", std::string("command -v ") + tool}, 10).exit_code != 0) {
        if (testing::running_in_ci()) FAIL() << tool << " is not installed";
        GTEST_SKIP() << tool << " is not installed (Debian: dnsmasq-base, bind9-dnsutils)";
      }
    }
    port_ = testing::free_tcp_port();
    ASSERT_GT(port_, 0);
    const std::string tag = std::to_string(::getpid() % 100000);
    servers_[0] = {"nbdnsfa" + tag, "10.253.54.1", "10.253.54.2", nullptr, nullptr};
    servers_[1] = {"nbdnsfb" + tag, "10.253.55.1", "10.253.55.2", nullptr, nullptr};
    for (Server& s : servers_) {
      run_command({"ip", "link", "del", s.host_link}, 10);  // a stale one of a killed run
      s.ns = std::make_unique<testing::Netns>("nbdnsf-" + s.host_link.substr(6));
      ASSERT_EQ(s.ns->create(), "");
      const std::string peer = "p" + s.host_link;
      for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
               {"ip", "link", "add", s.host_link, "type", "veth", "peer", "name", peer, "netns",
                s.ns->name()},
               {"ip", "addr", "add", s.host_ip + "/30", "dev", s.host_link},
               {"ip", "link", "set", s.host_link, "up"},
               {"ip", "-n", s.ns->name(), "addr", "add", s.ip + "/30", "dev", peer},
               {"ip", "-n", s.ns->name(), "link", "set", peer, "up"}}) {
        const auto r = run_command(argv, 20);
        ASSERT_EQ(r.exit_code, 0) << argv[1] << " " << argv[2] << ": " << r.output;
      }
      s.dnsmasq = std::make_unique<Subprocess>(std::vector<std::string>{
          "ip", "netns", "exec", s.ns->name(), "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
          "--port=" + std::to_string(port_), "--listen-address=" + s.ip, "--bind-interfaces",
          "--no-resolv", "--no-hosts", "--host-record=far.test,10.9.8.7"});
    }
    // Both answer before any collector starts (these queries are not counted).
    for (Server& s : servers_) {
      bool ready = false;
      for (int i = 0; i < 50 && !ready; ++i) {
        ready = dig(s) == "NOERROR";
        if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ASSERT_TRUE(ready) << s.dnsmasq->output();
    }
    preflight_ = run_preflight({.allow_mount = false});
  }

  void TearDown() override {
    collector_.reset();
    for (Server& s : servers_) {
      s.dnsmasq.reset();
      if (!s.host_link.empty()) run_command({"ip", "link", "del", s.host_link}, 10);
      s.ns.reset();
    }
  }

  std::string dig(const Server& s) {
    const auto r = run_command(
        {"dig", "@" + s.ip, "-p", std::to_string(port_), "+tries=1", "+time=3", "far.test", "A"},
        15);
    std::smatch m;
    return std::regex_search(r.output, m, std::regex("status: ([A-Z0-9]+)")) ? m[1].str() : "";
  }

  // Starts the collector on the test's port with `network` as the filters.
  void start(const NetworkFilters& network) {
    Config config = default_config();
    config.collector<DnsConfig>().ports = {static_cast<uint16_t>(port_)};
    config.network = network;
    collector_ = std::make_unique<DnsCollector>();
    Status started = collector_->start({config, preflight_});
    ASSERT_TRUE(started) << started.message();
  }

  struct Counts {
    uint64_t queries = 0, responses = 0, filtered = 0;
  };
  Counts counts() {
    const DnsSnapshot s = testing::snapshot_of(*collector_);
    Counts c;
    for (const DnsStatsEntry& e : s.stats) {
      (e.kind == DNS_STAT_QUERY ? c.queries : c.responses) += e.count;
    }
    c.filtered = s.counters[DNS_C_FILTERED];
    return c;
  }

  // kQueries digs to each server, all answered; the counts they moved.
  Counts query_both() {
    const Counts before = counts();
    for (int i = 0; i < kQueries; ++i) {
      for (Server& s : servers_) EXPECT_EQ(dig(s), "NOERROR") << s.ip;
    }
    const Counts after = counts();
    return {after.queries - before.queries, after.responses - before.responses,
            after.filtered - before.filtered};
  }

  int port_ = 0;
  Server servers_[2];
  PreflightReport preflight_;
  std::unique_ptr<DnsCollector> collector_;
};

TEST_F(DnsNetworkFilters, ExcludedInterfaceIsNeitherAttachedNorCounted) {
  NetworkFilters network;
  network.exclude_interfaces = {"nbdnsfb*"};
  ASSERT_NO_FATAL_FAILURE(start(network));
  const auto attached = collector_->attached_interfaces();
  EXPECT_EQ(attached.count(servers_[0].host_link), 1u);
  EXPECT_EQ(attached.count(servers_[1].host_link), 0u);
  EXPECT_EQ(attached.count("lo"), 1u);
  const Counts moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.filtered, 0u);
}

TEST_F(DnsNetworkFilters, OnlyIncludedInterfacesAreAttachedAndCounted) {
  NetworkFilters network;
  network.interfaces = {"nbdnsfa*"};
  ASSERT_NO_FATAL_FAILURE(start(network));
  const auto attached = collector_->attached_interfaces();
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(attached.begin()->first, servers_[0].host_link);
  const Counts moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(kQueries));
}

// The socket filter forced: with a selection, one packet socket per
// selected interface instead of one on all.
TEST_F(DnsNetworkFilters, SocketFilterFollowsTheInterfaceSelection) {
  NetworkFilters network;
  network.interfaces = {"nbdnsf*"};
  network.exclude_interfaces = {"nbdnsfb*"};
  Config config = default_config();
  config.collector<DnsConfig>().ports = {static_cast<uint16_t>(port_)};
  config.network = network;
  DnsCollector::Options options;
  options.socket_filter = true;
  collector_ = std::make_unique<DnsCollector>(options);
  Status started = collector_->start({config, preflight_});
  ASSERT_TRUE(started) << started.message();
  const auto attached = collector_->attached_interfaces();
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(attached.begin()->second, "socket_filter");
  EXPECT_EQ(attached.begin()->first, servers_[0].host_link);
  const Counts moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(kQueries));
}

TEST_F(DnsNetworkFilters, ExcludedServerNetworkIsNotCounted) {
  NetworkFilters network;
  network.interfaces = {"nbdnsf*"};
  network.exclude_cidrs = {"10.253.55.0/24"};
  network.include_cidrs = {"10.253.0.0/16"};  // the longer exclude wins within it
  ASSERT_NO_FATAL_FAILURE(start(network));
  EXPECT_EQ(collector_->attached_interfaces().size(), 2u);
  const Counts moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.filtered, static_cast<uint64_t>(2 * kQueries));  // B's queries and responses
}

TEST_F(DnsNetworkFilters, OnlyIncludedServerIsCounted) {
  NetworkFilters network;
  network.interfaces = {"nbdnsf*"};
  network.include_cidrs = {"10.253.55.2/32"};
  ASSERT_NO_FATAL_FAILURE(start(network));
  const Counts moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(kQueries));
  EXPECT_EQ(moved.filtered, static_cast<uint64_t>(2 * kQueries));
}

TEST_F(DnsNetworkFilters, PortFiltersApplyToEitherEnd) {
  NetworkFilters network;
  network.interfaces = {"nbdnsf*"};
  network.exclude_ports = {static_cast<uint16_t>(port_)};
  ASSERT_NO_FATAL_FAILURE(start(network));
  Counts moved = query_both();
  EXPECT_EQ(moved.queries, 0u);
  EXPECT_EQ(moved.responses, 0u);
  EXPECT_EQ(moved.filtered, static_cast<uint64_t>(4 * kQueries));
  collector_->stop();

  network.exclude_ports.clear();
  network.include_ports = {static_cast<uint16_t>(port_)};
  ASSERT_NO_FATAL_FAILURE(start(network));
  moved = query_both();
  EXPECT_EQ(moved.queries, static_cast<uint64_t>(2 * kQueries));
  EXPECT_EQ(moved.responses, static_cast<uint64_t>(2 * kQueries));
  EXPECT_EQ(moved.filtered, 0u);
}

}  // namespace
}  // namespace netobs
