// The flows collector on the real kernel. A client namespace and a server
// namespace joined by a veth pair (documentation addresses 198.51.100.1 and
// .50/.51/.52, IPv6 off so nothing else talks); a scripted set of clients
// and servers: N connections to each of three servers, one refusing (no
// listener), one behind an nftables rule dropping 10 % of the client's
// segments. One collector watches each namespace, so the client side sees
// edges process -> server and the server side edges address -> listener.
// Truth: what the script did (connections, bytes each way), the refusals it
// got, and the namespaces' own Tcp RetransSegs counters. The /topology
// document is validated against collectors/flows/topology.schema.json and
// its counts against the same truth. The cardinality test makes 10 000
// distinct edges against a budget of 50 through a real exporter.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>

#include <filesystem>
#include <algorithm>
#include <sys/wait.h>
#include <fcntl.h>
#include <prometheus/text_serializer.h>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "collectors/flows/flows_collector.h"
#include "collectors/flows/flows_config.h"
#include "config/config.h"
#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "tests/support/exporter_process.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::Netns;
using Clock = std::chrono::steady_clock;
using tcptest::connect_to;
using tcptest::listen_on;
using tcptest::recv_all;
using tcptest::send_all;

constexpr char kClientIp[] = "198.51.100.1";
constexpr char kPgIp[] = "198.51.100.50";      // answers on 5432
constexpr char kRefuseIp[] = "198.51.100.51";  // nothing listens on 6379
constexpr char kLossyIp[] = "198.51.100.52";   // answers on 8080 behind 10 % loss
constexpr uint16_t kPgPort = 5432;
constexpr uint16_t kRefusePort = 6379;
constexpr uint16_t kLossyPort = 8080;
constexpr int kConnections = 6;
constexpr size_t kPgRequest = 1000, kPgReply = 5000;
constexpr size_t kLossyRequest = 96 * 1024, kLossyReply = 3000;
constexpr char kClientComm[] = "nbfl-client";

std::string run_ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  testing::CommandResult r = testing::run_command(args, 30);
  return r.exit_code == 0 ? "" : r.output;
}

std::string ns_sysctl(const Netns& n, const std::string& setting) {
  testing::CommandResult r =
      testing::run_command({"ip", "netns", "exec", n.name(), "sysctl", "-qw", setting}, 30);
  return r.exit_code == 0 ? "" : r.output;
}

const netobs_flows_edge_stats* find_edge(const FlowsSnapshot& snap, const std::string& client,
                                         const std::string& server, const std::string& port) {
  for (const auto& [labels, stats] : snap.edges) {
    if (labels.client == client && labels.server == server && labels.port == port) return &stats;
  }
  return nullptr;
}

std::string describe(const FlowsSnapshot& snap) {
  std::ostringstream out;
  for (const auto& [l, s] : snap.edges) {
    out << l.client << " -> " << l.server << ":" << l.port << " (" << l.protocol
        << ") opened=" << s.opened << " failed=" << s.failed << " closed=" << s.closed
        << " to_server=" << s.bytes_to_server << " to_client=" << s.bytes_to_client
        << " retrans=" << s.retransmits << " rtt_n=" << s.rtt_count << " resets=" << s.resets
        << "\n";
  }
  return out.str();
}

// Validates `json` against the repo's topology schema; "" when valid.
std::string schema_errors(const std::string& json) {
  testing::TempDir dir;
  const std::string doc = dir.write("topology.json", json);
  testing::CommandResult r = testing::run_command(
      {"python3", std::string(NETOBS_SOURCE_DIR) + "/tests/support/validate_json_schema.py",
       std::string(NETOBS_SOURCE_DIR) + "/collectors/flows/topology.schema.json", doc},
      60);
  return r.exit_code == 0 ? "" : r.output;
}

// One edge of a /topology document as "opened failed closed to_server
// to_client retransmits resets", read by Python's json (an independent parser).
std::map<std::string, std::string> topology_counts(const std::string& json) {
  testing::TempDir dir;
  const std::string doc = dir.write("topology.json", json);
  testing::CommandResult r = testing::run_command(
      {"python3", "-c",
       "import json,sys\n"
       "for e in json.load(open(sys.argv[1]))['topology']['edges']:\n"
       "  a=e['attributes']\n"
       "  print(e['source']+'>'+e['target'], a['connections_opened'], a['connections_failed'],"
       " a['connections_closed'], a['bytes_to_server'], a['bytes_to_client'], a['retransmits'],"
       " a['resets'], a['protocol'])\n",
       doc},
      60);
  std::map<std::string, std::string> out;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.find(' ');
    if (space != std::string::npos) out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

std::string counts_text(const netobs_flows_edge_stats& s, const std::string& protocol) {
  return std::to_string(s.opened) + " " + std::to_string(s.failed) + " " +
         std::to_string(s.closed) + " " + std::to_string(s.bytes_to_server) + " " +
         std::to_string(s.bytes_to_client) + " " + std::to_string(s.retransmits) + " " +
         std::to_string(s.resets) + " " + protocol;
}

class FlowsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    ASSERT_EQ(client_ns_.create(), "");
    ASSERT_EQ(server_ns_.create(), "");
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "link", "add", "nbfl0", "type", "veth", "peer",
                      "name", "nbfl1", "netns", server_ns_.name()}),
              "");
    ASSERT_EQ(ns_sysctl(client_ns_, "net.ipv6.conf.nbfl0.disable_ipv6=1"), "");
    ASSERT_EQ(ns_sysctl(server_ns_, "net.ipv6.conf.nbfl1.disable_ipv6=1"), "");
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "addr", "add", std::string(kClientIp) + "/24", "dev",
                      "nbfl0"}),
              "");
    for (const char* ip : {kPgIp, kRefuseIp, kLossyIp}) {
      ASSERT_EQ(
          run_ip({"-n", server_ns_.name(), "addr", "add", std::string(ip) + "/24", "dev", "nbfl1"}),
          "");
    }
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "link", "set", "nbfl0", "up"}), "");
    ASSERT_EQ(run_ip({"-n", server_ns_.name(), "link", "set", "nbfl1", "up"}), "");
    preflight_ = run_preflight();
  }

  // A second veth pair, `client_if` (192.0.2.1) in the client namespace to
  // `server_if` (192.0.2.50) in the server's, for the interface filters.
  void add_second_pair(const std::string& client_if, const std::string& server_if) {
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "link", "add", client_if, "type", "veth", "peer",
                      "name", server_if, "netns", server_ns_.name()}),
              "");
    ASSERT_EQ(ns_sysctl(client_ns_, "net.ipv6.conf." + client_if + ".disable_ipv6=1"), "");
    ASSERT_EQ(ns_sysctl(server_ns_, "net.ipv6.conf." + server_if + ".disable_ipv6=1"), "");
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "addr", "add", "192.0.2.1/24", "dev", client_if}),
              "");
    ASSERT_EQ(run_ip({"-n", server_ns_.name(), "addr", "add", "192.0.2.50/24", "dev", server_if}),
              "");
    ASSERT_EQ(run_ip({"-n", client_ns_.name(), "link", "set", client_if, "up"}), "");
    ASSERT_EQ(run_ip({"-n", server_ns_.name(), "link", "set", server_if, "up"}), "");
  }

  Status start(FlowsCollector& collector, const Netns& ns, std::vector<std::string> services = {},
               const NetworkFilters& network = {}) {
    Config config = default_config();
    config.network = network;
    FlowsConfig& flows = config.collector<FlowsConfig>();
    flows.common.enabled = true;
    flows.network_namespace = ns.path();
    flows.services = std::move(services);
    return collector.start({config, preflight_});
  }

  Netns client_ns_{"nbflc" + std::to_string(getpid())};
  Netns server_ns_{"nbfls" + std::to_string(getpid())};
  PreflightReport preflight_;
};

TEST_F(FlowsCollectorTest, ScriptedTrafficGivesExactEdgesAndTopology) {
  // Every 10th of the client's non-SYN segments to the lossy server is
  // dropped on the server's input: the client retransmits, and the server too
  // when the dropped segment was an ACK of its reply. A counter, not a random
  // draw: with GSO the six connections make only ~30 segments, and a 10 %
  // random loss dropped none of them in about 1 run in 25.
  ASSERT_EQ(server_ns_.nft("table inet nbflloss {\n"
                           "  chain in {\n"
                           "    type filter hook input priority 0;\n"
                           "    ip daddr " +
                           std::string(kLossyIp) +
                           " tcp dport 8080 tcp flags & syn == 0 numgen inc mod 10 == 9 drop\n"
                           "  }\n"
                           "}\n"),
            "");
  FlowsCollector client_side, server_side;
  Status started = start(client_side, client_ns_, {"pg=198.51.100.50:5432"});
  ASSERT_TRUE(started) << started.message();
  started = start(server_side, server_ns_);
  ASSERT_TRUE(started) << started.message();

  std::map<std::string, uint64_t> client_before, client_after, server_before, server_after;
  server_ns_.run([&] { server_before = tcptest::read_counters(); });
  // Servers: accept, read the request, send the reply, close.
  std::atomic<int> server_failures{0};
  std::atomic<bool> listening{false};
  std::thread servers([&] {
    server_ns_.run([&] {
      int pg = listen_on(kPgIp, kPgPort);
      int lossy = listen_on(kLossyIp, kLossyPort);
      listening = true;
      if (pg < 0 || lossy < 0) {
        ++server_failures;
        return;
      }
      auto serve = [&](int listener, size_t request, size_t reply) {
        std::vector<char> in(request), out(reply, 's');
        for (int i = 0; i < kConnections; ++i) {
          int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
          if (fd < 0) {
            ++server_failures;
            return;
          }
          tcptest::set_timeouts(fd, 20);
          if (!recv_all(fd, in.data(), request) || !send_all(fd, out.data(), reply)) {
            ++server_failures;
          }
          close(fd);
        }
      };
      std::thread lossy_thread([&] { serve(lossy, kLossyRequest, kLossyReply); });
      serve(pg, kPgRequest, kPgReply);
      lossy_thread.join();
      close(pg);
      close(lossy);
    });
  });
  while (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  struct Script {
    int refused = 0;
    std::string error;
  };
  Script script = client_ns_.run([&] {
    Script s;
    prctl(PR_SET_NAME, kClientComm);
    client_before = tcptest::read_counters();
    auto exchange = [&](const char* ip, uint16_t port, size_t request, size_t reply) {
      int fd = connect_to(ip, port);
      if (fd < 0) {
        s.error = std::string("connect to ") + ip + " failed: " + std::strerror(-fd);
        return;
      }
      tcptest::set_timeouts(fd, 20);
      std::vector<char> out(request, 'c'), in(reply);
      if (!send_all(fd, out.data(), request) || !recv_all(fd, in.data(), reply)) {
        s.error = std::string("exchange with ") + ip + " failed";
      }
      char eof;
      recv(fd, &eof, 1, 0);  // the server's FIN: close second, no TIME_WAIT here
      close(fd);
    };
    for (int i = 0; i < kConnections && s.error.empty(); ++i) {
      exchange(kPgIp, kPgPort, kPgRequest, kPgReply);
      if (connect_to(kRefuseIp, kRefusePort) == -ECONNREFUSED) ++s.refused;
      exchange(kLossyIp, kLossyPort, kLossyRequest, kLossyReply);
    }
    return s;
  });
  servers.join();
  ASSERT_EQ(script.error, "");
  ASSERT_EQ(server_failures, 0);
  ASSERT_EQ(script.refused, kConnections);

  // Closing handshakes finish asynchronously (retransmitted FINs): wait
  // until every connection closed on both sides.
  const std::string comm = kClientComm;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  Result<FlowsSnapshot> client_snap = client_side.snapshot();
  Result<FlowsSnapshot> server_snap = server_side.snapshot();
  auto closed = [&](const Result<FlowsSnapshot>& snap, const std::string& client,
                    const std::string& server, uint16_t port) -> uint64_t {
    if (!snap) return 0;
    const netobs_flows_edge_stats* e = find_edge(*snap, client, server, std::to_string(port));
    return e ? e->closed : 0;
  };
  while (Clock::now() < deadline &&
         (closed(client_snap, comm, "pg", kPgPort) < kConnections ||
          closed(client_snap, comm, kLossyIp, kLossyPort) < kConnections ||
          closed(server_snap, kClientIp, kPgIp, kPgPort) < kConnections ||
          closed(server_snap, kClientIp, kLossyIp, kLossyPort) < kConnections)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    client_snap = client_side.snapshot();
    server_snap = server_side.snapshot();
  }
  ASSERT_TRUE(client_snap) << client_snap.status().message();
  ASSERT_TRUE(server_snap) << server_snap.status().message();
  client_ns_.run([&] { client_after = tcptest::read_counters(); });
  server_ns_.run([&] { server_after = tcptest::read_counters(); });

  // Client side: process -> server, the postgres server folded into "pg".
  const auto* pg = find_edge(*client_snap, comm, "pg", "5432");
  const auto* refused = find_edge(*client_snap, comm, kRefuseIp, "6379");
  const auto* lossy = find_edge(*client_snap, comm, kLossyIp, "8080");
  ASSERT_TRUE(pg && refused && lossy) << describe(*client_snap);
  EXPECT_EQ(pg->opened, kConnections);
  EXPECT_EQ(pg->failed, 0u);
  EXPECT_EQ(pg->closed, kConnections);
  EXPECT_EQ(pg->bytes_to_server, kConnections * kPgRequest);
  EXPECT_EQ(pg->bytes_to_client, kConnections * kPgReply);
  EXPECT_EQ(pg->rtt_count, kConnections);
  EXPECT_GT(pg->rtt_sum_us, 0u);
  EXPECT_EQ(pg->resets, 0u);
  EXPECT_EQ(refused->opened, 0u);
  EXPECT_EQ(refused->failed, kConnections);
  EXPECT_EQ(refused->resets, kConnections);  // the RST that refused each connect
  EXPECT_EQ(refused->closed, 0u);
  EXPECT_EQ(lossy->opened, kConnections);
  EXPECT_EQ(lossy->closed, kConnections);
  EXPECT_EQ(lossy->bytes_to_server, kConnections * kLossyRequest);
  EXPECT_EQ(lossy->bytes_to_client, kConnections * kLossyReply);
  EXPECT_GT(lossy->retransmits, 0u) << "the loss rule dropped nothing";
  uint64_t client_retrans = 0;
  for (const auto& [labels, s] : client_snap->edges) client_retrans += s.retransmits;
  EXPECT_EQ(client_retrans, tcptest::delta(client_before, client_after, "Tcp.RetransSegs"))
      << describe(*client_snap);
  EXPECT_EQ(client_snap->edges.size(), 4u) << describe(*client_snap);  // 3 + `other`
  EXPECT_EQ(pg->opened + lossy->opened,
            tcptest::delta(client_before, client_after, "Tcp.ActiveOpens") - kConnections);

  // Server side: the client's address -> the listening address:port; the
  // refusing server has no socket, so no edge.
  const auto* pg_in = find_edge(*server_snap, kClientIp, kPgIp, "5432");
  const auto* lossy_in = find_edge(*server_snap, kClientIp, kLossyIp, "8080");
  ASSERT_TRUE(pg_in && lossy_in) << describe(*server_snap);
  EXPECT_EQ(find_edge(*server_snap, kClientIp, kRefuseIp, "6379"), nullptr);
  EXPECT_EQ(pg_in->opened, kConnections);
  EXPECT_EQ(pg_in->closed, kConnections);
  EXPECT_EQ(pg_in->bytes_to_server, kConnections * kPgRequest);
  EXPECT_EQ(pg_in->bytes_to_client, kConnections * kPgReply);
  EXPECT_EQ(lossy_in->opened, kConnections);
  EXPECT_EQ(lossy_in->bytes_to_server, kConnections * kLossyRequest);
  EXPECT_EQ(lossy_in->bytes_to_client, kConnections * kLossyReply);
  EXPECT_EQ(pg_in->opened + lossy_in->opened,
            tcptest::delta(server_before, server_after, "Tcp.PassiveOpens"));
  uint64_t server_retrans = 0;
  for (const auto& [labels, s] : server_snap->edges) server_retrans += s.retransmits;
  EXPECT_EQ(server_retrans, tcptest::delta(server_before, server_after, "Tcp.RetransSegs"))
      << describe(*server_snap);

  // /topology: valid against the schema, and the same counts.
  Result<std::string> json = client_side.json_endpoint(FlowsCollector::kTopologyPath);
  ASSERT_TRUE(json) << json.status().message();
  EXPECT_EQ(schema_errors(*json), "") << *json;
  std::map<std::string, std::string> counts = topology_counts(*json);
  const std::string c = comm;
  EXPECT_EQ(counts[c + ">pg"], counts_text(*pg, "postgres")) << *json;
  EXPECT_EQ(counts[c + ">198.51.100.51:6379"], counts_text(*refused, "redis")) << *json;
  EXPECT_EQ(counts[c + ">198.51.100.52:8080"], counts_text(*lossy, "http")) << *json;
  EXPECT_EQ(counts.size(), 3u) << *json;  // the idle `other` edge is left out
  Result<std::string> server_json = server_side.json_endpoint(FlowsCollector::kTopologyPath);
  ASSERT_TRUE(server_json);
  EXPECT_EQ(schema_errors(*server_json), "") << *server_json;
  counts = topology_counts(*server_json);
  EXPECT_EQ(counts["198.51.100.1>198.51.100.50:5432"], counts_text(*pg_in, "postgres"));
  EXPECT_EQ(counts["198.51.100.1>198.51.100.52:8080"], counts_text(*lossy_in, "http"));
}

namespace udptest {

int udp_socket(const char* ip, uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

sockaddr_in endpoint(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

}  // namespace udptest

// UDP flows: a dns-like server on 198.51.100.50:53 (unconnected socket,
// recvfrom/sendto) answers a connected client (5 queries) and an unconnected
// one (3 queries, sendto); a server on 198.51.100.51:9999 reads and never
// answers (4 datagrams). Truth: the sizes the script sent and both
// namespaces' Udp InDatagrams/OutDatagrams.
TEST_F(FlowsCollectorTest, UdpFlowsGiveExactEdges) {
  constexpr uint16_t kDnsPort = 53, kSilentPort = 9999;
  constexpr int kConnectedQueries = 5, kUnconnectedQueries = 3, kSilentSends = 4;
  constexpr size_t kQuery1 = 40, kReply1 = 120, kQuery2 = 60, kReply2 = 200, kSilent = 30;
  FlowsCollector client_side, server_side;
  Status started = start(client_side, client_ns_);
  ASSERT_TRUE(started) << started.message();
  started = start(server_side, server_ns_);
  ASSERT_TRUE(started) << started.message();
  std::map<std::string, uint64_t> client_before, client_after, server_before, server_after;
  client_ns_.run([&] { client_before = tcptest::read_counters(); });
  server_ns_.run([&] { server_before = tcptest::read_counters(); });

  std::atomic<bool> ready{false};
  std::atomic<int> failures{0};
  std::thread servers([&] {
    server_ns_.run([&] {
      int dns = udptest::udp_socket(kPgIp, kDnsPort);
      int silent = udptest::udp_socket(kRefuseIp, kSilentPort);
      ready = true;
      if (dns < 0 || silent < 0) {
        ++failures;
        return;
      }
      char buf[2048];
      for (int i = 0; i < kConnectedQueries + kUnconnectedQueries; ++i) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(dns, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
          ++failures;
          break;
        }
        const size_t reply = n == static_cast<ssize_t>(kQuery1) ? kReply1 : kReply2;
        std::vector<char> out(reply, 'r');
        if (sendto(dns, out.data(), reply, 0, reinterpret_cast<sockaddr*>(&from), len) < 0) {
          ++failures;
        }
      }
      for (int i = 0; i < kSilentSends; ++i) {
        if (recv(silent, buf, sizeof buf, 0) != static_cast<ssize_t>(kSilent)) ++failures;
      }
      close(dns);
      close(silent);
    });
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread client([&] {
    client_ns_.run([&] {
      prctl(PR_SET_NAME, kClientComm);
      char buf[2048];
      const sockaddr_in dns = udptest::endpoint(kPgIp, kDnsPort);
      const sockaddr_in silent = udptest::endpoint(kRefuseIp, kSilentPort);
      // Connected client.
      int c1 = udptest::udp_socket(kClientIp, 0);
      if (c1 < 0 || connect(c1, reinterpret_cast<const sockaddr*>(&dns), sizeof dns) != 0) {
        ++failures;
        return;
      }
      std::vector<char> q1(kQuery1, 'q'), q2(kQuery2, 'q'), q3(kSilent, 'q');
      for (int i = 0; i < kConnectedQueries; ++i) {
        if (send(c1, q1.data(), q1.size(), 0) < 0 ||
            recv(c1, buf, sizeof buf, 0) != static_cast<ssize_t>(kReply1)) {
          ++failures;
        }
      }
      // Unconnected client.
      int c2 = udptest::udp_socket(kClientIp, 0);
      for (int i = 0; i < kUnconnectedQueries; ++i) {
        if (sendto(c2, q2.data(), q2.size(), 0, reinterpret_cast<const sockaddr*>(&dns),
                   sizeof dns) < 0 ||
            recvfrom(c2, buf, sizeof buf, 0, nullptr, nullptr) != static_cast<ssize_t>(kReply2)) {
          ++failures;
        }
      }
      // Never answered.
      int c3 = udptest::udp_socket(kClientIp, 0);
      for (int i = 0; i < kSilentSends; ++i) {
        if (sendto(c3, q3.data(), q3.size(), 0, reinterpret_cast<const sockaddr*>(&silent),
                   sizeof silent) < 0) {
          ++failures;
        }
      }
      close(c1);
      close(c2);
      close(c3);
    });
  });
  client.join();
  servers.join();
  ASSERT_EQ(failures, 0);
  client_ns_.run([&] { client_after = tcptest::read_counters(); });
  server_ns_.run([&] { server_after = tcptest::read_counters(); });
  Result<FlowsSnapshot> client_snap = client_side.snapshot();
  Result<FlowsSnapshot> server_snap = server_side.snapshot();
  ASSERT_TRUE(client_snap && server_snap);

  const uint64_t queries = kConnectedQueries + kUnconnectedQueries;
  const uint64_t query_bytes = kConnectedQueries * kQuery1 + kUnconnectedQueries * kQuery2;
  const uint64_t reply_bytes = kConnectedQueries * kReply1 + kUnconnectedQueries * kReply2;
  // Client side: the process -> the server, two flows (source ports).
  const auto* out = find_edge(*client_snap, kClientComm, kPgIp, "53");
  ASSERT_TRUE(out) << describe(*client_snap);
  EXPECT_EQ(out->opened, 2u);
  EXPECT_EQ(out->failed + out->closed + out->retransmits + out->resets, 0u);
  EXPECT_EQ(out->packets_to_server, queries);
  EXPECT_EQ(out->bytes_to_server, query_bytes);
  EXPECT_EQ(out->packets_to_client, queries);
  EXPECT_EQ(out->bytes_to_client, reply_bytes);
  EXPECT_EQ(find_edge(*client_snap, kClientComm, kRefuseIp, "9999"), nullptr);
  EXPECT_EQ(client_snap->edges.size(), 2u) << describe(*client_snap);  // + `other`
  EXPECT_EQ(client_snap->counters[NETOBS_FLOWS_UDP_FLOWS], 3u);
  // The namespace's own counters: what the edge saw plus the unanswered sends.
  EXPECT_EQ(out->packets_to_server + kSilentSends,
            tcptest::delta(client_before, client_after, "Udp.OutDatagrams"));
  EXPECT_EQ(out->packets_to_client, tcptest::delta(client_before, client_after, "Udp.InDatagrams"));

  // Server side: the client's address -> the server's address:port.
  const auto* in = find_edge(*server_snap, kClientIp, kPgIp, "53");
  ASSERT_TRUE(in) << describe(*server_snap);
  EXPECT_EQ(in->opened, 2u);
  EXPECT_EQ(in->packets_to_server, queries);
  EXPECT_EQ(in->bytes_to_server, query_bytes);
  EXPECT_EQ(in->packets_to_client, queries);
  EXPECT_EQ(in->bytes_to_client, reply_bytes);
  EXPECT_EQ(find_edge(*server_snap, kClientIp, kRefuseIp, "9999"), nullptr);
  EXPECT_EQ(server_snap->counters[NETOBS_FLOWS_UDP_FLOWS], 3u);
  EXPECT_EQ(in->packets_to_server + kSilentSends,
            tcptest::delta(server_before, server_after, "Udp.InDatagrams"));
  EXPECT_EQ(in->packets_to_client, tcptest::delta(server_before, server_after, "Udp.OutDatagrams"));

  // /topology: valid, protocol from the port table, transport udp.
  Result<std::string> json = client_side.json_endpoint(FlowsCollector::kTopologyPath);
  ASSERT_TRUE(json) << json.status().message();
  EXPECT_EQ(schema_errors(*json), "") << *json;
  std::map<std::string, std::string> counts = topology_counts(*json);
  EXPECT_EQ(counts[std::string(kClientComm) + ">198.51.100.50:53"], counts_text(*out, "dns"))
      << *json;
  EXPECT_NE(json->find("\"transport\":\"udp\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"packets_to_server\":8,\"packets_to_client\":8"), std::string::npos)
      << *json;
}

// network.interfaces / exclude_interfaces for UDP flows: a second veth pair
// (nb-fl-x0 198.51.100.1's namespace side 192.0.2.1, server 192.0.2.50).
// The client side excludes nb-fl-x0, the server side includes only nbfl1:
// the exchange over nb-fl-x0 gives no edge on either side, the one over
// nbfl0/nbfl1 exact counts.
TEST_F(FlowsCollectorTest, InterfaceFiltersApplyToUdpFlows) {
  add_second_pair("nb-fl-x0", "nb-fl-x1");
  if (HasFatalFailure()) return;
  NetworkFilters client_filters, server_filters;
  client_filters.exclude_interfaces = {"nb-fl-x0"};
  server_filters.interfaces = {"nbfl1"};
  FlowsCollector client_side, server_side;
  Status started = start(client_side, client_ns_, {}, client_filters);
  ASSERT_TRUE(started) << started.message();
  started = start(server_side, server_ns_, {}, server_filters);
  ASSERT_TRUE(started) << started.message();

  constexpr int kKept = 3, kSkipped = 2;
  std::atomic<bool> ready{false};
  std::atomic<int> failures{0};
  std::thread server([&] {
    server_ns_.run([&] {
      int kept = udptest::udp_socket(kPgIp, 53);
      int skipped = udptest::udp_socket("192.0.2.50", 53);
      ready = true;
      if (kept < 0 || skipped < 0) {
        ++failures;
        return;
      }
      char buf[256];
      for (auto [fd, n] : {std::pair{kept, kKept}, std::pair{skipped, kSkipped}}) {
        for (int i = 0; i < n; ++i) {
          sockaddr_in from{};
          socklen_t len = sizeof from;
          ssize_t got = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
          if (got <= 0 || sendto(fd, buf, got, 0, reinterpret_cast<sockaddr*>(&from), len) < 0) {
            ++failures;
          }
        }
      }
      close(kept);
      close(skipped);
    });
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  client_ns_.run([&] {
    prctl(PR_SET_NAME, kClientComm);
    char buf[256] = {};
    for (auto [ip, n] : {std::pair{kPgIp, kKept}, std::pair{"192.0.2.50", kSkipped}}) {
      const sockaddr_in to = udptest::endpoint(ip, 53);
      int fd = udptest::udp_socket("0.0.0.0", 0);
      for (int i = 0; i < n; ++i) {
        if (sendto(fd, buf, 25, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 25 ||
            recv(fd, buf, sizeof buf, 0) != 25) {
          ++failures;
        }
      }
      close(fd);
    }
  });
  server.join();
  ASSERT_EQ(failures, 0);
  Result<FlowsSnapshot> client_snap = client_side.snapshot();
  Result<FlowsSnapshot> server_snap = server_side.snapshot();
  ASSERT_TRUE(client_snap && server_snap);
  const auto* out = find_edge(*client_snap, kClientComm, kPgIp, "53");
  ASSERT_TRUE(out) << describe(*client_snap);
  EXPECT_EQ(out->opened, 1u);
  EXPECT_EQ(out->packets_to_server, static_cast<uint64_t>(kKept));
  EXPECT_EQ(out->bytes_to_client, 25u * kKept);
  EXPECT_EQ(find_edge(*client_snap, kClientComm, "192.0.2.50", "53"), nullptr)
      << describe(*client_snap);
  EXPECT_EQ(client_snap->counters[NETOBS_FLOWS_UDP_FLOWS], 1u);
  const auto* in = find_edge(*server_snap, kClientIp, kPgIp, "53");
  ASSERT_TRUE(in) << describe(*server_snap);
  EXPECT_EQ(in->packets_to_client, static_cast<uint64_t>(kKept));
  EXPECT_EQ(in->bytes_to_server, 25u * kKept);
  EXPECT_EQ(find_edge(*server_snap, "192.0.2.1", "192.0.2.50", "53"), nullptr)
      << describe(*server_snap);
  EXPECT_EQ(server_snap->counters[NETOBS_FLOWS_UDP_FLOWS], 1u);
}

// A freed edge slot takes its UDP flows with it: the kernel's per-CPU flow
// cache and the udp_flows entries must not count a later datagram on the
// slot's next owner. max_edges 1, attribution cgroup (gone_after 1 s);
// everything on CPU 0, so the cache line of the first flow is where the
// later datagrams look. A (cgroup a) exchanges 3 queries from port 40001 and
// gets the one slot; cgroup a goes and the slot is freed; B (cgroup b, port
// 40002, 2 queries) gets the slot again; C (cgroup b) reuses A's 5-tuple
// (port 40001, 4 queries): a new flow, folded into `other`. Truth: the
// datagrams each child sent and received (40 bytes out, 100 back).
TEST_F(FlowsCollectorTest, UdpFlowsOfAFreedSlotAreForgotten) {
  namespace fs = std::filesystem;
  constexpr uint16_t kDnsPort = 53;
  constexpr size_t kQuery = 40, kReply = 100;
  Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
  ASSERT_TRUE(mount) << mount.status().message();
  const std::string top = *mount + "/nb-fl-u" + std::to_string(getpid());
  fs::create_directories(top + "/a");
  fs::create_directories(top + "/b");
  struct Cleanup {
    std::string top;
    ~Cleanup() {
      for (const std::string& dir : {top + "/a", top + "/b", top}) {
        for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0 && errno != ENOENT; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
  } cleanup{top};
  cpu_set_t cpu0;
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);

  Config config = default_config();
  config.attribution.gone_after_seconds = 1;
  FlowsConfig& flows = config.collector<FlowsConfig>();
  flows.common.enabled = true;
  flows.network_namespace = client_ns_.path();
  flows.attribution = "cgroup";
  flows.max_edges = 1;
  FlowsCollector collector;
  Status started = collector.start({config, preflight_});
  ASSERT_TRUE(started) << started.message();

  std::atomic<bool> ready{false}, stop{false};
  std::thread server([&] {
    sched_setaffinity(0, sizeof cpu0, &cpu0);
    server_ns_.run([&] {
      int fd = udptest::udp_socket(kPgIp, kDnsPort);
      timeval tv{0, 100 * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ready = true;
      char buf[256];
      const std::vector<char> reply(kReply, 'r');
      while (fd >= 0 && !stop) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        if (recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) > 0) {
          sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fd >= 0) close(fd);
    });
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // A child in `cgroup`, named `comm`, on CPU 0 in the client namespace:
  // `queries` queries from kClientIp:port to the server, each answered.
  const auto exchange = [&](const std::string& cgroup, const char* comm, uint16_t port,
                            int queries) {
    const std::string procs = top + "/" + cgroup + "/cgroup.procs";
    const std::string ns = client_ns_.path();
    pid_t child = fork();
    if (child == 0) {
      const std::string pid = std::to_string(getpid()) + "\n";
      int f = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      int n = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
      if (f < 0 || write(f, pid.data(), pid.size()) < 0 || n < 0 || setns(n, CLONE_NEWNET) != 0 ||
          sched_setaffinity(0, sizeof cpu0, &cpu0) != 0) {
        _exit(2);
      }
      prctl(PR_SET_NAME, comm);
      int u = udptest::udp_socket(kClientIp, port);
      const sockaddr_in to = udptest::endpoint(kPgIp, kDnsPort);
      if (u < 0 || connect(u, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) _exit(3);
      char buf[256] = {};
      for (int i = 0; i < queries; ++i) {
        if (send(u, buf, kQuery, 0) != static_cast<ssize_t>(kQuery) ||
            recv(u, buf, sizeof buf, 0) != static_cast<ssize_t>(kReply)) {
          _exit(4);
        }
      }
      _exit(0);
    }
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 100;
  };
  const auto udp_edge = [](const FlowsSnapshot& snap,
                           const std::string& client) -> const netobs_flows_edge_stats* {
    for (const auto& [labels, stats] : snap.edges) {
      if (labels.client == client && (client == "other" || labels.transport == "udp")) {
        return &stats;
      }
    }
    return nullptr;
  };
  const auto expect_queries = [&](const netobs_flows_edge_stats* e, uint64_t queries) {
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->opened, 1u);
    EXPECT_EQ(e->packets_to_server, queries);
    EXPECT_EQ(e->bytes_to_server, queries * kQuery);
    EXPECT_EQ(e->packets_to_client, queries);
    EXPECT_EQ(e->bytes_to_client, queries * kReply);
  };

  ASSERT_EQ(exchange("a", "nbfl-udp-a", 40001, 3), 0);
  Result<FlowsSnapshot> snap = collector.snapshot();
  ASSERT_TRUE(snap);
  expect_queries(udp_edge(*snap, "nbfl-udp-a"), 3);

  // Cgroup a goes: after gone_after its edge gives the slot back.
  ASSERT_EQ(rmdir((top + "/a").c_str()), 0) << errno;
  bool gone = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); !gone && Clock::now() < deadline;) {
    std::vector<prometheus::MetricFamily> families;
    ASSERT_TRUE(collector.collect(families));
    gone = prometheus::TextSerializer().Serialize(families).find("nbfl-udp-a") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(gone);

  ASSERT_EQ(exchange("b", "nbfl-udp-b", 40002, 2), 0);
  ASSERT_EQ(exchange("b", "nbfl-udp-c", 40001, 4), 0);
  stop = true;
  server.join();
  snap = collector.snapshot();
  ASSERT_TRUE(snap);
  expect_queries(udp_edge(*snap, "nbfl-udp-b"), 2);  // the freed slot's new owner, exact
  expect_queries(udp_edge(*snap, "other"), 4);       // A's 5-tuple again: a new flow
  EXPECT_EQ(udp_edge(*snap, "nbfl-udp-c"), nullptr) << describe(*snap);
}

// network.interfaces / exclude_interfaces for TCP: a second veth pair
// (nb-f2-t0 on the client, 192.0.2.1; nb-f2-t1 on the server, 192.0.2.50).
// The client side excludes nb-f2-t0, the server side includes only nbfl1.
// Connections over nb-f2-t0 (accepted or refused) give no edge on either
// side and count as filtered; those over nbfl0/nbfl1 give exact counts.
TEST_F(FlowsCollectorTest, InterfaceFiltersApplyToTcpConnections) {
  constexpr char kOtherClientIp[] = "192.0.2.1", kOtherServerIp[] = "192.0.2.50";
  add_second_pair("nb-f2-t0", "nb-f2-t1");
  if (HasFatalFailure()) return;
  NetworkFilters client_filters, server_filters;
  client_filters.exclude_interfaces = {"nb-f2-t0"};
  server_filters.interfaces = {"nbfl1"};
  FlowsCollector client_side, server_side;
  Status started = start(client_side, client_ns_, {}, client_filters);
  ASSERT_TRUE(started) << started.message();
  started = start(server_side, server_ns_, {}, server_filters);
  ASSERT_TRUE(started) << started.message();

  constexpr int kKept = 3, kSkipped = 2;
  constexpr size_t kRequest = 100, kReply = 300;
  std::atomic<bool> ready{false};
  std::atomic<int> failures{0};
  std::thread server([&] {
    server_ns_.run([&] {
      int kept = listen_on(kPgIp, kPgPort);
      int skipped = listen_on(kOtherServerIp, kPgPort);
      ready = true;
      if (kept < 0 || skipped < 0) {
        ++failures;
        return;
      }
      std::vector<char> in(kRequest), out(kReply, 's');
      for (auto [listener, n] : {std::pair{kept, kKept}, std::pair{skipped, kSkipped}}) {
        for (int i = 0; i < n; ++i) {
          int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
          if (fd < 0) {
            ++failures;
            return;
          }
          tcptest::set_timeouts(fd, 20);
          if (!recv_all(fd, in.data(), kRequest) || !send_all(fd, out.data(), kReply)) ++failures;
          close(fd);
        }
      }
      close(kept);
      close(skipped);
    });
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int refused = 0;
  client_ns_.run([&] {
    prctl(PR_SET_NAME, kClientComm);
    std::vector<char> out(kRequest, 'c'), in(kReply);
    for (auto [ip, n] : {std::pair{kPgIp, kKept}, std::pair{kOtherServerIp, kSkipped}}) {
      for (int i = 0; i < n; ++i) {
        int fd = connect_to(ip, kPgPort);
        if (fd < 0) {
          ++failures;
          continue;
        }
        tcptest::set_timeouts(fd, 20);
        if (!send_all(fd, out.data(), kRequest) || !recv_all(fd, in.data(), kReply)) ++failures;
        char eof;
        recv(fd, &eof, 1, 0);
        close(fd);
      }
      // One refused connect per interface: a failed edge only on the included one.
      if (connect_to(ip == kPgIp ? kRefuseIp : kOtherServerIp, kRefusePort) == -ECONNREFUSED) {
        ++refused;
      }
    }
  });
  server.join();
  ASSERT_EQ(failures, 0);
  ASSERT_EQ(refused, 2);

  // The closing handshakes finish asynchronously.
  const auto closed = [](const Result<FlowsSnapshot>& snap, const std::string& client) {
    const auto* e = snap ? find_edge(*snap, client, kPgIp, "5432") : nullptr;
    return e ? e->closed : 0;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  Result<FlowsSnapshot> client_snap = client_side.snapshot();
  Result<FlowsSnapshot> server_snap = server_side.snapshot();
  while (Clock::now() < deadline &&
         (closed(client_snap, kClientComm) < kKept || closed(server_snap, kClientIp) < kKept)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    client_snap = client_side.snapshot();
    server_snap = server_side.snapshot();
  }
  ASSERT_TRUE(client_snap && server_snap);
  const auto* out = find_edge(*client_snap, kClientComm, kPgIp, "5432");
  const auto* out_refused = find_edge(*client_snap, kClientComm, kRefuseIp, "6379");
  ASSERT_TRUE(out && out_refused) << describe(*client_snap);
  EXPECT_EQ(out->opened, static_cast<uint64_t>(kKept));
  EXPECT_EQ(out->closed, static_cast<uint64_t>(kKept));
  EXPECT_EQ(out->failed, 0u);
  EXPECT_EQ(out->bytes_to_server, kKept * kRequest);
  EXPECT_EQ(out->bytes_to_client, kKept * kReply);
  EXPECT_EQ(out_refused->failed, 1u);
  EXPECT_EQ(out_refused->resets, 1u);
  EXPECT_EQ(client_snap->edges.size(), 3u) << describe(*client_snap);  // 2 + `other`
  EXPECT_EQ(client_snap->counters[NETOBS_FLOWS_FILTERED], static_cast<uint64_t>(kSkipped + 1));
  const auto* in = find_edge(*server_snap, kClientIp, kPgIp, "5432");
  ASSERT_TRUE(in) << describe(*server_snap);
  EXPECT_EQ(in->opened, static_cast<uint64_t>(kKept));
  EXPECT_EQ(in->closed, static_cast<uint64_t>(kKept));
  EXPECT_EQ(in->bytes_to_server, kKept * kRequest);
  EXPECT_EQ(in->bytes_to_client, kKept * kReply);
  EXPECT_EQ(find_edge(*server_snap, kOtherClientIp, kOtherServerIp, "5432"), nullptr)
      << describe(*server_snap);
  EXPECT_EQ(server_snap->edges.size(), 2u) << describe(*server_snap);  // 1 + `other`
  EXPECT_EQ(server_snap->counters[NETOBS_FLOWS_FILTERED], static_cast<uint64_t>(kSkipped));
}

// Connections established before the collector started are attributed from
// the sock_diag dump: their close, bytes and direction land on the right edges.
TEST_F(FlowsCollectorTest, PreExistingConnectionsAreSeeded) {
  struct Pair {
    int client = -1, server = -1;
  };
  constexpr int kPairs = 3;
  int listener = -1;
  std::vector<Pair> pairs;
  server_ns_.run([&] { listener = listen_on(kPgIp, kPgPort); });
  ASSERT_GE(listener, 0);
  std::thread acceptor([&] {
    server_ns_.run([&] {
      for (int i = 0; i < kPairs; ++i) {
        Pair p;
        p.server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        pairs.push_back(p);
      }
    });
  });
  std::vector<int> clients = client_ns_.run([&] {
    std::vector<int> fds;
    for (int i = 0; i < kPairs; ++i) fds.push_back(connect_to(kPgIp, kPgPort));
    return fds;
  });
  acceptor.join();
  ASSERT_EQ(pairs.size(), static_cast<size_t>(kPairs));
  for (int fd : clients) ASSERT_GE(fd, 0);

  FlowsCollector client_side, server_side;
  ASSERT_TRUE(start(client_side, client_ns_));
  ASSERT_TRUE(start(server_side, server_ns_));
  EXPECT_EQ(client_side.seeded_connections(), static_cast<size_t>(kPairs));
  EXPECT_EQ(server_side.seeded_connections(), static_cast<size_t>(kPairs));

  constexpr size_t kBytes = 777;
  std::vector<char> data(kBytes, 'p');
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_TRUE(send_all(clients[i], data.data(), kBytes));
    ASSERT_TRUE(recv_all(pairs[i].server, data.data(), kBytes));
    close(pairs[i].server);
    char eof;
    recv(clients[i], &eof, 1, 0);
    close(clients[i]);
  }
  close(listener);
  std::string process_comm;
  std::ifstream("/proc/self/comm") >> process_comm;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  Result<FlowsSnapshot> c = client_side.snapshot();
  Result<FlowsSnapshot> s = server_side.snapshot();
  auto closed_of = [](const Result<FlowsSnapshot>& snap, const std::string& client,
                      const std::string& server) -> uint64_t {
    if (!snap) return 0;
    const auto* e = find_edge(*snap, client, server, "5432");
    return e ? e->closed : 0;
  };
  while (Clock::now() < deadline &&
         (closed_of(c, process_comm, kPgIp) < kPairs || closed_of(s, kClientIp, kPgIp) < kPairs)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c = client_side.snapshot();
    s = server_side.snapshot();
  }
  ASSERT_TRUE(c && s);
  // The owner's comm from /proc (the process, not the thread that connected).
  const auto* out = find_edge(*c, process_comm, kPgIp, "5432");
  const auto* in = find_edge(*s, kClientIp, kPgIp, "5432");
  ASSERT_TRUE(out && in) << describe(*c) << describe(*s);
  EXPECT_EQ(out->opened, 0u);  // opened before netobs watched
  EXPECT_EQ(out->closed, kPairs);
  EXPECT_EQ(out->bytes_to_server, kPairs * kBytes);
  EXPECT_EQ(in->closed, kPairs);
  EXPECT_EQ(in->bytes_to_server, kPairs * kBytes);
}

// network.exclude_cidrs (remote address) and exclude_ports (server port)
// apply in the kernel: connections they match make no edge and are counted
// as filtered; the others exactly as before.
TEST_F(FlowsCollectorTest, NetworkFiltersApply) {
  NetworkFilters network;
  network.exclude_cidrs = {std::string(kRefuseIp) + "/32"};
  network.exclude_ports = {kLossyPort};
  FlowsCollector collector;
  Status started = start(collector, client_ns_, {}, network);
  ASSERT_TRUE(started) << started.message();
  int pg = -1, lossy = -1;
  server_ns_.run([&] {
    pg = listen_on(kPgIp, kPgPort);
    lossy = listen_on(kLossyIp, kLossyPort);
  });
  ASSERT_GE(pg, 0);
  ASSERT_GE(lossy, 0);
  constexpr int kCount = 3;
  const int made = client_ns_.run([&] {
    prctl(PR_SET_NAME, kClientComm);
    int n = 0;
    for (int i = 0; i < kCount; ++i) {
      for (auto [ip, port] : {std::pair{kPgIp, kPgPort}, std::pair{kRefuseIp, kRefusePort},
                              std::pair{kLossyIp, kLossyPort}}) {
        int fd = connect_to(ip, port);
        if (fd >= 0 || fd == -ECONNREFUSED) ++n;
        if (fd >= 0) close(fd);
      }
    }
    return n;
  });
  ASSERT_EQ(made, 3 * kCount);
  Result<FlowsSnapshot> snap = collector.snapshot();
  ASSERT_TRUE(snap);
  const auto* kept = find_edge(*snap, kClientComm, kPgIp, "5432");
  ASSERT_TRUE(kept) << describe(*snap);
  EXPECT_EQ(kept->opened, kCount);
  EXPECT_EQ(find_edge(*snap, kClientComm, kRefuseIp, "6379"), nullptr) << describe(*snap);
  EXPECT_EQ(find_edge(*snap, kClientComm, kLossyIp, "8080"), nullptr) << describe(*snap);
  EXPECT_EQ(snap->counters[NETOBS_FLOWS_FILTERED], 2u * kCount);
  close(pg);
  close(lossy);
}

// The socket table's overflow path, on every rung of the attach ladder: with
// one set (NETOBS_FLOWS_SOCK_WAYS records) in each collector, kOverflowed
// connections open at once (made by two threads on two CPUs) leave all but
// the ways' records in the hash `socks` (counted there while open), and the edges still
// equal the script: opened, closed, bytes each way, the RSTs of the aborted
// half received by the server, the namespaces' ActiveOpens/PassiveOpens;
// every record is gone once they closed.
class FlowsSocketTableTest : public FlowsCollectorTest,
                             public ::testing::WithParamInterface<AttachKind> {};

// Entries of one of the collector's maps; -1 when not found.
int64_t map_entries(const BpfStatus& status, const std::string& name) {
  for (const BpfMapStatus& m : status.maps) {
    if (m.map != name) continue;
    Result<uint64_t> count = count_map_entries(m.map_fd);
    return count ? static_cast<int64_t>(*count) : -1;
  }
  return -1;
}

TEST_P(FlowsSocketTableTest, ConnectionsBeyondTheTableAreCountedExactly) {
  constexpr int kOverflowed = 24;
  constexpr size_t kRequest = 300, kReply = 2000;
  constexpr char kComm[] = "nbfl-overflow";
  const FlowsCollectorOptions options{.force_kind = GetParam(), .socket_table_sets = 1};
  FlowsCollector client_side(options), server_side(options);
  Status started = start(client_side, client_ns_);
  ASSERT_TRUE(started) << started.message();
  started = start(server_side, server_ns_);
  ASSERT_TRUE(started) << started.message();
  for (const BpfProgramStatus& p : client_side.bpf_status().programs) {
    if (p.attach != "cgroup_skb") {
      EXPECT_EQ(p.attach, attach_kind_name(GetParam())) << p.program;
    }
  }

  std::map<std::string, uint64_t> client_before, client_after, server_before, server_after;
  client_ns_.run([&] { client_before = tcptest::read_counters(); });
  server_ns_.run([&] { server_before = tcptest::read_counters(); });
  const int listener = server_ns_.run([] { return listen_on(kPgIp, kPgPort); });
  ASSERT_GE(listener, 0);
  // Two connecting threads, on two CPUs when there are two: both sides'
  // records are claimed and spilled by two CPUs at once (over veth, the
  // server's handshake runs on the client's CPU).
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  std::vector<int> clients(kOverflowed, -1);
  std::vector<std::thread> connectors;
  for (int t = 0; t < 2; ++t) {
    connectors.emplace_back([&, t] {
      client_ns_.run([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[t % cpus.size()], &one);
        sched_setaffinity(0, sizeof one, &one);
        prctl(PR_SET_NAME, kComm);
        for (int i = t; i < kOverflowed; i += 2) clients[i] = connect_to(kPgIp, kPgPort);
      });
    });
  }
  for (std::thread& t : connectors) t.join();
  // Accepted in arrival order: servers[i] is the peer of clients[i] (by port).
  auto port_of = [](int fd, bool peer) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    const int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                       : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return r == 0 ? ntohs(a.sin_port) : 0;
  };
  std::map<uint16_t, int> client_of_port;
  for (int i = 0; i < kOverflowed; ++i) {
    if (clients[i] >= 0) client_of_port[port_of(clients[i], false)] = i;
  }
  std::vector<int> servers(kOverflowed, -1);
  for (int i = 0; i < kOverflowed; ++i) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    auto client = fd >= 0 ? client_of_port.find(port_of(fd, true)) : client_of_port.end();
    if (client == client_of_port.end()) {
      if (fd >= 0) close(fd);
      continue;
    }
    servers[client->second] = fd;
  }
  close(listener);
  for (int i = 0; i < kOverflowed; ++i) {
    ASSERT_GE(clients[i], 0) << i;
    ASSERT_GE(servers[i], 0) << i;
  }
  // All open: the first NETOBS_FLOWS_SOCK_WAYS sockets of each side hold the
  // ways, the others are in the hash.
  EXPECT_EQ(map_entries(client_side.bpf_status(), "socks"), kOverflowed - NETOBS_FLOWS_SOCK_WAYS);
  EXPECT_EQ(map_entries(server_side.bpf_status(), "socks"), kOverflowed - NETOBS_FLOWS_SOCK_WAYS);

  // Every other connection is aborted by the client (SO_LINGER 0: an RST);
  // the others close gracefully, the server first.
  std::vector<char> request(kRequest, 'q'), reply(kReply, 'r');
  int aborted = 0;
  for (int i = 0; i < kOverflowed; ++i) {
    ASSERT_TRUE(send_all(clients[i], request.data(), kRequest));
    ASSERT_TRUE(recv_all(servers[i], request.data(), kRequest));
    ASSERT_TRUE(send_all(servers[i], reply.data(), kReply));
    ASSERT_TRUE(recv_all(clients[i], reply.data(), kReply));
    char byte;
    if (i % 2 == 0) {
      linger abort{1, 0};
      setsockopt(clients[i], SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      close(clients[i]);
      EXPECT_EQ(recv(servers[i], &byte, 1, 0), -1);  // the RST
      close(servers[i]);
      ++aborted;
    } else {
      close(servers[i]);
      EXPECT_EQ(recv(clients[i], &byte, 1, 0), 0);
      close(clients[i]);
    }
  }

  const std::string comm = kComm;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  Result<FlowsSnapshot> c = client_side.snapshot();
  Result<FlowsSnapshot> s = server_side.snapshot();
  auto closed_of = [](const Result<FlowsSnapshot>& snap, const std::string& client,
                      const std::string& server) -> uint64_t {
    if (!snap) return 0;
    const auto* e = find_edge(*snap, client, server, std::to_string(kPgPort));
    return e ? e->closed : 0;
  };
  while (Clock::now() < deadline && (closed_of(c, comm, kPgIp) < kOverflowed ||
                                     closed_of(s, kClientIp, kPgIp) < kOverflowed)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c = client_side.snapshot();
    s = server_side.snapshot();
  }
  ASSERT_TRUE(c && s);
  client_ns_.run([&] { client_after = tcptest::read_counters(); });
  server_ns_.run([&] { server_after = tcptest::read_counters(); });
  const auto* out = find_edge(*c, comm, kPgIp, std::to_string(kPgPort));
  const auto* in = find_edge(*s, kClientIp, kPgIp, std::to_string(kPgPort));
  ASSERT_TRUE(out && in) << describe(*c) << describe(*s);
  EXPECT_EQ(out->opened, kOverflowed) << describe(*c);
  EXPECT_EQ(out->opened, tcptest::delta(client_before, client_after, "Tcp.ActiveOpens"));
  EXPECT_EQ(out->failed, 0u);
  EXPECT_EQ(out->closed, kOverflowed);
  EXPECT_EQ(out->bytes_to_server, kOverflowed * kRequest);
  EXPECT_EQ(out->bytes_to_client, kOverflowed * kReply);
  EXPECT_EQ(out->rtt_count, kOverflowed);
  EXPECT_EQ(in->opened, kOverflowed) << describe(*s);
  EXPECT_EQ(in->opened, tcptest::delta(server_before, server_after, "Tcp.PassiveOpens"));
  EXPECT_EQ(in->closed, kOverflowed);
  EXPECT_EQ(in->bytes_to_server, kOverflowed * kRequest);
  EXPECT_EQ(in->bytes_to_client, kOverflowed * kReply);
  EXPECT_EQ(in->resets, static_cast<uint64_t>(aborted));
  EXPECT_EQ(c->edges.size(), 2u) << describe(*c);  // + `other`
  EXPECT_EQ(s->edges.size(), 2u) << describe(*s);
  for (const Result<FlowsSnapshot>* snap : {&c, &s}) {
    EXPECT_EQ((**snap).counters[NETOBS_FLOWS_UNTRACKED], 0u);
  }
  EXPECT_EQ(map_entries(client_side.bpf_status(), "socks"), 0);
  EXPECT_EQ(map_entries(server_side.bpf_status(), "socks"), 0);
}

INSTANTIATE_TEST_SUITE_P(Rungs, FlowsSocketTableTest,
                         ::testing::Values(AttachKind::kTpBtf, AttachKind::kRawTp,
                                           AttachKind::kTracepoint),
                         [](const ::testing::TestParamInfo<AttachKind>& info) {
                           return std::string(attach_kind_name(info.param));
                         });

// `netobs topology` runs the collector itself: its --json document is valid
// and counts the connections made while it watched; --dot draws the edge.
TEST_F(FlowsCollectorTest, TopologyCommandShowsTheConnections) {
  int listener = -1;
  server_ns_.run([&] { listener = listen_on(kPgIp, kPgPort); });
  ASSERT_GE(listener, 0);
  constexpr int kCount = 4;
  std::atomic<bool> stop{false};
  std::thread acceptor([&] {
    server_ns_.run([&] {
      while (!stop) {
        pollfd p{listener, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) close(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
      }
    });
  });
  for (const std::string view : {"--json", "--dot"}) {
    testing::Subprocess cli(
        {testing::cli_binary(), "topology", "--duration", "3", view, "--netns", client_ns_.path()});
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (cli.output().find("watching") == std::string::npos && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const int made = client_ns_.run([&] {
      prctl(PR_SET_NAME, kClientComm);
      int n = 0;
      for (int i = 0; i < kCount; ++i) {
        int fd = connect_to(kPgIp, kPgPort);
        if (fd >= 0) {
          ++n;
          close(fd);
        }
      }
      return n;
    });
    ASSERT_EQ(made, kCount);
    ASSERT_EQ(cli.wait(30), 0) << cli.output();
    const std::string out = cli.output();
    if (view == "--dot") {
      EXPECT_NE(out.find("digraph topology {"), std::string::npos) << out;
      EXPECT_NE(out.find("\"nbfl-client\" -> \"198.51.100.50:5432\" [label=\"postgres "),
                std::string::npos)
          << out;
      continue;
    }
    const size_t start = out.find("{\"topology\"");
    ASSERT_NE(start, std::string::npos) << out;
    const std::string json = out.substr(start, out.find('\n', start) - start);
    EXPECT_EQ(schema_errors(json), "") << json;
    std::istringstream counts(topology_counts(json)["nbfl-client>198.51.100.50:5432"]);
    uint64_t opened = 0;
    counts >> opened;
    EXPECT_EQ(opened, static_cast<uint64_t>(kCount)) << json;
  }
  stop = true;
  acceptor.join();
  close(listener);
}

// 10 000 distinct edges (5 000 remote ports, 5 000 remote addresses) against
// max_edges 50 in a real exporter: the series stay within the budget, every
// connection is still counted, and the folding is counted exactly.
TEST(FlowsCardinality, TenThousandEdgesStayWithinTheBudget) {
  NETOBS_REQUIRE_ROOT();
  Netns ns("nbflk" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  constexpr int kMaxEdges = 50;
  testing::ExporterProcess exporter(
      {.collectors = {"flows"},
       .config_yaml = "collectors:\n  flows:\n    required: true\n    max_edges: " +
                      std::to_string(kMaxEdges) + "\n    network_namespace: \"" + ns.path() +
                      "\"\n"});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 20)) << exporter.output();

  constexpr int kPorts = 5000, kAddresses = 5000;
  const int refused = ns.run([&] {
    int n = 0;
    for (int i = 0; i < kPorts; ++i) {
      if (connect_to("127.0.0.1", static_cast<uint16_t>(20000 + i)) == -ECONNREFUSED) ++n;
    }
    for (int i = 0; i < kAddresses; ++i) {
      const std::string ip = "127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
      if (connect_to(ip.c_str(), 9) == -ECONNREFUSED) ++n;
    }
    return n;
  });
  ASSERT_EQ(refused, kPorts + kAddresses);

  const std::string text = exporter.scrape();
  int series = 0;
  double failed = 0;
  std::istringstream lines(text);
  std::string line;
  const std::string family = "netobs_flow_connections_failed_total{";
  while (std::getline(lines, line)) {
    if (line.rfind(family, 0) != 0) continue;
    ++series;
    failed += std::stod(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_LE(series, kMaxEdges + 1);  // + `other`
  EXPECT_EQ(failed, kPorts + kAddresses);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_edges"), kMaxEdges + 1);
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"flows\",metric=\"netobs_flow_*\""),
            kPorts + kAddresses - kMaxEdges);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_connections_failed_total",
                                  "client=\"other\",client_type=\"other\",port=\"other\","
                                  "protocol=\"other\",server=\"other\",transport=\"other\""),
            kPorts + kAddresses - kMaxEdges);
  // /topology over HTTP: valid, and the `other` edge carries the folded failures.
  std::optional<std::string> json = exporter.get("/topology");
  ASSERT_TRUE(json);
  EXPECT_EQ(schema_errors(*json), "") << *json;
  std::map<std::string, std::string> counts = topology_counts(*json);
  EXPECT_EQ(counts.size(), static_cast<size_t>(kMaxEdges + 1));
  std::istringstream other(counts["other>other"]);
  uint64_t other_opened = 1, other_failed = 0;
  other >> other_opened >> other_failed;
  EXPECT_EQ(other_opened, 0u);
  EXPECT_EQ(other_failed, static_cast<uint64_t>(kPorts + kAddresses - kMaxEdges));
}

// Issue 15.5: edges idle for attribution.label_idle_time give their slot back.
// Refused connects to six ports fill max_edges 4 (two fold into `other`), a
// service's first connection folds too; once the refused edges were idle for
// 2 s, the service's next connections get their own edges (client side and
// server side) with exact counts, and what was folded stays counted.
TEST(FlowsCardinality, IdleEdgesGiveTheirSlotsBack) {
  NETOBS_REQUIRE_ROOT();
  Netns ns("nbflr" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  testing::ExporterProcess exporter(
      {.collectors = {"flows"},
       .config_yaml = "collectors:\n  flows:\n    required: true\n    max_edges: 4\n"
                      "    network_namespace: \"" +
                      ns.path() + "\"\nattribution:\n  label_idle_time: 2s\n"});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 20)) << exporter.output();
  const std::string dropped = "collector=\"flows\",metric=\"netobs_flow_*\"";
  // Sum and number of the series of `family` whose labels contain `has`.
  auto sum = [](const std::string& text, const std::string& family, const std::string& has,
                const std::string& has2 = "") {
    std::pair<double, int> out{0, 0};
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(family + "{", 0) != 0 || line.find(has) == std::string::npos ||
          line.find(has2) == std::string::npos) {
        continue;
      }
      out.first += std::stod(line.substr(line.rfind(' ') + 1));
      ++out.second;
    }
    return out;
  };
  constexpr uint16_t kServicePort = 7100;
  constexpr size_t kRequest = 100, kReply = 200;
  int listener = -1;
  // One connection to the service: kRequest bytes there, kReply back, closed.
  auto call_service = [&]() -> std::string {
    int client = connect_to("127.0.0.1", kServicePort);
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0 || server < 0) return "connect/accept failed";
    std::vector<char> buffer(kReply);
    bool ok = send_all(client, buffer.data(), kRequest) &&
              recv_all(server, buffer.data(), kRequest) &&
              send_all(server, buffer.data(), kReply) && recv_all(client, buffer.data(), kReply);
    close(client);
    close(server);
    return ok ? "" : "exchange failed";
  };
  // Connects and their (loopback) handshakes on one CPU: its kernel edge
  // cache is the one step 5 would find stale.
  const int cpu = sched_getcpu();
  ASSERT_GE(cpu, 0);
  auto pin = [cpu] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
  };
  // 1. Six refused connects: four edges, two folded.
  // 2. The service's first connection: both its edges folded.
  std::string error = ns.run([&]() -> std::string {
    if (!pin()) return "sched_setaffinity failed";
    for (uint16_t port = 21001; port <= 21006; ++port) {
      if (connect_to("127.0.0.1", port) != -ECONNREFUSED) return "connect not refused";
    }
    listener = listen_on("127.0.0.1", kServicePort);
    if (listener < 0) return "listen failed";
    return call_service();
  });
  ASSERT_EQ(error, "");
  const std::string port = "port=\"" + std::to_string(kServicePort) + "\"";
  const std::string opened = "netobs_flow_connections_opened_total";
  const std::string closed = "netobs_flow_connections_closed_total";
  const std::string failed = "netobs_flow_connections_failed_total";
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string text = exporter.scrape();
  while (sum(text, closed, "server=\"other\"").first < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // closing handshakes
    text = exporter.scrape();
  }
  EXPECT_EQ(sum(text, failed, "").first, 6);
  EXPECT_EQ(sum(text, failed, "").second, 5);  // four edges + `other`
  EXPECT_EQ(sum(text, opened, port).second, 0);
  EXPECT_EQ(sum(text, opened, "server=\"other\"").first, 2);  // client and server side
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total", dropped), 4);
  // 3. The refused edges go idle and give their slots back (bounded wait).
  const auto idle_deadline = Clock::now() + std::chrono::seconds(12);
  while (sum(text, failed, "").second > 1 && Clock::now() < idle_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    text = exporter.scrape();
  }
  ASSERT_EQ(sum(text, failed, "").second, 1) << text;  // only `other`
  // 4. The service's next connections get their own edges, exact.
  constexpr int kCalls = 3;
  error = ns.run([&]() -> std::string {
    if (!pin()) return "sched_setaffinity failed";
    for (int i = 0; i < kCalls; ++i) {
      if (std::string e = call_service(); !e.empty()) return e;
    }
    return "";
  });
  ASSERT_EQ(error, "");
  close(listener);
  const auto close_deadline = Clock::now() + std::chrono::seconds(5);
  text = exporter.scrape();
  while (sum(text, closed, port).first < 2 * kCalls && Clock::now() < close_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    text = exporter.scrape();
  }
  EXPECT_EQ(sum(text, opened, port), (std::pair<double, int>{2 * kCalls, 2}));
  EXPECT_EQ(sum(text, closed, port), (std::pair<double, int>{2 * kCalls, 2}));
  const std::string bytes = "netobs_flow_bytes_total";
  EXPECT_EQ(sum(text, bytes, port, "direction=\"to_server\"").first,
            static_cast<double>(2 * kCalls * kRequest));
  EXPECT_EQ(sum(text, bytes, port, "direction=\"to_client\"").first,
            static_cast<double>(2 * kCalls * kReply));
  // Nothing more folded; the folded connections stay counted in `other`.
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total", dropped), 4);
  EXPECT_EQ(sum(text, failed, "server=\"other\"").first, 2);
  EXPECT_EQ(sum(text, opened, "server=\"other\"").first, 2);
  // 5. Refused connects to two of the reclaimed edges again, on the same
  // CPU: new edges in the last two slots (the kernel's cached slots of
  // those edges were voided when they were taken back), nothing on the
  // service's edges.
  error = ns.run([&]() -> std::string {
    if (!pin()) return "sched_setaffinity failed";
    for (uint16_t port = 21001; port <= 21002; ++port) {
      if (connect_to("127.0.0.1", port) != -ECONNREFUSED) return "connect not refused";
    }
    return "";
  });
  ASSERT_EQ(error, "");
  text = exporter.scrape();
  for (const char* refused : {"port=\"21001\"", "port=\"21002\""}) {
    EXPECT_EQ(sum(text, failed, refused), (std::pair<double, int>{1, 1})) << refused << "\n"
                                                                          << text;
  }
  EXPECT_EQ(sum(text, failed, port).first, 0) << text;
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total", dropped), 4);
}

// Container attribution (attribution: cgroup): a child process in a
// Kubernetes-shaped cgroup (systemd driver, besteffort pod, containerd
// container) makes one TCP connection (300 bytes) and one UDP exchange (2
// queries of 50 bytes, 2 replies of 70) on loopback. Its edges carry the
// container id (12 hex) and pod uid with exact counts; the topology node of
// the client carries them as attributes; once the cgroup is removed, its
// edges disappear after attribution.gone_after.
TEST(FlowsAttribution, EdgesCarryContainerAndPodLabels) {
  NETOBS_REQUIRE_ROOT();
  namespace fs = std::filesystem;
  const std::string uid = "6f9e1c0a-52b4-4d3e-9a77-0c1d2e3f4a5b";
  const std::string id = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
  std::string uid_ = uid;
  std::replace(uid_.begin(), uid_.end(), '-', '_');
  Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
  ASSERT_TRUE(mount) << mount.status().message();
  const std::string top = *mount + "/nb-fl-" + std::to_string(getpid());
  const std::string cgroup = top +
                             "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                             uid_ + ".slice/cri-containerd-" + id + ".scope";
  fs::create_directories(cgroup);
  struct Cleanup {
    std::string top;
    ~Cleanup() {
      std::vector<fs::path> dirs;
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(top, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory()) dirs.push_back(it->path());
      }
      std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
        return a.string().size() > b.string().size();
      });
      dirs.push_back(top);
      for (const fs::path& dir : dirs) {
        for (int i = 0; i < 100 && rmdir(dir.c_str()) != 0 && errno != ENOENT; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
  } cleanup{top};

  Config config = default_config();
  config.attribution.gone_after_seconds = 1;
  FlowsConfig& flows = config.collector<FlowsConfig>();
  flows.common.enabled = true;
  flows.attribution = "cgroup";
  FlowsCollector collector;
  Status started = collector.start({config, run_preflight()});
  ASSERT_TRUE(started) << started.message();

  // Loopback servers: TCP reads to EOF; UDP answers each query with 70 bytes.
  int listener = listen_on("127.0.0.1", 0);
  int udp = udptest::udp_socket("127.0.0.1", 0);
  ASSERT_TRUE(listener >= 0 && udp >= 0);
  sockaddr_in tcp_addr{}, udp_addr{};
  socklen_t len = sizeof tcp_addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&tcp_addr), &len);
  len = sizeof udp_addr;
  getsockname(udp, reinterpret_cast<sockaddr*>(&udp_addr), &len);
  const std::string tcp_port = std::to_string(ntohs(tcp_addr.sin_port));
  const std::string udp_port = std::to_string(ntohs(udp_addr.sin_port));
  std::atomic<int> failures{0};
  std::thread servers([&] {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[1024];
    size_t total = 0;
    for (ssize_t n; fd >= 0 && (n = recv(fd, buf, sizeof buf, 0)) > 0;) total += n;
    if (total != 300) ++failures;
    close(fd);
    std::vector<char> reply(70, 'r');
    for (int i = 0; i < 2; ++i) {
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      if (recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len) != 50 ||
          sendto(udp, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len) != 70) {
        ++failures;
      }
    }
  });
  const std::string procs = cgroup + "/cgroup.procs";
  pid_t child = fork();
  if (child == 0) {
    const std::string pid = std::to_string(getpid()) + "\n";
    int f = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (f < 0 || write(f, pid.data(), pid.size()) < 0) _exit(2);
    close(f);
    prctl(PR_SET_NAME, "nbfl-attr");
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char payload[300] = {};
    if (connect(c, reinterpret_cast<sockaddr*>(&tcp_addr), sizeof tcp_addr) != 0 ||
        send(c, payload, sizeof payload, 0) != 300) {
      _exit(3);
    }
    close(c);
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char buf[128];
    for (int i = 0; i < 2; ++i) {
      if (sendto(u, payload, 50, 0, reinterpret_cast<sockaddr*>(&udp_addr), sizeof udp_addr) !=
              50 ||
          recv(u, buf, sizeof buf, 0) != 70) {
        _exit(4);
      }
    }
    close(u);
    _exit(0);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  servers.join();
  close(listener);
  close(udp);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
  ASSERT_EQ(failures, 0);

  const std::vector<std::string> want = {id.substr(0, 12), uid, "", "", "", ""};
  const auto edge = [](const FlowsSnapshot& snap, const std::string& port)
      -> std::pair<const FlowEdgeLabels*, const netobs_flows_edge_stats*> {
    for (const auto& [labels, stats] : snap.edges) {
      if (labels.client == "nbfl-attr" && labels.port == port) return {&labels, &stats};
    }
    return {nullptr, nullptr};
  };
  // The client's close may come a moment after the child exits.
  Result<FlowsSnapshot> snap = collector.snapshot();
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       snap && (!edge(*snap, tcp_port).second || edge(*snap, tcp_port).second->closed < 1) &&
       Clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    snap = collector.snapshot();
  }
  ASSERT_TRUE(snap);
  auto [tcp_labels, tcp] = edge(*snap, tcp_port);
  auto [udp_labels, udp_stats] = edge(*snap, udp_port);
  ASSERT_TRUE(tcp && udp_stats) << describe(*snap);
  EXPECT_EQ(tcp_labels->cgroup, want);
  EXPECT_EQ(tcp_labels->transport, "tcp");
  EXPECT_EQ(tcp->opened, 1u);
  EXPECT_EQ(tcp->closed, 1u);
  EXPECT_EQ(tcp->bytes_to_server, 300u);
  EXPECT_EQ(tcp->bytes_to_client, 0u);
  EXPECT_EQ(udp_labels->cgroup, want);
  EXPECT_EQ(udp_labels->transport, "udp");
  EXPECT_EQ(udp_stats->opened, 1u);
  EXPECT_EQ(udp_stats->packets_to_server, 2u);
  EXPECT_EQ(udp_stats->bytes_to_server, 100u);
  EXPECT_EQ(udp_stats->packets_to_client, 2u);
  EXPECT_EQ(udp_stats->bytes_to_client, 140u);

  std::vector<prometheus::MetricFamily> families;
  ASSERT_TRUE(collector.collect(families));
  const std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string labels =
      "client=\"nbfl-attr\",client_type=\"process\",container=\"\","
      "container_id=\"" +
      id.substr(0, 12) + "\",namespace=\"\",pod=\"\",pod_uid=\"" + uid + "\",port=\"" + tcp_port +
      "\",protocol=\"tcp\",server=\"127.0.0.1\",transport=\"tcp\",unit=\"\"";
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_connections_opened_total", labels), 1) << text;
  Result<std::string> json = collector.json_endpoint(FlowsCollector::kTopologyPath);
  ASSERT_TRUE(json);
  EXPECT_EQ(schema_errors(*json), "") << *json;
  EXPECT_NE(json->find("{\"id\":\"nbfl-attr (" + uid +
                       ")\",\"type\":\"process\",\"attributes\":{"
                       "\"netobs.node_kind\":\"process\",\"k8s.pod.uid\":\"" +
                       uid + "\",\"container.id\":\"" + id.substr(0, 12) + "\"}}"),
            std::string::npos)
      << *json;

  // The cgroup goes: its edges leave /metrics after gone_after (1 s).
  ASSERT_EQ(rmdir(cgroup.c_str()), 0) << errno;
  bool gone = false;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); !gone && Clock::now() < deadline;) {
    families.clear();
    ASSERT_TRUE(collector.collect(families));
    gone = prometheus::TextSerializer().Serialize(families).find("nbfl-attr") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace netobs
