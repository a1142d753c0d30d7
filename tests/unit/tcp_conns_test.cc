// `netobs conns` without a kernel: filters (addresses, ports, state, role),
// sorting and --top, deltas between refreshes, the seed-004 --explain
// wording, JSON, and the command end to end over a fake source.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/sock_diag.h>

#include <sstream>

#include "collectors/tcp/conns.h"
#include "collectors/tcp/conns_command.h"

namespace netobs {
namespace {

TcpSocketRecord record(const char* local, uint16_t lport, const char* remote, uint16_t rport,
                       uint8_t state = kTcpEstablished) {
  TcpSocketRecord r;
  r.family = AF_INET;
  r.state = state;
  inet_pton(AF_INET, local, r.local_addr.data());
  inet_pton(AF_INET, remote, r.remote_addr.data());
  r.local_port = lport;
  r.remote_port = rport;
  r.has_info = state != kTcpListen;
  r.info.tcpi_rtt = 1000;
  r.info.tcpi_min_rtt = 900;
  r.cookie = (static_cast<uint64_t>(lport) << 16) | rport;
  r.inode = lport;
  return r;
}

TEST(TcpConns, FiltersByAddressPortStateAndRole) {
  std::vector<TcpSocketRecord> records = {
      record("0.0.0.0", 2181, "0.0.0.0", 0, kTcpListen),
      record("70.0.0.31", 2181, "70.0.0.32", 41572),  // server side
      record("70.0.0.31", 50000, "70.0.0.40", 2181),  // client side
      record("70.0.0.31", 2181, "70.0.0.33", 41000, 6 /* time_wait */),
  };
  const std::set<uint16_t> listening = listening_ports(records);
  EXPECT_EQ(listening, std::set<uint16_t>{2181});
  auto count = [&](const ConnsFilter& filter) {
    int n = 0;
    for (const auto& r : records) n += conn_matches(r, filter, listening) ? 1 : 0;
    return n;
  };
  EXPECT_EQ(count({}), 3);  // everything but the listener
  ConnsFilter server;
  server.role = ConnsRole::kServer;
  EXPECT_EQ(count(server), 2);
  ConnsFilter client;
  client.role = ConnsRole::kClient;
  EXPECT_EQ(count(client), 1);
  ConnsFilter seed;  // the seed's example: --local-ip --remote-ip --local-port --role server
  seed.local_ip = "70.0.0.31";
  seed.remote_ip = "70.0.0.32";
  seed.local_port = 2181;
  seed.role = ConnsRole::kServer;
  EXPECT_EQ(count(seed), 1);
  ConnsFilter remote_port;
  remote_port.remote_port = 2181;
  EXPECT_EQ(count(remote_port), 1);
  ConnsFilter states;
  states.states = {6};
  EXPECT_EQ(count(states), 1);
  states.states = {kTcpListen};
  EXPECT_EQ(count(states), 1);
}

TEST(TcpConns, SortsAndKeepsTheTop) {
  std::vector<ConnView> conns(3);
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].record = record("10.0.0.1", static_cast<uint16_t>(1000 + i), "10.0.0.2", 80);
  }
  conns[0].record.info.tcpi_total_retrans = 5;
  conns[1].record.info.tcpi_total_retrans = 50;
  conns[2].record.info.tcpi_rtt = 90000;
  std::vector<ConnView> by_retrans = conns;
  sort_and_cut(by_retrans, ConnsSort::kRetrans, 2);
  ASSERT_EQ(by_retrans.size(), 2u);
  EXPECT_EQ(by_retrans[0].record.local_port, 1001);
  EXPECT_EQ(by_retrans[1].record.local_port, 1000);
  std::vector<ConnView> by_rtt = conns;
  sort_and_cut(by_rtt, ConnsSort::kRtt, 1);
  EXPECT_EQ(by_rtt[0].record.local_port, 1002);
}

TEST(TcpConns, DeltasSinceTheLastRefresh) {
  TcpSocketRecord r = record("10.0.0.1", 1, "10.0.0.2", 2);
  r.info.tcpi_total_retrans = 10;
  ConnHistory history = remember({r});
  ConnView view;
  view.record = r;
  view.record.info.tcpi_total_retrans = 17;
  std::vector<ConnView> conns = {view};
  apply_deltas(conns, history);
  EXPECT_EQ(conns[0].retrans_delta, 7u);
  // A connection that was not there before: all of it is new.
  conns[0].record.cookie = 99;
  apply_deltas(conns, history);
  EXPECT_EQ(conns[0].retrans_delta, 17u);
}

TEST(TcpConns, ExplainsLikeSeed004) {
  ConnView conn;
  conn.record = record("70.0.0.31", 2181, "70.0.0.32", 41572);
  conn.record.info.tcpi_total_retrans = 38;
  conn.record.info.tcpi_retrans = 0;
  conn.record.info.tcpi_segs_out = 3800;
  SystemRatios system;
  system.span = "since boot";
  system.tlp_share = 0.413;
  system.fast_share = 0.555;
  std::vector<std::string> lines = explain_connection(conn, system, SnmpThresholds{}, std::nullopt);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0],
            "38 retransmissions, 0 unacked, 1.0 % of 3800 segments sent; system TLP share 41.3 % "
            "— receive window likely too small");

  system.tlp_share = 0.1;
  lines = explain_connection(conn, system, SnmpThresholds{}, std::nullopt);
  EXPECT_NE(lines[0].find("fast retransmits 55.5 % — packet loss on the path"), std::string::npos)
      << lines[0];

  ConnView healthy;
  healthy.record = record("10.0.0.1", 1, "10.0.0.2", 2);
  lines = explain_connection(healthy, system, SnmpThresholds{}, std::nullopt);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "healthy: no retransmissions, RTT 1.000 ms (min 0.900 ms)");

  ConnView slow;
  slow.record = record("10.0.0.1", 1, "10.0.0.2", 2);
  slow.record.info.tcpi_busy_time = 1000;
  slow.record.info.tcpi_rwnd_limited = 600;
  slow.record.info.tcpi_snd_wnd = 4096;
  slow.record.info.tcpi_rtt = 50000;
  slow.record.info.tcpi_min_rtt = 10000;
  slow.record.has_skmem = true;
  slow.record.skmem[SK_MEMINFO_DROPS] = 12;
  lines = explain_connection(slow, std::nullopt, SnmpThresholds{}, std::nullopt);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "sending was limited by the peer's receive window 60.0 % of the busy time (window "
            "4096 bytes) — receive window too small or the peer reads too slowly");
  EXPECT_NE(lines[1].find("12 packets dropped at this socket"), std::string::npos);
  EXPECT_NE(lines[2].find("smoothed RTT 50.000 ms is 5.0x the minimum 10.000 ms"),
            std::string::npos);
}

TEST(TcpConns, DescribesTheSystem) {
  SystemRatios system;
  system.span = "last 5 s";
  system.retransmission = 0.000267;
  system.tlp_share = 0.413;
  EXPECT_EQ(describe_system(system),
            "system (last 5 s): retransmission ratio 0.0 %, TLP share 41.3 %");
}

// A scripted source: records per refresh and counters per refresh.
class FakeSource final : public ConnsSource {
 public:
  std::vector<std::vector<TcpSocketRecord>> dumps;
  std::vector<std::string> netstat;  // TcpExt lines per refresh
  size_t calls = 0;
  size_t counter_calls = 0;
  double now = 0;

  Result<std::vector<TcpSocketRecord>> dump() override {
    return dumps[std::min(calls++, dumps.size() - 1)];
  }
  std::unordered_map<uint32_t, std::vector<SocketOwner>> owners(
      const std::unordered_set<uint32_t>& inodes) override {
    std::unordered_map<uint32_t, std::vector<SocketOwner>> out;
    for (uint32_t inode : inodes) out[inode] = {{4242, "zookeeper"}};
    return out;
  }
  MibSnapshot counters() override {
    const std::string& text = netstat[std::min(counter_calls++, netstat.size() - 1)];
    return parse_mib_texts(
        "Tcp: RetransSegs OutSegs\nTcp: " + text.substr(0, text.find('|')) + "\n",
        "TcpExt: TCPLossProbes TCPFastRetrans TCPTimeouts\nTcpExt: " +
            text.substr(text.find('|') + 1) + "\n",
        "", false);
  }
  double monotonic_seconds() override { return now; }
  void sleep_for(double seconds) override { now += seconds; }
};

TEST(TcpConnsCommand, IntervalShowsDeltasAndExplainUsesTheInterval) {
  FakeSource source;
  TcpSocketRecord listener = record("0.0.0.0", 2181, "0.0.0.0", 0, kTcpListen);
  TcpSocketRecord conn = record("70.0.0.31", 2181, "70.0.0.32", 41572);
  conn.info.tcpi_total_retrans = 30;
  TcpSocketRecord later = conn;
  later.info.tcpi_total_retrans = 38;
  source.dumps = {{listener, conn}, {listener, later}};
  // RetransSegs OutSegs | TCPLossProbes TCPFastRetrans TCPTimeouts
  source.netstat = {"1000 100000|100 800 100", "1100 110000|141 855 104"};
  std::ostringstream out, err;
  int code = run_conns_command(
      {"--interval", "5", "--count", "2", "--explain", "--role", "server", "--local-port", "2181"},
      out, err, source);
  ASSERT_EQ(code, 0) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("--- refresh 2 ---"), std::string::npos) << text;
  EXPECT_NE(text.find("+RETR"), std::string::npos) << text;
  EXPECT_NE(text.find("      +8"), std::string::npos) << text;
  EXPECT_NE(text.find("zookeeper/4242"), std::string::npos) << text;
  EXPECT_NE(text.find("system (since boot): retransmission ratio 1.0 %, TLP share 10.0 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("system (last 5 s): retransmission ratio 1.0 %, TLP share 41.0 %"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("38 retransmissions, 0 unacked (+8 in the last 5 s); system TLP share "
                      "41.0 % — receive window likely too small"),
            std::string::npos)
      << text;
  EXPECT_EQ(source.now, 5);
}

TEST(TcpConnsCommand, JsonAndUsageErrors) {
  FakeSource source;
  source.dumps = {{record("10.0.0.1", 1234, "10.0.0.2", 80)}};
  source.netstat = {"0 0|0 0 0"};
  std::ostringstream out, err;
  ASSERT_EQ(run_conns_command({"--json"}, out, err, source), 0) << err.str();
  EXPECT_NE(out.str().find("\"local_ip\":\"10.0.0.1\",\"local_port\":1234"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\"processes\":[{\"pid\":4242,\"comm\":\"zookeeper\"}]"),
            std::string::npos);

  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--local-port", "0"},
                                             {"--role", "peer"},
                                             {"--sort", "name"},
                                             {"--state", "open"},
                                             {"--remote-ip", "300.1.1.1"},
                                             {"--count", "3"},
                                             {"--bogus"}}) {
    std::ostringstream o, e;
    EXPECT_EQ(run_conns_command(bad, o, e, source), 2) << bad[0];
    EXPECT_NE(e.str().find("netobs conns: "), std::string::npos);
  }
}

}  // namespace
}  // namespace netobs
