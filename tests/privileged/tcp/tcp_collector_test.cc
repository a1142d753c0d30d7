// Live tests of the tcp collector on the real kernel. Each test makes its
// own network namespace and runs netobs_exporter (tcp only) in the host
// namespace with collectors.tcp.network_namespace set to the test's, so the
// BPF programs count only sockets of that namespace (other traffic on the
// machine, and the scrapes themselves, cannot change the exact counts) and
// the connection-state gauge is read from it.
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>

#include <chrono>
#include <atomic>
#include <cmath>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <thread>

#include "bpf/lib/log2_slot.h"
#include "bpf/socket_owners.h"
#include "collectors/tcp/conns_command.h"
#include "exporter/net/process_owners.h"
#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_collector.h"
#include "exporter/bpf/preflight.h"
#include "tcp.skel.h"
#include "tests/support/exporter_process.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using namespace tcptest;  // NOLINT
using Clock = std::chrono::steady_clock;

constexpr const char* kLocal = "127.0.0.1";

// netobs_exporter with only the tcp collector, watching one namespace.
class Exporter {
 public:
  Exporter(const std::string& netns_path, const std::string& extra_yaml = "")
      : exporter_({.collectors = {"tcp"},
                   .config_yaml = "collectors:\n  tcp:\n    required: true\n"
                                  "    network_namespace: \"" +
                                  netns_path + "\"\n" + extra_yaml}) {
    ready_ = exporter_.wait_ready("/metrics", 20);
  }

  bool ready() const { return ready_; }
  std::string output() const { return exporter_.output(); }

  std::string scrape() { return exporter_.scrape(); }

  double value(const std::string& name, const std::string& labels = "") {
    return testing::metric_value(scrape(), name, labels).value_or(-1);
  }

  // Polls until `name{labels}` reaches `want` (BPF counts are immediate, but
  // closing handshakes finish asynchronously); returns the last value.
  double wait_for(const std::string& name, const std::string& labels, double want,
                  double seconds = 5) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    double v = value(name, labels);
    while (v != want && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      v = value(name, labels);
    }
    return v;
  }

 private:
  testing::ExporterProcess exporter_;
  bool ready_ = false;
};

#define NETOBS_SETUP_NETNS(ns)                 \
  NETOBS_REQUIRE_ROOT();                       \
  do {                                         \
    std::string error_ = (ns).create();        \
    ASSERT_EQ(error_, "") << "creating netns"; \
  } while (0)

// Connections made by the test, with exact counts: opened active/passive,
// closed, refused connects (ECONNREFUSED), resets via SO_LINGER 0.
TEST(TcpCollectorLive, LifecycleCountsAreExact) {
  Netns ns("life");
  NETOBS_SETUP_NETNS(ns);
  Exporter exporter(ns.path());
  ASSERT_TRUE(exporter.ready()) << exporter.output();

  constexpr int kGraceful = 3;
  constexpr int kReset = 2;
  constexpr int kRefused = 4;
  constexpr uint16_t kPort = 5000;
  constexpr uint16_t kClosedPort = 5001;
  constexpr size_t kBytes = 1000;

  struct Outcome {
    std::string error;
    std::map<std::string, uint64_t> before, after;
  };
  Outcome outcome = ns.run([&] {
    Outcome o;
    o.before = read_counters();
    int listener = listen_on(kLocal, kPort);
    if (listener < 0) return Outcome{"listen failed", {}, {}};
    std::vector<char> data(kBytes, 'x');
    for (int i = 0; i < kGraceful + kReset; ++i) {
      int client = connect_to(kLocal, kPort);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || server < 0) return Outcome{"connect/accept failed", {}, {}};
      std::vector<char> buffer(kBytes);
      if (!send_all(client, data.data(), kBytes) || !recv_all(server, buffer.data(), kBytes) ||
          !send_all(server, data.data(), kBytes) || !recv_all(client, buffer.data(), kBytes)) {
        return Outcome{"transfer failed", {}, {}};
      }
      if (i < kGraceful) {
        close(client);
        char c;
        if (recv(server, &c, 1, 0) != 0) return Outcome{"expected EOF", {}, {}};
        close(server);
      } else {
        linger abort{1, 0};
        setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        close(client);  // sends a RST
        char c;
        if (recv(server, &c, 1, 0) != -1 || errno != ECONNRESET) {
          return Outcome{"expected ECONNRESET on the server side", {}, {}};
        }
        close(server);
      }
    }
    for (int i = 0; i < kRefused; ++i) {
      int fd = connect_to(kLocal, kClosedPort);
      if (fd != -ECONNREFUSED) return Outcome{"expected ECONNREFUSED", {}, {}};
    }
    // Let the last FIN/ACK exchanges finish before reading the counters.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    o.after = read_counters();
    close(listener);
    return o;
  });
  ASSERT_EQ(outcome.error, "");

  const int connections = kGraceful + kReset;
  EXPECT_EQ(exporter.wait_for("netobs_tcp_connections_closed_total", "", 2 * connections),
            2 * connections);
  EXPECT_EQ(exporter.value("netobs_tcp_connections_opened_total", "direction=\"active\""),
            connections);
  EXPECT_EQ(exporter.value("netobs_tcp_connections_opened_total", "direction=\"passive\""),
            connections);
  EXPECT_EQ(exporter.value("netobs_tcp_connect_failures_total", "errno=\"ECONNREFUSED\""),
            kRefused);
  EXPECT_EQ(exporter.value("netobs_tcp_connect_failures_total", "errno=\"ETIMEDOUT\""), 0);
  // Sent: the SO_LINGER resets plus one per refused SYN (sent without a
  // socket); received: the server side of each abort and each refused client.
  EXPECT_EQ(exporter.value("netobs_tcp_resets_sent_total"), kReset + kRefused);
  EXPECT_EQ(exporter.value("netobs_tcp_resets_received_total"), kReset + kRefused);
  // The namespace's own counters agree.
  EXPECT_EQ(delta(outcome.before, outcome.after, "Tcp.OutRsts"), kReset + kRefused);
  EXPECT_EQ(delta(outcome.before, outcome.after, "Tcp.PassiveOpens"), connections);
  EXPECT_EQ(delta(outcome.before, outcome.after, "Tcp.ActiveOpens"), connections + kRefused);
  EXPECT_EQ(delta(outcome.before, outcome.after, "Tcp.AttemptFails"), kRefused);
  // Payload bytes at close: every socket sent and received kBytes.
  EXPECT_EQ(exporter.value("netobs_tcp_sent_bytes_total"), 2 * connections * kBytes);
  EXPECT_EQ(exporter.value("netobs_tcp_received_bytes_total"), 2 * connections * kBytes);
  EXPECT_EQ(exporter.value("netobs_tcp_connection_sent_bytes_count"), 2 * connections);
  EXPECT_EQ(exporter.value("netobs_tcp_connection_duration_seconds_count"), 2 * connections);
  EXPECT_EQ(exporter.value("netobs_tcp_connection_duration_unknown_total"), 0);
  // 1000 bytes land in the log2 bucket (512, 1024].
  const std::string text = exporter.scrape();
  auto sent = bucket_counts(histogram_buckets(text, "netobs_tcp_connection_sent_bytes"));
  for (const auto& [le, count] : sent) {
    EXPECT_EQ(count, le == 1024 ? 2 * connections : 0) << "le=" << le;
  }
  // All closed: the graceful clients wait in TIME_WAIT, nothing established.
  EXPECT_EQ(testing::metric_value(text, "netobs_tcp_connections", "state=\"established\""), 0);
  EXPECT_EQ(testing::metric_value(text, "netobs_tcp_connections", "state=\"time_wait\""),
            kGraceful);
  EXPECT_EQ(testing::metric_value(text, "netobs_tcp_retransmits_total", "kind=\"rto\""), 0);
}

// Connections opened before the exporter starts are in
// netobs_tcp_connections{state="established"} from the first scrape.
TEST(TcpCollectorLive, PreExistingConnectionsCountedFromFirstScrape) {
  Netns ns("pre");
  NETOBS_SETUP_NETNS(ns);
  constexpr int kPairs = 7;
  std::vector<int> fds;
  std::string error = ns.run([&]() -> std::string {
    int listener = listen_on(kLocal, 5000);
    if (listener < 0) return "listen failed";
    fds.push_back(listener);
    for (int i = 0; i < kPairs; ++i) {
      int client = connect_to(kLocal, 5000);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || server < 0) return "connect/accept failed";
      fds.push_back(client);
      fds.push_back(server);
    }
    return "";
  });
  ASSERT_EQ(error, "");
  Exporter exporter(ns.path());
  ASSERT_TRUE(exporter.ready()) << exporter.output();
  const std::string first = exporter.scrape();
  EXPECT_EQ(testing::metric_value(first, "netobs_tcp_connections", "state=\"established\""),
            2 * kPairs);
  EXPECT_EQ(testing::metric_value(first, "netobs_tcp_connections", "state=\"listen\""), 1);
  // Closing them: counted as closed, duration unknown (opened before start).
  for (int fd : fds) close(fd);
  EXPECT_EQ(exporter.wait_for("netobs_tcp_connections_closed_total", "", 2 * kPairs), 2 * kPairs);
  EXPECT_EQ(exporter.value("netobs_tcp_connection_duration_unknown_total"), 2 * kPairs);
  EXPECT_EQ(exporter.value("netobs_tcp_connections_opened_total", "direction=\"active\""), 0);
}

// The connection-state gauge is kept up to date in BPF from state changes
// and seeded once at start. Connections open and close in the namespace
// while the exporter starts (so the seed walk races transitions) and after;
// once the churn stops, every state equals a fresh sock_diag count of the
// namespace (timewait sockets as time_wait whatever their substate; request
// sockets as syn_recv).
TEST(TcpCollectorLive, StateGaugeEqualsSockDiagAfterChurn) {
  Netns ns("churn");
  NETOBS_SETUP_NETNS(ns);
  constexpr uint16_t kPort = 5008;
  constexpr uint16_t kClosedPort = 5009;
  // Before the start: a listener, 6 established pairs, 2 half-closed ones
  // (client FIN_WAIT2, server CLOSE_WAIT).
  std::vector<int> kept;
  std::string error = ns.run([&]() -> std::string {
    int listener = listen_on(kLocal, kPort);
    if (listener < 0) return "listen failed";
    kept.push_back(listener);
    for (int i = 0; i < 8; ++i) {
      int client = connect_to(kLocal, kPort);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || server < 0) return "connect/accept failed";
      if (i >= 6) shutdown(client, SHUT_WR);
      kept.push_back(client);
      kept.push_back(server);
    }
    return "";
  });
  ASSERT_EQ(error, "");

  // Churn on a thread inside the namespace: graceful closes (time_wait),
  // resets, refused connects, half-closes, extra listeners opened and
  // closed. Bounded in iterations and time.
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::vector<int> half_open;  // touched by the churn thread only until join
  int fd = ::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  std::thread churn([&] {
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) return;
    const int listener = kept[0];
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    for (int i = 0; i < 40000 && Clock::now() < deadline; ++i) {
      if (stop && i % 4 == 0) break;
      // Paced, so the churn spans the exporter's start (~1000 rounds/s).
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      int client = connect_to(kLocal, kPort);
      int server = client >= 0 ? accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
      if (client < 0 || server < 0) {
        if (client >= 0) close(client);
        continue;
      }
      switch (i % 4) {
        case 0: {  // graceful, client first: client ends in TIME_WAIT
          close(client);
          char c;
          recv(server, &c, 1, 0);
          close(server);
          break;
        }
        case 1: {  // reset
          linger abort{1, 0};
          setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
          close(client);
          close(server);
          break;
        }
        case 2:  // half-closed, kept (a few), else closed by the server first
          if (half_open.size() < 20) {
            shutdown(client, SHUT_WR);
            half_open.push_back(client);
            half_open.push_back(server);
          } else {
            close(server);
            char c;
            recv(client, &c, 1, 0);
            close(client);
          }
          break;
        default: {  // a refused connect and a short-lived listener
          int refused = connect_to(kLocal, kClosedPort);
          if (refused >= 0) close(refused);
          int extra = listen_on(kLocal, static_cast<uint16_t>(kClosedPort + 1 + i % 7));
          if (extra >= 0) close(extra);
          close(client);
          close(server);
          break;
        }
      }
      rounds = i + 1;
    }
  });
  // Let the churn run before, during and after the exporter's start.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Exporter exporter(ns.path());
  const bool ready = exporter.ready();
  const int at_start = rounds;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  churn.join();
  if (fd >= 0) close(fd);
  ASSERT_TRUE(ready) << exporter.output();
  EXPECT_GT(rounds.load(), at_start) << "the churn went on after the start";
  // Closing pre-existing connections after the start is churn too.
  for (size_t i = 1; i + 1 < 5; i += 2) {
    close(kept[i]);
    close(kept[i + 1]);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // handshakes finish

  std::map<std::string, uint64_t> diag;
  ns.run([&] {
    Result<SockDiagSocket> socket = SockDiagSocket::open();
    if (!socket) return;
    Result<TcpStateCounts> counts = socket->count_states();
    if (!counts) return;
    for (uint8_t state = 1; state <= kTcpMaxState; ++state) {
      uint64_t value = (*counts)[state];
      if (state == kTcpSynRecv) value += (*counts)[12];
      diag[std::string(tcp_state_name(state))] = value;
    }
  });
  ASSERT_EQ(diag.size(), static_cast<size_t>(kTcpMaxState));
  const std::string text = exporter.scrape();
  for (const auto& [state, want] : diag) {
    EXPECT_EQ(testing::metric_value(text, "netobs_tcp_connections", "state=\"" + state + "\""),
              static_cast<double>(want))
        << state << " after " << rounds << " rounds";
  }
  EXPECT_GT(diag["time_wait"], 0u);
  EXPECT_GT(diag["established"], 0u);
  EXPECT_GT(diag["fin_wait2"], 0u);
  EXPECT_GT(diag["close_wait"], 0u);
  for (size_t i = 5; i < kept.size(); ++i) close(kept[i]);
  close(kept[0]);
  for (int f : half_open) close(f);
}

// Loss from an nftables `numgen random` rule on the receive path: the
// retransmission counts agree with the namespace's Tcp/TcpExt counters.
// Which counters must match, and why:
// - sum over kinds == Tcp RetransSegs: both count segments (tcp_skb_pcount)
//   of every retransmission that reached the IP layer. The drop rule sits on
//   the input hook, so no retransmission fails on its way out (a local
//   OUTPUT drop would make __tcp_retransmit_skb return -EPERM after the
//   counter moved).
// - syn + synack == TcpExt TCPSynRetrans (one per SYN/SYN-ACK resent).
// - fast + other == TcpExt TCPFastRetrans: tcp_xmit_retransmit_queue adds
//   pcount there for every retransmission outside the Loss state, and
//   netobs's fast/other are exactly the non-Loss, non-TLP, non-SYN ones.
// - rto == TcpExt TCPSlowStartRetrans + TCPTimeouts - syn - (SYN-ACKs resent
//   on the timer): in Loss the timer resends the head once per timeout
//   (TCPTimeouts, which counts SYN and SYN-ACK timeouts too), the rest of
//   the window is TCPSlowStartRetrans.
// - tlp <= TcpExt TCPLossProbes: a probe sends new data when it can, which is
//   not a retransmission.
TEST(TcpCollectorLive, RetransmissionsAgreeWithNamespaceCounters) {
  Netns ns("loss");
  NETOBS_SETUP_NETNS(ns);
  constexpr uint16_t kPort = 5002;
  constexpr uint16_t kSynPort = 5003;
  constexpr uint16_t kSynAckPort = 5006;
  // Ethernet-sized segments on lo, so a burst is many segments (GSO still
  // batches them: a dropped super-packet is several segments, which is what
  // per-segment counting is about).
  ASSERT_EQ(
      testing::run_command({"ip", "-n", ns.name(), "link", "set", "lo", "mtu", "1500"}).exit_code,
      0);
  // 10 % of the client's non-SYN segments to kPort are dropped on input;
  // every SYN to kSynPort is dropped until the rule is removed (exactly one
  // SYN retransmission).
  ASSERT_EQ(ns.nft("table inet loss {\n"
                   "  chain in {\n"
                   "    type filter hook input priority 0;\n"
                   "    tcp dport " +
                   std::to_string(kPort) +
                   " tcp flags & syn == 0 numgen random mod 10 == 0 drop\n"
                   "    tcp dport " +
                   std::to_string(kSynPort) +
                   " tcp flags & (syn | ack) == syn drop comment \"synblock\"\n"
                   "    tcp sport " +
                   std::to_string(kSynAckPort) +
                   " tcp flags & (syn | ack) == syn | ack drop comment \"synackblock\"\n"
                   "  }\n"
                   "}\n"),
            "");
  Exporter exporter(ns.path());
  ASSERT_TRUE(exporter.ready()) << exporter.output();

  struct Outcome {
    std::string error;
    std::map<std::string, uint64_t> before, after;
  };
  Outcome outcome = ns.run([&] {
    Outcome o;
    o.before = read_counters();
    int listener = listen_on(kLocal, kPort);
    if (listener < 0) return Outcome{"listen failed", {}, {}};
    // Request/response bursts: the last segment of a burst is often the one
    // dropped, which is what tail loss probes are for.
    constexpr int kClients = 4;
    constexpr int kBursts = 60;
    constexpr size_t kBurst = 24 * 1024;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int c = 0; c < kClients; ++c) {
      int client = connect_to(kLocal, kPort);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || server < 0) return Outcome{"connect/accept failed", {}, {}};
      threads.emplace_back([=, &failures] {
        std::vector<char> data(kBurst, 'd');
        std::vector<char> buffer(kBurst);
        for (int b = 0; b < kBursts && Clock::now() < deadline; ++b) {
          char ack = 'a';
          if (!send_all(client, data.data(), kBurst) || !recv_all(server, buffer.data(), kBurst) ||
              !send_all(server, &ack, 1) || !recv_all(client, &ack, 1)) {
            ++failures;
            break;
          }
        }
        close(client);
        close(server);
      });
    }
    for (auto& t : threads) t.join();
    if (failures > 0) return Outcome{"transfer failed", {}, {}};
    // One SYN retransmission: the first SYN is dropped, the rule goes, the
    // retransmitted SYN (after the 1 s initial RTO) gets through. Likewise a
    // dropped SYN-ACK: the server resends it (on its timer, or on the
    // client's resent SYN), and the client resends its SYN too.
    int syn_listener = listen_on(kLocal, kSynPort);
    int synack_listener = listen_on(kLocal, kSynAckPort);
    std::thread unblock([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      testing::run_command(
          {"ip", "netns", "exec", ns.name(), "nft", "flush", "table", "inet", "loss"}, 30);
    });
    int synack_client = -1;
    std::thread synack_connect([&] { synack_client = connect_to(kLocal, kSynAckPort); });
    int client = connect_to(kLocal, kSynPort);
    synack_connect.join();
    unblock.join();
    if (client < 0 || synack_client < 0)
      return Outcome{"connect after the SYN drop failed", {}, {}};
    close(client);
    close(synack_client);
    close(syn_listener);
    close(synack_listener);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    o.after = read_counters();
    close(listener);
    return o;
  });
  ASSERT_EQ(outcome.error, "");

  auto d = [&](const std::string& key) {
    return static_cast<double>(delta(outcome.before, outcome.after, key));
  };
  const std::string text = exporter.scrape();
  auto kind = [&](const char* k) {
    return testing::metric_value(text, "netobs_tcp_retransmits_total",
                                 std::string("kind=\"") + k + "\"")
        .value_or(-1);
  };
  const double rto = kind("rto"), fast = kind("fast"), tlp = kind("tlp"), syn = kind("syn"),
               synack = kind("synack"), other = kind("other");
  std::cout << "retransmits: rto=" << rto << " fast=" << fast << " tlp=" << tlp << " syn=" << syn
            << " synack=" << synack << " other=" << other
            << " | RetransSegs=" << d("Tcp.RetransSegs")
            << " TCPFastRetrans=" << d("TcpExt.TCPFastRetrans")
            << " TCPSlowStartRetrans=" << d("TcpExt.TCPSlowStartRetrans")
            << " TCPTimeouts=" << d("TcpExt.TCPTimeouts")
            << " TCPLossProbes=" << d("TcpExt.TCPLossProbes")
            << " TCPSynRetrans=" << d("TcpExt.TCPSynRetrans") << " errors="
            << testing::metric_value(text, "netobs_tcp_retransmit_errors_total").value_or(-1)
            << "\n";
  EXPECT_GT(d("Tcp.RetransSegs"), 10) << "the drop rule should force retransmissions";
  EXPECT_EQ(rto + fast + tlp + syn + synack + other, d("Tcp.RetransSegs"));
  EXPECT_EQ(syn + synack, d("TcpExt.TCPSynRetrans"));
  EXPECT_GE(syn, 1);
  EXPECT_GE(synack, 1);
  EXPECT_EQ(fast + other, d("TcpExt.TCPFastRetrans"));
  // The retransmission timer resends the head once per event (TCPTimeouts,
  // which also counts SYN and SYN-ACK timeouts); the rest of the window in
  // Loss is TCPSlowStartRetrans. Exact up to the SYN-ACKs resent on the
  // timer rather than on a duplicate SYN, while no retransmission failed.
  const double errors =
      testing::metric_value(text, "netobs_tcp_retransmit_errors_total").value_or(-1);
  EXPECT_EQ(errors, 0);
  const double timer_rto = d("TcpExt.TCPSlowStartRetrans") + d("TcpExt.TCPTimeouts") - syn;
  EXPECT_LE(rto, timer_rto);
  EXPECT_GE(rto, timer_rto - synack);
  EXPECT_LE(tlp, d("TcpExt.TCPLossProbes"));
  EXPECT_GT(tlp, 0);
  EXPECT_GT(fast, 0);
}

// The RTT observations of the test's connection fall in the log2 bucket
// holding the tcpi_rtt the test reads from its own socket.
TEST(TcpCollectorLive, RttLandsInTheBucketOfTheSocketsRtt) {
  Netns ns("rtt");
  NETOBS_SETUP_NETNS(ns);
  Exporter exporter(ns.path());
  ASSERT_TRUE(exporter.ready()) << exporter.output();
  constexpr int kRoundTrips = 300;
  tcp_info client_info{}, server_info{};
  // Log2 slots of every tcpi_rtt the test read from its two sockets, after
  // each round trip: a loopback RTT is a few microseconds and wanders across
  // a bucket boundary now and then, so "the bucket of tcpi_rtt" is the set of
  // buckets the socket's own RTT visited while the test ran.
  std::set<uint32_t> seen_slots;
  std::string error = ns.run([&]() -> std::string {
    int listener = listen_on(kLocal, 5004);
    int client = connect_to(kLocal, 5004);
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0 || server < 0) return "connect/accept failed";
    char buffer[64] = {};
    for (int i = 0; i < kRoundTrips; ++i) {
      if (!send_all(client, buffer, sizeof buffer) || !recv_all(server, buffer, sizeof buffer) ||
          !send_all(server, buffer, sizeof buffer) || !recv_all(client, buffer, sizeof buffer)) {
        return "ping-pong failed";
      }
      seen_slots.insert(netobs_log2_slot(read_tcp_info(client).tcpi_rtt, 64));
      seen_slots.insert(netobs_log2_slot(read_tcp_info(server).tcpi_rtt, 64));
    }
    client_info = read_tcp_info(client);
    server_info = read_tcp_info(server);
    close(client);
    close(server);
    close(listener);
    return "";
  });
  ASSERT_EQ(error, "");
  const std::string text = exporter.scrape();
  auto counts = bucket_counts(histogram_buckets(text, "netobs_tcp_rtt_seconds"));
  ASSERT_FALSE(counts.empty());
  double total = 0, in_seen = 0;
  for (const auto& [le, count] : counts) {
    total += count;
    for (uint32_t slot : seen_slots) {
      if (std::fabs(le - std::ldexp(1.0, static_cast<int>(slot)) * 1e-6) < 1e-12) in_seen += count;
    }
  }
  // Every data segment and pure ACK each side received is one observation.
  EXPECT_GE(total, 2 * kRoundTrips);
  // The bucket (le = 2^slot us) of the final smoothed RTT of each socket has
  // observations...
  for (const tcp_info& info : {client_info, server_info}) {
    const double le = std::ldexp(1.0, static_cast<int>(netobs_log2_slot(info.tcpi_rtt, 64))) * 1e-6;
    double in_bucket = 0;
    for (const auto& [bound, count] : counts) {
      if (std::fabs(bound - le) < 1e-12) in_bucket = count;
    }
    std::cout << "tcpi_rtt=" << info.tcpi_rtt << "us bucket le=" << le << " holds " << in_bucket
              << " of " << total << "; buckets the test saw hold " << in_seen << "\n";
    EXPECT_GT(in_bucket, 0) << "no observation in the bucket of tcpi_rtt " << info.tcpi_rtt;
  }
  // ...and all observations but the handshake's first samples (taken before
  // the test's first read) are in buckets of RTTs the test read itself.
  EXPECT_GE(in_seen, total - 8);
}

// Grouping: by remote CIDR group (named in the config), and by local port
// with a cap so small that client ports overflow into `other`.
TEST(TcpCollectorLive, GroupingLabelsAndOverflow) {
  Netns ns("grp");
  NETOBS_SETUP_NETNS(ns);
  Exporter by_cidr(ns.path(),
                   "    group_by: remote_cidr\n"
                   "    remote_cidr_groups: [\"loopback=127.0.0.0/8\", \"docs=192.0.2.0/24\"]\n");
  Exporter by_port(ns.path(),
                   "    group_by: local_port\n    max_groups: 2\n"
                   "    port_names: [\"5005=demo\"]\n");
  ASSERT_TRUE(by_cidr.ready()) << by_cidr.output();
  ASSERT_TRUE(by_port.ready()) << by_port.output();
  std::string error = ns.run([&]() -> std::string {
    int listener = listen_on(kLocal, 5005);
    for (int i = 0; i < 4; ++i) {
      int client = connect_to(kLocal, 5005);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0 || server < 0) return "connect/accept failed";
      char buffer[16] = {};
      for (int r = 0; r < 5; ++r) {
        send_all(client, buffer, sizeof buffer);
        recv_all(server, buffer, sizeof buffer);
        send_all(server, buffer, sizeof buffer);
        recv_all(client, buffer, sizeof buffer);
      }
      close(client);
      close(server);
    }
    close(listener);
    return "";
  });
  ASSERT_EQ(error, "");
  const std::string cidr_text = by_cidr.scrape();
  EXPECT_GT(
      testing::metric_value(cidr_text, "netobs_tcp_rtt_seconds_count", "remote_group=\"loopback\"")
          .value_or(0),
      0);
  EXPECT_EQ(testing::metric_value(cidr_text, "netobs_tcp_retransmits_total",
                                  "kind=\"rto\",remote_group=\"other\""),
            0);
  const std::string port_text = by_port.scrape();
  // Server sockets (local port 5005) got their own, named series first...
  EXPECT_GT(testing::metric_value(port_text, "netobs_tcp_rtt_seconds_count",
                                  "local_port=\"5005\",service=\"demo\"")
                .value_or(0),
            0);
  // ...and with room for two groups, the later client ports fold into other.
  EXPECT_GT(testing::metric_value(port_text, "netobs_tcp_rtt_seconds_count", "local_port=\"other\"")
                .value_or(0),
            0);
  EXPECT_GT(testing::metric_value(port_text, "netobs_series_dropped_total",
                                  "collector=\"tcp\",metric=\"netobs_tcp_rtt_seconds\"")
                .value_or(0),
            0);
}

// Issue 15.5: port groups idle for attribution.label_idle_time give their
// slot back. Short-lived connections fill max_groups, a long-running one
// folds into `other`; once the short-lived groups were idle for 2 s the
// long-running connection's ports get their own series, with exactly the
// segments its sockets received since (tcpi_segs_in), and the folded
// observations stay counted in netobs_series_dropped_total.
TEST(TcpCollectorLive, IdleGroupsGiveTheirSlotsBack) {
  Netns ns("slt");
  NETOBS_SETUP_NETNS(ns);
  Exporter exporter(ns.path(),
                    "    group_by: local_port\n    max_groups: 4\n"
                    "attribution:\n  label_idle_time: 2s\n");
  ASSERT_TRUE(exporter.ready()) << exporter.output();
  const std::string rtt_count = "netobs_tcp_rtt_seconds_count";
  const std::string dropped_labels = "collector=\"tcp\",metric=\"netobs_tcp_rtt_seconds\"";
  auto ping_pong = [](int a, int b, int times) {
    char buffer[32] = {};
    for (int i = 0; i < times; ++i) {
      if (!send_all(a, buffer, sizeof buffer) || !recv_all(b, buffer, sizeof buffer) ||
          !send_all(b, buffer, sizeof buffer) || !recv_all(a, buffer, sizeof buffer)) {
        return false;
      }
    }
    return true;
  };
  // Port series other than `other` in a scrape.
  auto port_series = [&](const std::string& text) {
    std::set<std::string> ports;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(rtt_count + "{", 0) != 0) continue;
      size_t at = line.find("local_port=\"");
      if (at == std::string::npos) continue;
      at += 12;
      std::string port = line.substr(at, line.find('"', at) - at);
      if (port != "other") ports.insert(port);
    }
    return ports;
  };
  // 1. Four short-lived servers and their clients: 8 ports for 4 slots.
  std::string error = ns.run([&]() -> std::string {
    for (uint16_t port = 6001; port <= 6004; ++port) {
      int listener = listen_on(kLocal, port);
      int client = connect_to(kLocal, port);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (listener < 0 || client < 0 || server < 0) return "connect/accept failed";
      if (!ping_pong(client, server, 3)) return "ping-pong failed";
      close(client);
      close(server);
      close(listener);
    }
    return "";
  });
  ASSERT_EQ(error, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // closing handshakes
  ASSERT_EQ(port_series(exporter.scrape()).size(), 4u);
  // 2. The long-running service starts while the cap is full: folded.
  int listener = -1, client = -1, server = -1;
  error = ns.run([&]() -> std::string {
    listener = listen_on(kLocal, 7000);
    client = connect_to(kLocal, 7000);
    server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (listener < 0 || client < 0 || server < 0) return "connect/accept failed";
    return ping_pong(client, server, 5) ? "" : "ping-pong failed";
  });
  ASSERT_EQ(error, "");
  sockaddr_in client_addr{};
  socklen_t addr_len = sizeof client_addr;
  getsockname(client, reinterpret_cast<sockaddr*>(&client_addr), &addr_len);
  const std::string client_port = std::to_string(ntohs(client_addr.sin_port));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // delayed ACKs
  std::string text = exporter.scrape();
  EXPECT_EQ(port_series(text).count("7000"), 0u);
  const double folded =
      testing::metric_value(text, "netobs_series_dropped_total", dropped_labels).value_or(0);
  EXPECT_GE(folded, 20);  // at least the 2 x 2 x 5 segments of step 2
  // 3. The short-lived groups go idle and are reclaimed (bounded wait).
  const auto deadline = Clock::now() + std::chrono::seconds(12);
  while (!port_series(text).empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    text = exporter.scrape();
  }
  ASSERT_TRUE(port_series(text).empty()) << text;
  const double other_before =
      testing::metric_value(text, rtt_count, "local_port=\"other\"").value_or(-1);
  // 4. The long-running service now gets its own series, exact.
  const tcp_info client_before = read_tcp_info(client), server_before = read_tcp_info(server);
  ASSERT_TRUE(ping_pong(client, server, 7));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // delayed ACKs
  const tcp_info client_after = read_tcp_info(client), server_after = read_tcp_info(server);
  text = exporter.scrape();
  EXPECT_EQ(port_series(text), (std::set<std::string>{"7000", client_port}));
  EXPECT_EQ(testing::metric_value(text, rtt_count, "local_port=\"7000\""),
            static_cast<double>(server_after.tcpi_segs_in - server_before.tcpi_segs_in));
  EXPECT_EQ(testing::metric_value(text, rtt_count, "local_port=\"" + client_port + "\""),
            static_cast<double>(client_after.tcpi_segs_in - client_before.tcpi_segs_in));
  EXPECT_GE(server_after.tcpi_segs_in - server_before.tcpi_segs_in, 7u);
  // Nothing more folded; what was folded stays counted.
  EXPECT_EQ(testing::metric_value(text, rtt_count, "local_port=\"other\""), other_before);
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total", dropped_labels), folded);
  close(client);
  close(server);
  close(listener);
}

// A delay line between two namespaces: a TUN device in each, and a thread
// that moves every packet from one to the other after holding it for
// `one_way` (10 ms each way, so the path RTT is 20 ms). The kernel's srtt
// sees the delay because it is on the path, not in the application.
class DelayLine {
 public:
  DelayLine(Netns& a, Netns& b, std::chrono::microseconds one_way) : one_way_(one_way) {
    const std::string base = "nobt" + std::to_string(getpid() % 100000);
    names_[0] = base + "a";
    names_[1] = base + "b";
    fds_[0] = a.run([&] { return open_tun(names_[0]); });
    fds_[1] = b.run([&] { return open_tun(names_[1]); });
  }
  ~DelayLine() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : fds_) {
      if (fd >= 0) close(fd);  // the TUN devices go with their fds
    }
  }

  bool ok() const { return fds_[0] >= 0 && fds_[1] >= 0; }
  const std::string& name(int side) const { return names_[side]; }
  void start() {
    thread_ = std::thread([this] { forward(); });
  }

 private:
  static int open_tun(const std::string& name) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  struct Held {
    Clock::time_point due;
    std::vector<char> packet;
  };

  // Bounded by the test: runs until the destructor sets stop_.
  void forward() {
    std::deque<Held> queues[2];  // queues[i]: read from side i, written to the other
    std::vector<char> buffer(65536);
    while (!stop_) {
      int timeout_ms = 1;
      pollfd fds[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
      ::poll(fds, 2, timeout_ms);
      for (int side = 0; side < 2; ++side) {
        while (true) {
          ssize_t n = ::read(fds_[side], buffer.data(), buffer.size());
          if (n <= 0) break;
          queues[side].push_back(
              {Clock::now() + one_way_, std::vector<char>(buffer.begin(), buffer.begin() + n)});
        }
      }
      const auto now = Clock::now();
      for (int side = 0; side < 2; ++side) {
        while (!queues[side].empty() && queues[side].front().due <= now) {
          const std::vector<char>& p = queues[side].front().packet;
          (void)!::write(fds_[1 - side], p.data(), p.size());
          queues[side].pop_front();
        }
      }
    }
  }

  std::chrono::microseconds one_way_;
  std::string names_[2];
  int fds_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Across a path with 20 ms of added round-trip delay, the RTT observations of
// the test's connection land in the bucket containing 20 ms ((16.4, 32.8] ms).
TEST(TcpCollectorLive, RttAcrossA20msDelayLine) {
  Netns a("dla");
  Netns b("dlb");
  NETOBS_SETUP_NETNS(a);
  ASSERT_EQ(b.create(), "");
  DelayLine line(a, b, std::chrono::microseconds(10000));
  ASSERT_TRUE(line.ok()) << "cannot create TUN devices (/dev/net/tun)";
  for (const auto& [ns, dev, local, peer] :
       {std::tuple<Netns*, std::string, std::string, std::string>{&a, line.name(0), "10.201.0.1",
                                                                  "10.201.0.2"},
        std::tuple<Netns*, std::string, std::string, std::string>{&b, line.name(1), "10.201.0.2",
                                                                  "10.201.0.1"}}) {
    ASSERT_EQ(testing::run_command(
                  {"ip", "-n", ns->name(), "addr", "add", local, "peer", peer, "dev", dev})
                  .exit_code,
              0);
    ASSERT_EQ(testing::run_command({"ip", "-n", ns->name(), "link", "set", dev, "up"}).exit_code,
              0);
  }
  line.start();
  Exporter exporter(a.path());
  ASSERT_TRUE(exporter.ready()) << exporter.output();

  constexpr int kRoundTrips = 25;
  int listener = b.run([] { return listen_on("10.201.0.2", 5008); });
  ASSERT_GE(listener, 0);
  tcp_info info{};
  std::string error = a.run([&]() -> std::string {
    int client = connect_to("10.201.0.2", 5008);
    if (client < 0) return std::string("connect across the delay line: ") + strerror(-client);
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) return "accept failed";
    char buffer[100] = {};
    for (int i = 0; i < kRoundTrips; ++i) {
      if (!send_all(client, buffer, sizeof buffer) || !recv_all(server, buffer, sizeof buffer) ||
          !send_all(server, buffer, sizeof buffer) || !recv_all(client, buffer, sizeof buffer)) {
        return "ping-pong failed";
      }
    }
    info = read_tcp_info(client);
    close(client);
    close(server);
    return "";
  });
  close(listener);
  ASSERT_EQ(error, "");
  std::cout << "tcpi_rtt across the delay line: " << info.tcpi_rtt << " us\n";
  EXPECT_GE(info.tcpi_rtt, 20000u);
  auto counts = bucket_counts(histogram_buckets(exporter.scrape(), "netobs_tcp_rtt_seconds"));
  double total = 0, below_delay = 0, in_20ms_bucket = 0;
  for (const auto& [le, count] : counts) {
    total += count;
    if (le < 0.02) below_delay += count;
    if (std::fabs(le - 0.032768) < 1e-9) in_20ms_bucket = count;
  }
  // Only namespace A's client socket is watched: each reply is one
  // observation, none faster than the delay line. Scheduling on a loaded
  // machine can only add time (the kernel's own tcpi_rtt went past 32.8 ms
  // there), so above the line the check is that most samples sit in the
  // bucket that holds 20 ms.
  EXPECT_GE(total, kRoundTrips);
  EXPECT_EQ(below_delay, 0) << "observations under the 20 ms delay line";
  EXPECT_GT(in_20ms_bucket * 2, total) << "most observations outside (16.4, 32.8] ms";
}

// The number after "key": in a JSON text (no nesting needed for tcp_info).
std::optional<double> json_number(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(json.c_str() + at + needle.size(), nullptr);
}

// `netobs conns` shows for the test's own connection what the kernel's
// tcp_info says when the test reads it from the socket at the same moment:
// the connection is idle, so every field is read before and after the
// command and the command's value must lie between them (rates, which the
// kernel recomputes, within 10 %).
TEST(TcpConnsLive, MatchesTheKernelsTcpInfo) {
  Netns ns("conns");
  NETOBS_SETUP_NETNS(ns);
  constexpr uint16_t kPort = 5007;
  int client = -1, server = -1, listener = -1;
  std::string error = ns.run([&]() -> std::string {
    listener = listen_on(kLocal, kPort);
    client = connect_to(kLocal, kPort);
    server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0 || server < 0) return "connect/accept failed";
    std::vector<char> data(256 * 1024, 'z');
    for (int i = 0; i < 4; ++i) {
      if (!send_all(client, data.data(), data.size()) ||
          !recv_all(server, data.data(), data.size()) || !send_all(server, data.data(), 1000) ||
          !recv_all(client, data.data(), 1000)) {
        return "transfer failed";
      }
    }
    return "";
  });
  ASSERT_EQ(error, "");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // delayed ACKs settle
  sockaddr_in client_addr{};
  socklen_t len = sizeof client_addr;
  getsockname(client, reinterpret_cast<sockaddr*>(&client_addr), &len);
  const uint16_t client_port = ntohs(client_addr.sin_port);

  struct Side {
    const char* name;
    int fd;
    std::vector<std::string> args;
  };
  for (const Side& side :
       {Side{"client", client, {"--local-port", std::to_string(client_port), "--role", "client"}},
        Side{"server",
             server,
             {"--remote-port", std::to_string(client_port), "--role", "server"}}}) {
    const tcp_info before = read_tcp_info(side.fd);
    std::vector<std::string> argv = {testing::cli_binary(), "conns", "--json", "--netns",
                                     ns.path()};
    argv.insert(argv.end(), side.args.begin(), side.args.end());
    testing::CommandResult result = testing::run_command(argv, 30);
    const tcp_info after = read_tcp_info(side.fd);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const std::string& json = result.output;
    EXPECT_EQ(std::count(json.begin(), json.end(), '{') > 0, true);
    EXPECT_NE(json.find("\"role\":\"" + std::string(side.name) + "\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"state\":\"established\""), std::string::npos) << json;
    EXPECT_EQ(json_number(json, "pid"), getpid()) << json;
    auto check = [&](const char* key, double b, double a, double tolerance) {
      std::optional<double> shown = json_number(json, key);
      ASSERT_TRUE(shown) << key << " missing in " << json;
      const double low = std::min(a, b) * (1 - tolerance);
      const double high = std::max(a, b) * (1 + tolerance);
      EXPECT_GE(*shown, low) << side.name << " " << key;
      EXPECT_LE(*shown, high) << side.name << " " << key;
    };
    check("rtt_us", before.tcpi_rtt, after.tcpi_rtt, 0);
    check("rttvar_us", before.tcpi_rttvar, after.tcpi_rttvar, 0);
    check("min_rtt_us", before.tcpi_min_rtt, after.tcpi_min_rtt, 0);
    check("retrans", before.tcpi_retrans, after.tcpi_retrans, 0);
    check("total_retrans", before.tcpi_total_retrans, after.tcpi_total_retrans, 0);
    check("lost", before.tcpi_lost, after.tcpi_lost, 0);
    check("snd_cwnd", before.tcpi_snd_cwnd, after.tcpi_snd_cwnd, 0);
    check("snd_ssthresh", before.tcpi_snd_ssthresh, after.tcpi_snd_ssthresh, 0);
    check("unacked", before.tcpi_unacked, after.tcpi_unacked, 0);
    check("bytes_acked", before.tcpi_bytes_acked, after.tcpi_bytes_acked, 0);
    check("bytes_received", before.tcpi_bytes_received, after.tcpi_bytes_received, 0);
    check("segs_out", before.tcpi_segs_out, after.tcpi_segs_out, 0);
    check("delivery_rate", before.tcpi_delivery_rate, after.tcpi_delivery_rate, 0.1);
    check("pacing_rate", before.tcpi_pacing_rate, after.tcpi_pacing_rate, 0.1);
  }
  // --explain on the same connection: no loss diagnosis (there was none) and
  // the system line. Whether the unread data made the sender receive-window
  // limited depends on timing, so either verdict is right.
  testing::CommandResult explain =
      testing::run_command({testing::cli_binary(), "conns", "--explain", "--netns", ns.path(),
                            "--local-port", std::to_string(client_port)},
                           30);
  EXPECT_EQ(explain.exit_code, 0) << explain.output;
  EXPECT_NE(explain.output.find(":" + std::to_string(client_port) + " -> "), std::string::npos)
      << explain.output;
  EXPECT_TRUE(explain.output.find("healthy: no retransmissions") != std::string::npos ||
              explain.output.find("limited by the peer's receive window") != std::string::npos)
      << explain.output;
  EXPECT_EQ(explain.output.find("presumed lost"), std::string::npos) << explain.output;
  EXPECT_EQ(explain.output.find("consecutive timeouts"), std::string::npos) << explain.output;
  EXPECT_NE(explain.output.find("system (since boot)"), std::string::npos) << explain.output;
  close(client);
  close(server);
  close(listener);
}

// The socket_owners iterator (owners from the kernel) gives the same (pid,
// comm) per socket as the /proc/*/fd walk, on the test's own sockets: a
// listener, both ends of a connection and a UDP socket, all also held by a
// forked child with its own comm (two owners each), with the kernel-side
// inode filter (few inodes) and without it (more than the filter holds).
TEST(TcpConnsLive, SocketOwnersFromTheIteratorEqualProc) {
  NETOBS_REQUIRE_ROOT();
  const uint16_t port = static_cast<uint16_t>(testing::free_tcp_port());
  int listener = listen_on(kLocal, port);
  int client = connect_to(kLocal, port);
  int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(listener >= 0 && client >= 0 && server >= 0 && udp >= 0);
  std::unordered_set<uint32_t> inodes;
  for (int fd : {listener, client, server, udp}) {
    struct stat st {};
    ASSERT_EQ(fstat(fd, &st), 0);
    inodes.insert(static_cast<uint32_t>(st.st_ino));
  }
  int ready[2], release[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    prctl(PR_SET_NAME, "netobs-owner");
    char byte = 1;
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    (void)!read(release[0], &byte, 1);  // returns when the parent closes it
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  // Releases and reaps the child on every way out of the test.
  struct ChildGuard {
    pid_t pid;
    int release;
    ~ChildGuard() {
      close(release);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  } guard{child, release[1]};
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);

  std::string comm;
  {
    std::ifstream in("/proc/self/comm");
    std::getline(in, comm);
  }
  const std::vector<SocketOwner> both = {{getpid(), comm}, {child, "netobs-owner"}};

  auto iterator = SocketOwnerIterator::open();
  ASSERT_TRUE(iterator) << iterator.message();
  SocketOwnerMap from_kernel;
  ASSERT_TRUE((*iterator)->find(inodes, from_kernel));
  const SocketOwnerMap from_proc = find_socket_owners("/proc", inodes);
  EXPECT_EQ(from_kernel, from_proc);
  ASSERT_EQ(from_kernel.size(), inodes.size());
  for (uint32_t inode : inodes) EXPECT_EQ(from_kernel[inode], both) << "inode " << inode;

  // More wanted inodes than the kernel filter holds: every socket comes out
  // and user space filters. The extra inodes are far beyond any socket's.
  std::unordered_set<uint32_t> many = inodes;
  for (uint32_t i = 0; many.size() <= NETOBS_SOCKET_OWNERS_MAX_WANTED; ++i) {
    many.insert(0xFFFFF000u - i);
  }
  SocketOwnerMap unfiltered;
  ASSERT_TRUE((*iterator)->find(many, unfiltered));
  EXPECT_EQ(unfiltered, from_kernel);
  // And back to the filter: the map holds only the new set.
  ASSERT_TRUE((*iterator)->find({*inodes.begin()}, unfiltered));
  EXPECT_EQ(unfiltered.size(), 1u);

  // `netobs conns` chooses the iterator.
  auto source = SystemConnsSource::open("/proc");
  ASSERT_TRUE(source) << source.message();
  EXPECT_EQ((*source)->owners(inodes), from_proc);
  EXPECT_EQ((*source)->owner_method(), "bpf_iter");
  // Loaded (and, for many rows, walked) on a second thread during the dump.
  for (bool many : {false, true}) {
    auto prefetching = SystemConnsSource::open("/proc");
    ASSERT_TRUE(prefetching) << prefetching.message();
    (*prefetching)->prefetch_owners(many);
    ASSERT_TRUE((*prefetching)->dump());
    EXPECT_EQ((*prefetching)->owners(inodes), from_proc) << "many=" << many;
    EXPECT_EQ((*prefetching)->owner_method(), "bpf_iter");
  }

  for (int fd : {listener, client, server, udp}) close(fd);
}

// Every rung of every ladder passes the verifier on this kernel (the
// exporter only ever loads the first that works).
TEST(TcpCollectorLive, EveryRungLoads) {
  NETOBS_REQUIRE_ROOT();
  PreflightReport preflight = run_preflight();
  for (AttachKind kind : {AttachKind::kTpBtf, AttachKind::kRawTp, AttachKind::kTracepoint}) {
    LadderLoadOptions options;
    options.collector = "tcp-test";
    options.attach = false;
    options.force_kind = kind;
    auto loaded = load_skeleton_with_ladders<tcp_bpf>(
        TcpCollector::ladders(), preflight, options, [](tcp_bpf& skel) {
          skel.rodata->sample_rate = 4;  // keep the sampling and grouping code in
          skel.rodata->group_by = NETOBS_TCP_GROUP_REMOTE_CIDR;
          skel.rodata->target_netns = 1;
          return Status::ok();
        });
    EXPECT_TRUE(loaded) << attach_kind_name(kind) << ": " << loaded.message();
  }
}

}  // namespace
}  // namespace netobs
