// Live tests of the tcp collector on the real kernel. Each test makes its
// own network namespace and runs netobs_exporter (tcp only) in the host
// namespace with collectors.tcp.network_namespace set to the test's, so the
// BPF programs count only sockets of that namespace (other traffic on the
// machine, and the scrapes themselves, cannot change the exact counts) and
// the connection-state gauge is read from it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "bpf/lib/log2_slot.h"
#include "collectors/tcp/tcp_collector.h"
#include "exporter/bpf/preflight.h"
#include "tcp.skel.h"
#include "tests/integration/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using namespace tcptest;  // NOLINT
using Clock = std::chrono::steady_clock;

constexpr const char* kLocal = "127.0.0.1";

// netobs_exporter with only the tcp collector, watching one namespace.
class Exporter {
 public:
  Exporter(const std::string& netns_path, const std::string& extra_yaml = "") {
    port_ = testing::free_tcp_port();
    config_ = dir_.write("netobs.yaml",
                         "collectors:\n  tcp:\n    required: true\n"
                         "    network_namespace: \"" +
                             netns_path + "\"\n" + extra_yaml);
    process_ = std::make_unique<testing::Subprocess>(std::vector<std::string>{
        testing::exporter_binary(), "--collector.disable-defaults", "--collector.tcp",
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--config.file=" + config_});
    ready_ = testing::wait_for_http(port_, "/metrics", 20);
  }

  bool ready() const { return ready_; }
  std::string output() const { return process_->output(); }

  std::string scrape() {
    auto response = testing::http_request("127.0.0.1", port_, "/metrics");
    return response && response->status == 200 ? response->body : "";
  }

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
  testing::TempDir dir_;
  std::string config_;
  int port_ = 0;
  std::unique_ptr<testing::Subprocess> process_;
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
// - rto == TcpExt TCPSlowStartRetrans + TCPTimeouts - syn: in Loss, the
//   timer resends the head once per timeout (TCPTimeouts, SYN timeouts
//   included), the rest of the window is TCPSlowStartRetrans.
// - tlp <= TcpExt TCPLossProbes: a probe sends new data when it can, which is
//   not a retransmission.
TEST(TcpCollectorLive, RetransmissionsAgreeWithNamespaceCounters) {
  Netns ns("loss");
  NETOBS_SETUP_NETNS(ns);
  constexpr uint16_t kPort = 5002;
  constexpr uint16_t kSynPort = 5003;
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
    // retransmitted SYN (after the 1 s initial RTO) gets through.
    int syn_listener = listen_on(kLocal, kSynPort);
    std::thread unblock([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      testing::run_command(
          {"ip", "netns", "exec", ns.name(), "nft", "flush", "table", "inet", "loss"}, 30);
    });
    int client = connect_to(kLocal, kSynPort);
    unblock.join();
    if (client < 0) return Outcome{"connect after the SYN drop failed", {}, {}};
    close(client);
    close(syn_listener);
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
  EXPECT_EQ(syn, 1);
  EXPECT_EQ(fast + other, d("TcpExt.TCPFastRetrans"));
  // The retransmission timer resends the head once per event (TCPTimeouts,
  // which also counts SYN timeouts); the rest of the window in Loss is
  // TCPSlowStartRetrans. Exact while no retransmission failed.
  const double errors =
      testing::metric_value(text, "netobs_tcp_retransmit_errors_total").value_or(-1);
  EXPECT_GE(rto, d("TcpExt.TCPSlowStartRetrans"));
  if (errors == 0) {
    EXPECT_EQ(rto, d("TcpExt.TCPSlowStartRetrans") + d("TcpExt.TCPTimeouts") - syn);
  }
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
  double total = 0;
  for (const auto& [le, count] : counts) total += count;
  // Every data segment and pure ACK each side received is one observation.
  EXPECT_GE(total, 2 * kRoundTrips);
  // The bucket (le = 2^slot us) of the final smoothed RTT of each socket.
  for (const tcp_info& info : {client_info, server_info}) {
    const double le = std::ldexp(1.0, static_cast<int>(netobs_log2_slot(info.tcpi_rtt, 64))) * 1e-6;
    double in_bucket = 0;
    for (const auto& [bound, count] : counts) {
      if (std::fabs(bound - le) < 1e-12) in_bucket = count;
    }
    std::cout << "tcpi_rtt=" << info.tcpi_rtt << "us bucket le=" << le << " holds " << in_bucket
              << " of " << total << "\n";
    EXPECT_GT(in_bucket, 0) << "no observation in the bucket of tcpi_rtt " << info.tcpi_rtt;
  }
  // The srtt settles: most observations share the final RTT's bucket or a
  // neighbour (log2 buckets, and loopback RTTs wander by a few us).
  const double le =
      std::ldexp(1.0, static_cast<int>(netobs_log2_slot(client_info.tcpi_rtt, 64))) * 1e-6;
  double near = 0;
  for (const auto& [bound, count] : counts) {
    if (bound >= le / 2.001 && bound <= le * 2.001) near += count;
  }
  EXPECT_GE(near, 0.9 * total);
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
          bpf_program__set_autoload(skel.progs.tcp_probe_empty, false);
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
