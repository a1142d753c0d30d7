// `netobs conns` without a kernel: filters (addresses, ports, state, role),
// sorting and --top, deltas between refreshes, the seed-004 --explain
// wording, JSON, and the command end to end over a fake source.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/sock_diag.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "collectors/snmp/snmp_config.h"
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

// The printf/ostream formatting that the single-buffer writers replaced,
// kept as the oracle: the new table and JSON must be the same bytes.
namespace reference {
std::string ref_millis(uint32_t micros) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", micros / 1000.0);
  return buffer;
}
std::string ref_rate(uint64_t bytes_per_second) {
  double bits = static_cast<double>(bytes_per_second) * 8;
  const char* units[] = {"bps", "Kbps", "Mbps", "Gbps", "Tbps"};
  size_t unit = 0;
  while (bits >= 1000 && unit + 1 < std::size(units)) {
    bits /= 1000;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f%s" : "%.1f%s", bits, units[unit]);
  return buffer;
}
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}
std::string owners_text(const std::vector<SocketOwner>& owners) {
  std::string out;
  for (const SocketOwner& o : owners) {
    if (!out.empty()) out += ",";
    out += o.comm + "/" + std::to_string(o.pid);
  }
  return out.empty() ? "-" : out;
}

std::string reference_table(const std::vector<ConnView>& conns, bool with_deltas) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line,
                "%-11s %-23s %-23s %-6s %9s %8s %8s %9s%s %5s %6s %7s %7s %12s %12s %10s %10s "
                "%-17s %-17s %s\n",
                "STATE", "LOCAL", "REMOTE", "ROLE", "RTT_MS", "VAR_MS", "MIN_MS", "RETRANS",
                with_deltas ? "   +RETR" : "", "LOST", "CWND", "SSTHR", "UNACKED", "BYTES_ACKED",
                "BYTES_RECV", "DELIVERY", "PACING", "RMEM/RCVBUF", "WMEM/SNDBUF", "PROCESS");
  out << line;
  for (const ConnView& c : conns) {
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    const std::string retrans =
        std::to_string(i.tcpi_retrans) + "/" + std::to_string(i.tcpi_total_retrans);
    std::string delta;
    if (with_deltas) {
      char d[32];
      std::snprintf(d, sizeof d, " %8s",
                    c.retrans_delta ? ("+" + std::to_string(*c.retrans_delta)).c_str() : "-");
      delta = d;
    }
    const std::string rmem = r.has_skmem ? std::to_string(r.skmem[SK_MEMINFO_RMEM_ALLOC]) + "/" +
                                               std::to_string(r.skmem[SK_MEMINFO_RCVBUF])
                                         : "-";
    const std::string wmem = r.has_skmem ? std::to_string(r.skmem[SK_MEMINFO_WMEM_QUEUED]) + "/" +
                                               std::to_string(r.skmem[SK_MEMINFO_SNDBUF])
                                         : "-";
    std::snprintf(line, sizeof line,
                  "%-11s %-23s %-23s %-6s %9s %8s %8s %9s%s %5u %6u %7u %7u %12llu %12llu %10s "
                  "%10s %-17s %-17s %s\n",
                  std::string(tcp_state_name(r.state)).c_str(),
                  endpoint(r.local_ip(), r.local_port).c_str(),
                  endpoint(r.remote_ip(), r.remote_port).c_str(), c.server ? "server" : "client",
                  ref_millis(i.tcpi_rtt).c_str(), ref_millis(i.tcpi_rttvar).c_str(),
                  ref_millis(i.tcpi_min_rtt).c_str(), retrans.c_str(), delta.c_str(), i.tcpi_lost,
                  i.tcpi_snd_cwnd, i.tcpi_snd_ssthresh, i.tcpi_unacked,
                  static_cast<unsigned long long>(i.tcpi_bytes_acked),
                  static_cast<unsigned long long>(i.tcpi_bytes_received),
                  ref_rate(i.tcpi_delivery_rate).c_str(), ref_rate(i.tcpi_pacing_rate).c_str(),
                  rmem.c_str(), wmem.c_str(), owners_text(c.owners).c_str());
    out << line;
  }
  return out.str();
}

std::string reference_json(const std::vector<ConnView>& conns,
                           const std::vector<std::vector<std::string>>& explanations,
                           const std::optional<SystemRatios>& system) {
  std::ostringstream out;
  out << "{";
  if (system) {
    out << "\"system\":{\"span\":" << json_string(system->span);
    auto field = [&out](const char* name, const std::optional<double>& v) {
      out << ",\"" << name << "\":";
      if (v) {
        out << *v;
      } else {
        out << "null";
      }
    };
    field("retransmission_ratio", system->retransmission);
    field("tlp_share", system->tlp_share);
    field("fast_retransmit_share", system->fast_share);
    field("rto_share", system->rto_share);
    out << "},";
  }
  out << "\"connections\":[";
  for (size_t n = 0; n < conns.size(); ++n) {
    const ConnView& c = conns[n];
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    out << (n ? "," : "") << "{";
    out << "\"state\":" << json_string(std::string(tcp_state_name(r.state)))
        << ",\"local_ip\":" << json_string(r.local_ip()) << ",\"local_port\":" << r.local_port
        << ",\"remote_ip\":" << json_string(r.remote_ip()) << ",\"remote_port\":" << r.remote_port
        << ",\"role\":" << (c.server ? "\"server\"" : "\"client\"") << ",\"cookie\":" << r.cookie
        << ",\"inode\":" << r.inode << ",\"uid\":" << r.uid << ",\"recv_q\":" << r.rqueue
        << ",\"send_q\":" << r.wqueue;
    if (r.has_info) {
      out << ",\"tcp_info\":{"
          << "\"rtt_us\":" << i.tcpi_rtt << ",\"rttvar_us\":" << i.tcpi_rttvar
          << ",\"min_rtt_us\":" << i.tcpi_min_rtt << ",\"rto_us\":" << i.tcpi_rto
          << ",\"retrans\":" << i.tcpi_retrans << ",\"total_retrans\":" << i.tcpi_total_retrans
          << ",\"retransmits\":" << static_cast<unsigned>(i.tcpi_retransmits)
          << ",\"backoff\":" << static_cast<unsigned>(i.tcpi_backoff) << ",\"lost\":" << i.tcpi_lost
          << ",\"snd_cwnd\":" << i.tcpi_snd_cwnd << ",\"snd_ssthresh\":" << i.tcpi_snd_ssthresh
          << ",\"unacked\":" << i.tcpi_unacked << ",\"sacked\":" << i.tcpi_sacked
          << ",\"snd_mss\":" << i.tcpi_snd_mss << ",\"rcv_mss\":" << i.tcpi_rcv_mss
          << ",\"bytes_acked\":" << i.tcpi_bytes_acked
          << ",\"bytes_received\":" << i.tcpi_bytes_received
          << ",\"bytes_sent\":" << i.tcpi_bytes_sent
          << ",\"bytes_retrans\":" << i.tcpi_bytes_retrans << ",\"segs_out\":" << i.tcpi_segs_out
          << ",\"segs_in\":" << i.tcpi_segs_in << ",\"delivery_rate\":" << i.tcpi_delivery_rate
          << ",\"pacing_rate\":" << i.tcpi_pacing_rate << ",\"busy_time_us\":" << i.tcpi_busy_time
          << ",\"rwnd_limited_us\":" << i.tcpi_rwnd_limited
          << ",\"sndbuf_limited_us\":" << i.tcpi_sndbuf_limited << ",\"snd_wnd\":" << i.tcpi_snd_wnd
          << ",\"rcv_space\":" << i.tcpi_rcv_space << ",\"reordering\":" << i.tcpi_reordering
          << ",\"dsack_dups\":" << i.tcpi_dsack_dups
          << ",\"notsent_bytes\":" << i.tcpi_notsent_bytes
          << ",\"ca_state\":" << static_cast<unsigned>(i.tcpi_ca_state) << "}";
    }
    if (!r.congestion.empty()) out << ",\"congestion\":" << json_string(r.congestion);
    if (r.has_skmem) {
      static const char* kNames[] = {"rmem_alloc",  "rcvbuf", "wmem_alloc", "sndbuf", "fwd_alloc",
                                     "wmem_queued", "optmem", "backlog",    "drops"};
      out << ",\"skmem\":{";
      for (size_t k = 0; k < r.skmem.size(); ++k) {
        out << (k ? "," : "") << "\"" << kNames[k] << "\":" << r.skmem[k];
      }
      out << "}";
    }
    out << ",\"processes\":[";
    for (size_t k = 0; k < c.owners.size(); ++k) {
      out << (k ? "," : "") << "{\"pid\":" << c.owners[k].pid
          << ",\"comm\":" << json_string(c.owners[k].comm) << "}";
    }
    out << "]";
    if (c.retrans_delta) {
      out << ",\"delta\":{\"total_retrans\":" << *c.retrans_delta
          << ",\"bytes_acked\":" << c.sent_delta.value_or(0)
          << ",\"bytes_received\":" << c.received_delta.value_or(0) << "}";
    }
    if (n < explanations.size()) {
      out << ",\"explain\":[";
      for (size_t k = 0; k < explanations[n].size(); ++k) {
        out << (k ? "," : "") << json_string(explanations[n][k]);
      }
      out << "]";
    }
    out << "}";
  }
  out << "]}\n";
  return out.str();
}
}  // namespace reference

ConnView random_view(std::mt19937_64& rng, size_t n) {
  auto any = [&rng](uint64_t max) { return max == 0 ? 0 : rng() % (max + 1); };
  auto big = [&]() -> uint64_t {
    switch (any(3)) {
      case 0:
        return 0;
      case 1:
        return any(999);
      case 2:
        return any(10'000'000);
      default:
        return rng();
    }
  };
  ConnView c;
  TcpSocketRecord& r = c.record;
  const int kind = static_cast<int>(n % 3);
  r.family = kind == 0 ? AF_INET : AF_INET6;
  for (size_t k = 0; k < 16; ++k) {
    r.local_addr[k] = static_cast<uint8_t>(any(255));
    r.remote_addr[k] = static_cast<uint8_t>(any(255));
  }
  if (kind == 2) {  // IPv4-mapped, shown as IPv4
    for (size_t k = 0; k < 10; ++k) r.local_addr[k] = r.remote_addr[k] = 0;
    r.local_addr[10] = r.local_addr[11] = r.remote_addr[10] = r.remote_addr[11] = 0xff;
  }
  r.state = static_cast<uint8_t>(any(13));
  r.local_port = static_cast<uint16_t>(any(65535));
  r.remote_port = static_cast<uint16_t>(any(65535));
  r.cookie = rng();
  r.inode = static_cast<uint32_t>(big());
  r.uid = static_cast<uint32_t>(any(70000));
  r.rqueue = static_cast<uint32_t>(big());
  r.wqueue = static_cast<uint32_t>(big());
  r.has_info = any(4) != 0;
  auto* raw = reinterpret_cast<uint8_t*>(&r.info);
  for (size_t k = 0; k < sizeof r.info; ++k) raw[k] = static_cast<uint8_t>(any(3) ? 0 : rng());
  r.info.tcpi_rtt = static_cast<uint32_t>(big());
  r.info.tcpi_rttvar = static_cast<uint32_t>(big());
  r.info.tcpi_min_rtt = static_cast<uint32_t>(big());
  r.info.tcpi_bytes_acked = big();
  r.info.tcpi_delivery_rate = big();
  r.info.tcpi_pacing_rate = any(1) ? ~0ull : big();
  r.has_skmem = any(3) != 0;
  for (uint32_t& v : r.skmem) v = static_cast<uint32_t>(big());
  if (any(1)) r.congestion = any(1) ? "cubic" : "b\"b\\r\x01";
  c.server = any(1) != 0;
  for (uint64_t k = any(2); k > 0; --k) {
    c.owners.push_back({static_cast<int>(any(4'000'000)), any(1) ? "nginx" : "we\"ird\x1f/,"});
  }
  if (any(1)) {
    c.retrans_delta = big();
    c.sent_delta = big();
    c.received_delta = big();
  }
  return c;
}

TEST(TcpConns, TableAndJsonAreTheBytesOfThePrintfVersion) {
  std::mt19937_64 rng(20261206);
  std::vector<ConnView> conns;
  std::vector<std::vector<std::string>> explanations;
  for (size_t n = 0; n < 3000; ++n) {
    conns.push_back(random_view(rng, n));
    if (n % 2)
      explanations.push_back({"line \"one\"", "two"});
    else
      explanations.push_back({});
  }
  for (bool deltas : {false, true}) {
    EXPECT_EQ(format_conns_table(conns, deltas), reference::reference_table(conns, deltas));
  }
  SystemRatios system{"last 5 s", 0.00123456789, std::nullopt, 0.5, 1.0 / 3};
  EXPECT_EQ(format_conns_json(conns, explanations, system),
            reference::reference_json(conns, explanations, system));
  EXPECT_EQ(format_conns_json(conns, {}, std::nullopt),
            reference::reference_json(conns, {}, std::nullopt));
  EXPECT_EQ(format_conns_table({}, false), reference::reference_table({}, false));
}

}  // namespace
}  // namespace netobs
