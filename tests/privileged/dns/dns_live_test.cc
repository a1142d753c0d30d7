// The dns collector against real DNS traffic on loopback: a dnsmasq this
// test starts on a free port (local A/AAAA/CNAME/TXT records, an NXDOMAIN
// name, a name forwarded to a test-owned upstream that answers SERVFAIL, a
// name nobody serves: REFUSED), queried with dig over UDP and TCP, IPv4 and
// IPv6; a UDP socket that never answers (unanswered queries); dnsperf at
// 10 000 queries/s (no lost correlations); the netobs_exporter binary end to
// end (/metrics). The programs run on tc (the default hook); the exact-count
// test also runs with the socket-filter fallback forced. An interface created
// after the collector started (a veth pair to a network namespace of the
// test, with its own dnsmasq) gets the programs. Needs root, dnsmasq, dig,
// dnsperf, ip (Debian: dnsmasq-base, bind9-dnsutils, dnsperf, iproute2).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <signal.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/dns/dns_config.h"
#include "collectors/dns/dns_collector.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/dns/dns_protocol.h"
#include "config/config.h"
#include "exporter/builtin_config.h"
#include "exporter/bpf/preflight.h"
#include "tests/support/dns_message_builder.h"
#include "tests/support/dns_snapshot.h"
#include "tests/support/exporter_process.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::DnsMessageBuilder;
using testing::run_command;
using testing::Subprocess;

constexpr uint64_t kBoundsNs[DNS_LATENCY_BOUNDS] = DNS_LATENCY_BOUNDS_NS;

bool tool_exists(const std::string& name) {
  return run_command({"sh", "-c", "command -v " + name}, 10).exit_code == 0;
}

#define NETOBS_REQUIRE_TOOL(name)                                                                  \
  do {                                                                                             \
    if (!tool_exists(name)) {                                                                      \
      if (::netobs::testing::running_in_ci()) FAIL() << name << " is not installed";               \
      GTEST_SKIP() << name << " is not installed (Debian: dnsmasq-base, bind9-dnsutils, dnsperf)"; \
    }                                                                                              \
  } while (0)

// A UDP socket bound to 127.0.0.1 on a kernel-chosen port.
struct UdpSocket {
  int fd = -1;
  uint16_t port = 0;
  UdpSocket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~UdpSocket() {
    if (fd >= 0) ::close(fd);
  }
};

// A port free for UDP and TCP on 127.0.0.1 and ::1.
int free_dns_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int port = testing::free_tcp_port();
    bool ok = true;
    for (int family : {AF_INET, AF_INET6}) {
      const int fd = ::socket(family, SOCK_DGRAM, 0);
      int rc = -1;
      if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      } else {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<uint16_t>(port));
        a.sin6_addr = in6addr_loopback;
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
      }
      ::close(fd);
      ok = ok && rc == 0;
    }
    if (ok) return port;
  }
  return 0;
}

// Answers every query it gets with SERVFAIL (dnsmasq's upstream for fail.test).
class ServfailUpstream {
 public:
  ServfailUpstream() {
    thread_ = std::thread([this] { loop(); });
  }
  ~ServfailUpstream() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return socket_.port; }

 private:
  void loop() {
    uint8_t buf[1500];
    while (!stop_) {
      pollfd p{socket_.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      const ssize_t n =
          ::recvfrom(socket_.fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      buf[2] = 0x81;  // QR, RD
      buf[3] = 0x82;  // RA, rcode 2
      ::sendto(socket_.fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  UdpSocket socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class Dnsmasq {
 public:
  Dnsmasq(int port, uint16_t servfail_port)
      : port_(port),
        process_({"dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                  "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
                  "--listen-address=::1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                  "--no-negcache", "--cache-size=1000", "--dns-forward-max=1000",
                  "--host-record=a.test,10.1.2.3,fd00::123", "--cname=web.test,a.test",
                  "--txt-record=t.test,hello", "--address=/nx.test/",
                  "--server=/fail.test/127.0.0.1#" + std::to_string(servfail_port)}) {}

  // Polls until dnsmasq answers (before the collector starts: not counted).
  bool wait_ready() {
    for (int i = 0; i < 50; ++i) {
      auto r = run_command(
          {"dig", "@127.0.0.1", "-p", std::to_string(port_), "+tries=1", "+time=1", "a.test", "A"},
          5);
      if (r.exit_code == 0 && r.output.find("status: NOERROR") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string output() const { return process_.output(); }

 private:
  int port_;
  Subprocess process_;
};

std::unique_ptr<DnsCollector> start_collector(int port, double timeout_seconds,
                                              PreflightReport& preflight,
                                              const std::string& hook = "tcx") {
  ConfigLoadResult loaded = load_config_string("{}\n", "test");
  Config config = loaded.config;
  config.collector<DnsConfig>().ports = {static_cast<uint16_t>(port)};
  config.collector<DnsConfig>().timeout_seconds = timeout_seconds;
  preflight = run_preflight({.allow_mount = false});
  DnsCollector::Options options;
  options.socket_filter = hook == "socket_filter";
  auto collector = std::make_unique<DnsCollector>(options);
  // Read at start (and kept for interfaces that appear later).
  if (hook == "tc_clsact") setenv("NETOBS_DNS_TC_CLSACT", "1", 1);
  Status started = collector->start({config, preflight});
  unsetenv("NETOBS_DNS_TC_CLSACT");
  EXPECT_TRUE(started.is_ok()) << started.message();
  if (!started) return nullptr;
  // The hook the ladder chose: tc (tcx on this kernel, clsact when forced) on
  // loopback, or the one packet socket when forced.
  const std::map<std::string, std::string> attached = collector->attached_interfaces();
  if (hook == "socket_filter") {
    EXPECT_TRUE(attached.empty());
  } else {
    EXPECT_EQ(attached.count("lo") ? attached.at("lo") : "", hook);
  }
  return collector;
}

struct DigResult {
  std::string status;
  int query_ms = -1;
};

DigResult dig(const std::string& server, int port, bool tcp, const std::string& name,
              const std::string& type) {
  std::vector<std::string> argv = {"dig",      "@" + server, "-p", std::to_string(port),
                                   "+tries=1", "+time=3",    name, type};
  if (tcp) argv.push_back("+tcp");
  const auto r = run_command(argv, 15);
  DigResult out;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex("status: ([A-Z0-9]+)"))) out.status = m[1];
  if (std::regex_search(r.output, m, std::regex("Query time: ([0-9]+) msec"))) {
    out.query_ms = std::stoi(m[1]);
  }
  return out;
}

// Finds the stats entry with these labels (summed over CPUs).
DnsStatsEntry find(const DnsSnapshot& s, uint8_t kind, uint8_t transport, uint16_t qtype,
                   uint8_t rcode) {
  DnsStatsEntry total;
  for (const DnsStatsEntry& e : s.stats) {
    if (e.kind == kind && e.transport == transport && e.qtype == qtype &&
        (kind == DNS_STAT_QUERY || e.rcode == rcode)) {
      total.count += e.count;
      total.sum_ns += e.sum_ns;
      for (size_t i = 0; i < DNS_LATENCY_BUCKETS; ++i) total.buckets[i] += e.buckets[i];
    }
  }
  return total;
}

uint8_t rcode_number(const std::string& name) {
  for (uint8_t r = 0; r < 16; ++r) {
    if (dns::rcode_name(r) == name) return r;
  }
  return 255;
}

size_t bucket_of(uint64_t ns) {
  for (size_t i = 0; i < DNS_LATENCY_BOUNDS; ++i) {
    if (ns <= kBoundsNs[i]) return i;
  }
  return DNS_LATENCY_BOUNDS;
}

uint32_t prog_id(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Whether program `id` is on loopback's tc ingress or egress: as a tcx link
// (attach type 46 / 47; the query takes the ifindex as its target) or as a
// cls_bpf filter of the clsact qdisc (`tc filter show` prints its id).
bool on_loopback(uint32_t id, bool egress) {
  const auto filters =
      run_command({"tc", "filter", "show", "dev", "lo", egress ? "egress" : "ingress"}, 10);
  if (filters.output.find(" id " + std::to_string(id) + " ") != std::string::npos) return true;
  uint32_t ids[64] = {};
  const int attach_type = egress ? 47 : 46;
  LIBBPF_OPTS(bpf_prog_query_opts, query, .prog_ids = ids, .prog_cnt = 64);
  if (bpf_prog_query_opts(1, static_cast<bpf_attach_type>(attach_type), &query) != 0) return false;
  for (uint32_t i = 0; i < query.prog_cnt && i < 64; ++i) {
    if (ids[i] == id) return true;
  }
  return false;
}

uint64_t error_counters(const DnsSnapshot& s) {
  uint64_t sum = 0;
  for (uint32_t i = DNS_C_MALFORMED; i < DNS_C_CORR_INSERTS; ++i) sum += s.counters[i];
  return sum + s.counters[DNS_C_CORR_INSERT_ERRORS] + s.counters[DNS_C_STATS_UPDATE_ERRORS];
}

class DnsLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    NETOBS_REQUIRE_TOOL("dnsmasq");
    NETOBS_REQUIRE_TOOL("dig");
    port_ = free_dns_port();
    ASSERT_NE(port_, 0) << "no free port for dnsmasq";
    upstream_ = std::make_unique<ServfailUpstream>();
    dnsmasq_ = std::make_unique<Dnsmasq>(port_, upstream_->port());
    ASSERT_TRUE(dnsmasq_->wait_ready()) << "dnsmasq did not answer:\n" << dnsmasq_->output();
  }

  int port_ = 0;
  std::unique_ptr<ServfailUpstream> upstream_;
  std::unique_ptr<Dnsmasq> dnsmasq_;
  PreflightReport preflight_;
};

// Tolerance of the latency check: the kernel measures from the query
// passing loopback to the response passing it, inside dig's own interval,
// and dig truncates to whole milliseconds, so on a quiet machine the kernel
// latency is at most dig's figure + 1 ms. dig reads its clock in user space,
// after send() returns: when dig is preempted between the two (a shared
// 2-core CI machine), the kernel's interval starts earlier than dig's. The
// strict upper bound is therefore the wall time the test measures around the
// whole dig run, and dig's own figure bounds it from below, less kDigSlackMs
// for dig's user-space time (sending, waking up).
constexpr double kDigSlackMs = 10;

class DnsLiveHookTest : public DnsLiveTest, public ::testing::WithParamInterface<std::string> {};

// Parameter: the hook (the default tcx, clsact or the socket filter forced).
TEST_P(DnsLiveHookTest, DigCountsMatchExactly) {
  auto collector = start_collector(port_, 5, preflight_, GetParam());
  ASSERT_TRUE(collector);
  struct Query {
    std::string server;
    bool tcp;
    std::string name;
    std::string type;
    uint16_t qtype;
    std::string expected_status;
  };
  const std::vector<Query> queries = {
      {"127.0.0.1", false, "a.test", "A", 1, "NOERROR"},
      {"127.0.0.1", false, "a.test", "AAAA", 28, "NOERROR"},
      {"127.0.0.1", false, "web.test", "CNAME", 5, "NOERROR"},
      {"127.0.0.1", false, "t.test", "TXT", 16, "NOERROR"},
      {"127.0.0.1", false, "nx.test", "A", 1, "NXDOMAIN"},
      {"127.0.0.1", false, "fail.test", "A", 1, "SERVFAIL"},
      {"127.0.0.1", false, "nobody.test", "A", 1, "REFUSED"},
      {"127.0.0.1", true, "a.test", "A", 1, "NOERROR"},
      {"127.0.0.1", true, "t.test", "TXT", 16, "NOERROR"},
      {"127.0.0.1", true, "nx.test", "AAAA", 28, "NXDOMAIN"},
      {"::1", false, "a.test", "AAAA", 28, "NOERROR"},
      {"::1", false, "web.test", "A", 1, "NOERROR"},
      {"::1", true, "a.test", "AAAA", 28, "NOERROR"},
      {"::1", true, "nobody.test", "TXT", 16, "REFUSED"},
  };
  std::map<std::tuple<uint8_t, uint16_t>, uint64_t> want_queries;
  std::map<std::tuple<uint8_t, uint16_t, uint8_t>, uint64_t> want_responses;
  const DnsSnapshot start = testing::snapshot_of(*collector);
  for (const Query& q : queries) {
    SCOPED_TRACE(q.server + (q.tcp ? " tcp " : " udp ") + q.name + " " + q.type);
    const uint8_t transport = q.tcp ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
    const DnsSnapshot before = testing::snapshot_of(*collector);
    const auto dig_started = std::chrono::steady_clock::now();
    const DigResult result = dig(q.server, port_, q.tcp, q.name, q.type);
    const double dig_wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - dig_started)
            .count();
    ASSERT_EQ(result.status, q.expected_status);
    ASSERT_GE(result.query_ms, 0);
    const uint8_t rcode = rcode_number(result.status);
    const DnsSnapshot after = testing::snapshot_of(*collector);

    const DnsStatsEntry rb = find(before, DNS_STAT_RESPONSE, transport, q.qtype, rcode);
    const DnsStatsEntry ra = find(after, DNS_STAT_RESPONSE, transport, q.qtype, rcode);
    EXPECT_EQ(find(after, DNS_STAT_QUERY, transport, q.qtype, 0).count -
                  find(before, DNS_STAT_QUERY, transport, q.qtype, 0).count,
              1u);
    ASSERT_EQ(ra.count - rb.count, 1u);
    const uint64_t latency_ns = ra.sum_ns - rb.sum_ns;
    size_t observed_bucket = DNS_LATENCY_BUCKETS;
    for (size_t i = 0; i < DNS_LATENCY_BUCKETS; ++i) {
      if (ra.buckets[i] != rb.buckets[i]) observed_bucket = i;
    }
    // The count went to the bucket that holds the measured latency...
    EXPECT_EQ(observed_bucket, bucket_of(latency_ns));
    // ...which lies within dig's figure (see kDigSlackMs).
    const double latency_ms = static_cast<double>(latency_ns) / 1e6;
    EXPECT_LE(latency_ms, dig_wall_ms);
    EXPECT_GE(latency_ms, result.query_ms - kDigSlackMs);
    ++want_queries[{transport, q.qtype}];
    ++want_responses[{transport, q.qtype, rcode}];
  }
  // Totals per label set, and no stray counts anywhere.
  const DnsSnapshot end = testing::snapshot_of(*collector);
  for (const auto& [key, n] : want_queries) {
    EXPECT_EQ(find(end, DNS_STAT_QUERY, std::get<0>(key), std::get<1>(key), 0).count -
                  find(start, DNS_STAT_QUERY, std::get<0>(key), std::get<1>(key), 0).count,
              n);
  }
  uint64_t responses = 0;
  for (const auto& [key, n] : want_responses) {
    const auto [t, qtype, rcode] = key;
    EXPECT_EQ(find(end, DNS_STAT_RESPONSE, t, qtype, rcode).count -
                  find(start, DNS_STAT_RESPONSE, t, qtype, rcode).count,
              n)
        << dns::qtype_name(qtype) << " " << dns::rcode_name(rcode);
    responses += n;
  }
  uint64_t all_responses = 0;
  for (const DnsStatsEntry& e : end.stats) {
    if (e.kind == DNS_STAT_RESPONSE) all_responses += e.count;
  }
  EXPECT_EQ(all_responses, responses);
  EXPECT_EQ(error_counters(end), 0u);
  EXPECT_EQ(end.counters[DNS_C_CORR_INSERTS], queries.size());
  EXPECT_EQ(end.counters[DNS_C_CORR_MATCHED], queries.size());
  EXPECT_GT(end.counters[DNS_C_LOOPBACK_DUPLICATES], 0u);  // the second copies were seen
  // tc: the programs sit on loopback's tc hooks until stop, not after.
  const uint32_t ingress = prog_id(collector->tc_prog_fd(false));
  const uint32_t egress = prog_id(collector->tc_prog_fd(true));
  const bool tc = GetParam() != "socket_filter";
  EXPECT_EQ(on_loopback(ingress, false), tc);
  EXPECT_EQ(on_loopback(egress, true), tc);
  collector->stop();
  EXPECT_FALSE(on_loopback(ingress, false));
  EXPECT_FALSE(on_loopback(egress, true));
}

INSTANTIATE_TEST_SUITE_P(Hooks, DnsLiveHookTest,
                         ::testing::Values("tcx", "tc_clsact", "socket_filter"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_F(DnsLiveTest, UnansweredQueriesAfterTimeout) {
  UdpSocket silent;  // a "server" that never answers
  auto collector = start_collector(silent.port, 0.3, preflight_);
  ASSERT_TRUE(collector);
  UdpSocket client;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(silent.port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr int kQueries = 7;
  for (int i = 0; i < kQueries; ++i) {
    auto q =
        DnsMessageBuilder().id(static_cast<uint16_t>(1000 + i)).question("lost.test", 1).build();
    ASSERT_EQ(
        ::sendto(client.fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
        static_cast<ssize_t>(q.size()));
  }
  // Timeout 0.3 s, sweeps every 75 ms: well within 3 s.
  uint64_t unanswered = 0;
  for (int i = 0; i < 60 && unanswered < kQueries; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    unanswered = testing::snapshot_of(*collector).unanswered[{DNS_TRANSPORT_UDP, 1}];
  }
  // Exactly that many, and no more after further sweeps.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const DnsSnapshot s = testing::snapshot_of(*collector);
  EXPECT_EQ(
      (s.unanswered.count({DNS_TRANSPORT_UDP, 1}) ? s.unanswered.at({DNS_TRANSPORT_UDP, 1}) : 0),
      static_cast<uint64_t>(kQueries));
  EXPECT_EQ(find(s, DNS_STAT_QUERY, DNS_TRANSPORT_UDP, 1, 0).count,
            static_cast<uint64_t>(kQueries));
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_EQ(s.evictions, 0u);
  collector->stop();
}

// DNS servers on 127.0.0.<host>:port (one socket each) that answer every
// query with NOERROR and count what they answered.
class AnsweringServers {
 public:
  AnsweringServers(uint16_t port, const std::vector<int>& hosts) {
    for (int host : hosts) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(0x7f000000u | static_cast<uint32_t>(host));
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        continue;
      }
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~AnsweringServers() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  size_t bound() const { return fds_.size(); }

 private:
  void loop() {
    std::vector<pollfd> polls;
    for (int fd : fds_) polls.push_back({fd, POLLIN, 0});
    uint8_t buf[1500];
    while (!stop_) {
      if (::poll(polls.data(), polls.size(), 100) <= 0) continue;
      for (const pollfd& p : polls) {
        if (!(p.revents & POLLIN)) continue;
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        const ssize_t n =
            ::recvfrom(p.fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 12) continue;
        buf[2] = 0x81;  // QR, RD
        buf[3] = 0x80;  // RA, NOERROR
        ::sendto(p.fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Churn of servers (collectors.dns.server_labels, max_servers 4,
// attribution.label_idle_time 2 s): four short-lived servers fill the cap, a
// fifth is folded (netobs_series_dropped_total); once the four are idle
// their series go and the fifth gets its own, with exactly the queries and
// responses dig exchanged with it afterwards; the folded count stays.
TEST(DnsServerChurn, IdleServersGiveTheirSlotsBack) {
  NETOBS_REQUIRE_ROOT();
  NETOBS_REQUIRE_TOOL("dig");
  const int port = free_dns_port();
  ASSERT_NE(port, 0);
  AnsweringServers servers(static_cast<uint16_t>(port), {11, 12, 13, 14, 20});
  ASSERT_EQ(servers.bound(), 5u);
  ConfigLoadResult loaded = load_config_string("{}\n", "test");
  Config config = loaded.config;
  DnsConfig& dns = config.collector<DnsConfig>();
  dns.ports = {static_cast<uint16_t>(port)};
  dns.server_labels = true;
  dns.max_servers = 4;
  config.attribution.label_idle_seconds = 2;
  PreflightReport preflight = run_preflight({.allow_mount = false});
  DnsCollector collector;
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  auto ask = [&](int host) {
    return dig("127.0.0." + std::to_string(host), port, false, "churn.test", "A").status;
  };
  auto servers_now = [&] {
    std::vector<prometheus::MetricFamily> families;
    EXPECT_TRUE(collector.collect(families));  // reclaims idle servers
    return testing::snapshot_of(collector);
  };
  for (int host : {11, 12, 13, 14}) ASSERT_EQ(ask(host), "NOERROR") << host;
  DnsSnapshot filled = servers_now();
  for (int host : {11, 12, 13, 14}) {
    const std::string label = "127.0.0." + std::to_string(host);
    ASSERT_TRUE(filled.servers.count(label)) << label;
    EXPECT_EQ(filled.servers[label].queries, 1u) << label;
    EXPECT_EQ(filled.servers[label].responses, 1u) << label;
  }
  ASSERT_EQ(ask(20), "NOERROR");
  DnsSnapshot folded = servers_now();
  EXPECT_EQ(folded.servers.count("127.0.0.20"), 0u);
  EXPECT_EQ(folded.servers_folded, 2u);  // its query and its response
  EXPECT_EQ(folded.servers["other"].queries, 1u);
  EXPECT_EQ(folded.servers["other"].responses, 1u);

  // The four age out (2 s idle); the next query to .20 takes a slot.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(12);
  DnsSnapshot aged;
  while (std::chrono::steady_clock::now() < deadline) {
    aged = servers_now();
    if (!aged.servers.count("127.0.0.11") && !aged.servers.count("127.0.0.14")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  for (int host : {11, 12, 13, 14}) {
    EXPECT_EQ(aged.servers.count("127.0.0." + std::to_string(host)), 0u) << host;
  }
  constexpr int kLater = 7;
  for (int i = 0; i < kLater; ++i) ASSERT_EQ(ask(20), "NOERROR");
  DnsSnapshot last = servers_now();
  ASSERT_TRUE(last.servers.count("127.0.0.20"));
  EXPECT_EQ(last.servers["127.0.0.20"].queries, static_cast<uint64_t>(kLater));
  EXPECT_EQ(last.servers["127.0.0.20"].responses, static_cast<uint64_t>(kLater));
  EXPECT_EQ(last.servers_folded, 2u);
  EXPECT_EQ(last.servers["other"].queries, 1u);
  collector.stop();
}

TEST_F(DnsLiveTest, EventsCarryNamesAnswersAndProcess) {
  ConfigLoadResult loaded = load_config_string("{}\n", "test");
  Config config = loaded.config;
  config.collector<DnsConfig>().ports = {static_cast<uint16_t>(port_)};
  config.collector<DnsConfig>().capture_content = true;
  config.collector<DnsConfig>().top_domains = 2;
  config.collector<DnsConfig>().domain_sample_rate = 1;
  preflight_ = run_preflight({.allow_mount = false});
  std::mutex mutex;
  std::vector<DnsExchange> seen;
  DnsCollector::Options options;
  options.on_exchange = [&](const DnsExchange& e) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(e);
  };
  DnsCollector collector(options);
  Status started = collector.start({config, preflight_});
  ASSERT_TRUE(started.is_ok()) << started.message();
  ASSERT_EQ(dig("127.0.0.1", port_, false, "web.test", "A").status, "NOERROR");
  ASSERT_EQ(dig("::1", port_, true, "a.test", "AAAA").status, "NOERROR");
  ASSERT_EQ(dig("127.0.0.1", port_, false, "nx.test", "A").status, "NXDOMAIN");
  ASSERT_EQ(dig("127.0.0.1", port_, true, "t.test", "TXT").status, "NOERROR");
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (seen.size() >= 4) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const DnsSnapshot s = testing::snapshot_of(collector);
  collector.stop();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].qname, "web.test");
  EXPECT_EQ(seen[0].answers, (std::vector<std::string>{"a.test", "10.1.2.3"}));
  EXPECT_EQ(seen[0].server_ip, "127.0.0.1");
  EXPECT_EQ(seen[0].server_port, port_);
  EXPECT_EQ(seen[1].qname, "a.test");
  EXPECT_EQ(seen[1].answers, (std::vector<std::string>{"fd00::123"}));
  EXPECT_EQ(seen[1].server_ip, "::1");
  EXPECT_EQ(seen[1].transport, DNS_TRANSPORT_TCP);
  EXPECT_EQ(seen[2].qname, "nx.test");
  EXPECT_EQ(seen[2].rcode, std::optional<uint8_t>(3));
  EXPECT_TRUE(seen[2].answers.empty());
  EXPECT_EQ(seen[3].qname, "t.test");
  for (const DnsExchange& e : seen) {
    EXPECT_EQ(e.comm, "dig") << e.qname;
    EXPECT_GT(e.pid, 0u) << e.qname;
    EXPECT_TRUE(e.decode_error.empty()) << e.qname << ": " << e.decode_error;
    ASSERT_TRUE(e.latency_ns);
    EXPECT_GT(*e.latency_ns, 0u);
  }
  // Sampled names (1 in 1): the first two distinct names, then "other".
  EXPECT_EQ(s.samples_undecodable, 0u);
  EXPECT_EQ(s.domains.at("web.test"), 1u);
  EXPECT_EQ(s.domains.at("a.test"), 1u);
  EXPECT_EQ(s.domains.at("other"), 2u);
  EXPECT_EQ(s.domains_folded, 2u);
}

// End to end: netobs_exporter --collector.dns (the real binary, tc programs
// on every interface) against the test's dnsmasq on loopback; dig's
// queries appear on /metrics with exact counts, and a query to a socket that
// never answers becomes netobs_dns_unanswered_total after the timeout.
TEST_F(DnsLiveTest, ExporterServesExactDnsMetrics) {
  UdpSocket silent;
  testing::TempDir dir;
  const std::string config =
      dir.write("netobs.yaml", "collectors:\n  dns:\n    required: true\n    ports: [" +
                                   std::to_string(port_) + ", " + std::to_string(silent.port) +
                                   "]\n    timeout: 1s\n");
  testing::ExporterProcess exporter({.collectors = {"dns"}, .config_file = config});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 20)) << exporter.output();
  auto scrape = [&] { return exporter.scrape(); };
  // Present from the first scrape with value 0.
  const std::string first = scrape();
  EXPECT_EQ(testing::metric_value(first, "netobs_dns_correlation_evictions_total"), 0) << first;
  EXPECT_EQ(testing::metric_value(first, "netobs_dns_outstanding_queries"), 0) << first;
  for (const char* program : {"dns_tc_ingress", "dns_tc_egress"}) {
    EXPECT_EQ(testing::metric_value(
                  first, "netobs_bpf_program_attached",
                  std::string("attach=\"tcx\",collector=\"dns\",program=\"") + program + "\""),
              1)
        << first;
  }
  EXPECT_EQ(
      testing::metric_value(first, "netobs_bpf_program_attached",
                            "attach=\"socket_filter\",collector=\"dns\",program=\"dns_filter\""),
      0)
      << first;

  EXPECT_EQ(dig("127.0.0.1", port_, false, "a.test", "A").status, "NOERROR");
  EXPECT_EQ(dig("127.0.0.1", port_, false, "a.test", "A").status, "NOERROR");
  EXPECT_EQ(dig("::1", port_, true, "a.test", "AAAA").status, "NOERROR");
  EXPECT_EQ(dig("127.0.0.1", port_, false, "nx.test", "A").status, "NXDOMAIN");
  dig("127.0.0.1", silent.port, false, "lost.test", "MX");  // times out after 3 s

  // The unanswered query expires 1 s after it was sent (dig waited 3 s):
  // poll briefly for the sweeper.
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text = scrape();
    if (testing::metric_value(text, "netobs_dns_unanswered_total",
                              "qtype=\"MX\",transport=\"udp\"") == 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto v = [&text](const std::string& name, const std::string& labels) {
    return testing::metric_value(text, name, labels).value_or(-1);
  };
  EXPECT_EQ(v("netobs_dns_queries_total", "qtype=\"A\",transport=\"udp\""), 3) << text;
  EXPECT_EQ(v("netobs_dns_queries_total", "qtype=\"AAAA\",transport=\"tcp\""), 1) << text;
  EXPECT_EQ(v("netobs_dns_queries_total", "qtype=\"MX\",transport=\"udp\""), 1) << text;
  EXPECT_EQ(v("netobs_dns_responses_total", "qtype=\"A\",rcode=\"NOERROR\",transport=\"udp\""), 2)
      << text;
  EXPECT_EQ(v("netobs_dns_responses_total", "qtype=\"A\",rcode=\"NXDOMAIN\",transport=\"udp\""), 1)
      << text;
  EXPECT_EQ(v("netobs_dns_responses_total", "qtype=\"AAAA\",rcode=\"NOERROR\",transport=\"tcp\""),
            1)
      << text;
  EXPECT_EQ(v("netobs_dns_request_duration_seconds_count",
              "qtype=\"A\",rcode=\"NOERROR\",transport=\"udp\""),
            2)
      << text;
  EXPECT_EQ(v("netobs_dns_unanswered_total", "qtype=\"MX\",transport=\"udp\""), 1) << text;
  EXPECT_EQ(v("netobs_dns_unanswered_total", "qtype=\"A\",transport=\"udp\""), 0) << text;
  EXPECT_EQ(v("netobs_dns_unmatched_responses_total", "transport=\"udp\""), 0) << text;
  EXPECT_EQ(v("netobs_dns_correlation_evictions_total", ""), 0) << text;
  EXPECT_EQ(v("netobs_dns_outstanding_queries", ""), 0) << text;
  EXPECT_EQ(exporter.terminate(10), 0) << exporter.output();
}

// A veth pair created after the collector started: one end in this network
// namespace (where the collector runs), the peer in a namespace of the test
// with a dnsmasq on its address. dig's queries go only over that pair.
TEST_F(DnsLiveTest, InterfaceCreatedAfterStartIsAttached) {
  NETOBS_REQUIRE_TOOL("ip");
  const std::string tag = std::to_string(::getpid() % 100000);
  const std::string ns = "netobs-dns-" + tag, here = "ndns" + tag, there = "ndnsp" + tag;
  const std::string here_ip = "10.253.53.1", there_ip = "10.253.53.2";
  auto must = [](const std::vector<std::string>& argv) {
    const auto r = run_command(argv, 20);
    ASSERT_EQ(r.exit_code, 0) << argv[0] << " " << argv[1] << " " << argv[2] << ": " << r.output;
  };
  run_command({"ip", "link", "del", here}, 10);  // a stale one from a crashed run
  testing::Netns remote_ns(ns);
  struct LinkCleanup {  // runs before the namespace goes
    std::string link;
    ~LinkCleanup() { run_command({"ip", "link", "del", link}, 10); }
  } cleanup{here};
  ASSERT_EQ(remote_ns.create(), "");

  auto collector = start_collector(port_, 5, preflight_);
  ASSERT_TRUE(collector);
  ASSERT_EQ(collector->attached_interfaces().count(here), 0u);

  must({"ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", ns});
  must({"ip", "addr", "add", here_ip + "/30", "dev", here});
  must({"ip", "link", "set", here, "up"});
  must({"ip", "netns", "exec", ns, "ip", "addr", "add", there_ip + "/30", "dev", there});
  must({"ip", "netns", "exec", ns, "ip", "link", "set", there, "up"});
  must({"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"});
  // The link watcher attaches within milliseconds of the rtnetlink news.
  std::string attach;
  for (int i = 0; i < 100 && attach.empty(); ++i) {
    const auto attached = collector->attached_interfaces();
    if (attached.count(here)) attach = attached.at(here);
    if (attach.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(attach, "tcx");

  Subprocess remote({"ip", "netns", "exec", ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                     "--port=" + std::to_string(port_), "--listen-address=" + there_ip,
                     "--bind-interfaces", "--no-resolv", "--no-hosts",
                     "--host-record=far.test,10.9.8.7", "--address=/nx.test/"});
  bool ready = false;
  DigResult result;
  for (int i = 0; i < 50 && !ready; ++i) {
    // Before the counted queries: the waiting-for-dnsmasq queries count too,
    // so the counts below are taken relative to a snapshot after this loop.
    result = dig(there_ip, port_, false, "far.test", "A");
    ready = result.status == "NOERROR";
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << remote.output();
  // Let an unanswered probe (if dnsmasq was not up yet) settle into the map.
  const DnsSnapshot before = testing::snapshot_of(*collector);
  ASSERT_EQ(dig(there_ip, port_, false, "far.test", "A").status, "NOERROR");
  ASSERT_EQ(dig(there_ip, port_, true, "far.test", "A").status, "NOERROR");
  ASSERT_EQ(dig(there_ip, port_, false, "nx.test", "A").status, "NXDOMAIN");
  const DnsSnapshot after = testing::snapshot_of(*collector);
  auto diff = [&](uint8_t kind, uint8_t transport, uint8_t rcode) {
    return find(after, kind, transport, 1, rcode).count -
           find(before, kind, transport, 1, rcode).count;
  };
  // Each query once (egress of the veth end), each response once (ingress).
  EXPECT_EQ(diff(DNS_STAT_QUERY, DNS_TRANSPORT_UDP, 0), 2u);
  EXPECT_EQ(diff(DNS_STAT_QUERY, DNS_TRANSPORT_TCP, 0), 1u);
  EXPECT_EQ(diff(DNS_STAT_RESPONSE, DNS_TRANSPORT_UDP, 0), 1u);
  EXPECT_EQ(diff(DNS_STAT_RESPONSE, DNS_TRANSPORT_UDP, 3), 1u);
  EXPECT_EQ(diff(DNS_STAT_RESPONSE, DNS_TRANSPORT_TCP, 0), 1u);
  EXPECT_EQ(after.counters[DNS_C_RETRANSMITTED_QUERIES + DNS_TRANSPORT_UDP] -
                before.counters[DNS_C_RETRANSMITTED_QUERIES + DNS_TRANSPORT_UDP],
            0u);
  EXPECT_EQ(after.counters[DNS_C_UNMATCHED_RESPONSES + DNS_TRANSPORT_UDP] -
                before.counters[DNS_C_UNMATCHED_RESPONSES + DNS_TRANSPORT_UDP],
            0u);

  // The interface goes away with its namespace peer: detached, forgotten.
  remote.signal(SIGTERM);
  remote.wait(10);
  run_command({"ip", "link", "del", here}, 10);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = collector->attached_interfaces().count(here) == 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone);
  collector->stop();
}

// dnsperf's summary: "Queries sent: N", "Queries completed: N (...)",
// "Queries lost: N (...)".
uint64_t dnsperf_number(const std::string& output, const std::string& what) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(what + ":\\s+([0-9]+)"))) return UINT64_MAX;
  return std::stoull(m[1]);
}

TEST_F(DnsLiveTest, DnsperfLoadHasNoLostCorrelations) {
  NETOBS_REQUIRE_TOOL("dnsperf");
  auto collector = start_collector(port_, 2, preflight_);
  ASSERT_TRUE(collector);
  testing::TempDir dir;
  const std::string queries =
      dir.write("queries.txt", "a.test A\na.test AAAA\nweb.test A\nt.test TXT\nnx.test A\n");
  const auto start = std::chrono::steady_clock::now();
  const auto r =
      run_command({"dnsperf", "-s", "127.0.0.1", "-p", std::to_string(port_), "-d", queries, "-l",
                   "10", "-Q", "10000", "-c", "4", "-t", "2", "-q", "500"},
                  60);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const uint64_t sent = dnsperf_number(r.output, "Queries sent");
  const uint64_t completed = dnsperf_number(r.output, "Queries completed");
  const uint64_t lost = dnsperf_number(r.output, "Queries lost");
  ASSERT_NE(sent, UINT64_MAX) << r.output;
  EXPECT_GE(sent, 90000u) << "dnsperf did not reach 10 000 queries/s:\n" << r.output;
  // Lost queries time out in the collector too (timeout 2 s): let it sweep.
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  const DnsSnapshot s = testing::snapshot_of(*collector);
  uint64_t queries_seen = 0, responses_seen = 0, unanswered = 0;
  for (const DnsStatsEntry& e : s.stats) {
    (e.kind == DNS_STAT_QUERY ? queries_seen : responses_seen) += e.count;
  }
  for (const auto& [key, n] : s.unanswered) unanswered += n;
  EXPECT_EQ(queries_seen, sent) << r.output;
  EXPECT_EQ(responses_seen, completed) << r.output;
  EXPECT_EQ(unanswered, lost);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.counters[DNS_C_UNMATCHED_RESPONSES + DNS_TRANSPORT_UDP], 0u);
  EXPECT_EQ(s.counters[DNS_C_RETRANSMITTED_QUERIES + DNS_TRANSPORT_UDP], 0u);
  EXPECT_EQ(s.counters[DNS_C_CORR_INSERT_ERRORS], 0u);
  EXPECT_EQ(s.outstanding, 0u);
  std::printf("dnsperf: %llu sent, %llu completed, %llu lost in %.1f s\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(completed),
              static_cast<unsigned long long>(lost), seconds);
  collector->stop();
}

}  // namespace
}  // namespace netobs
