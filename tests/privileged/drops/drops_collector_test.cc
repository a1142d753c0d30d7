// The drops collector on the real kernel. Each test makes its own two
// network namespaces joined by a veth pair (documentation addresses
// 192.0.2.1 and .2, IPv6 off so nothing else talks), starts the collector
// filtered to the first namespace (other traffic on the machine cannot move
// the counts), causes one kind of drop on purpose and compares the count of
// that reason exactly with an independent truth: an nftables counter, the
// namespace's /proc/net/snmp and netstat counters, `tc -s qdisc`, or the
// packets the test sent. Every reason seen is a name from the kernel's BTF.
// Also: the optional local_port label with its cap, and the
// network.interfaces / exclude_interfaces filters.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>  // tcp_netns.h uses HUGE_VAL
#include <map>
#include <memory>
#include <regex>
#include <thread>

#include "collectors/drops/drops_collector.h"
#include "collectors/drops/drops_config.h"
#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::Netns;
using Clock = std::chrono::steady_clock;

constexpr char kLocal[] = "192.0.2.1";
constexpr char kPeer[] = "192.0.2.2";

uint64_t field(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return UINT64_MAX;
  return std::stoull(m[1]);
}

// Sends `count` UDP datagrams of `size` bytes to ip:port from the calling
// thread's namespace; returns how many sendto() accepted.
int send_udp(const char* ip, uint16_t port, int count, size_t size = 64) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = tcptest::ipv4(ip, port);
  std::string payload(size, 'x');
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) == static_cast<ssize_t>(payload.size())) {
      ++sent;
    }
  }
  close(fd);
  return sent;
}

// The one's complement sum of RFC 1071 over `data`, folded and inverted.
uint16_t internet_checksum(const uint8_t* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2)
    sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Sends `count` IPv4 packets 127.0.0.1 -> 127.0.0.1 through a raw socket
// (IP_HDRINCL): UDP or TCP (a SYN) to `port` whose L4 checksum is the right
// one plus 1. Loopback does not mark raw packets as checked, so the
// receiving stack verifies the checksum and drops them.
int send_bad_checksum(uint8_t protocol, uint16_t port, int count) {
  const int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return -1;
  constexpr size_t kIp = 20;
  const size_t l4_length = protocol == IPPROTO_UDP ? 8 + 4 : 20;
  uint8_t packet[64] = {};
  auto put16 = [&](size_t at, uint16_t value) {
    packet[at] = static_cast<uint8_t>(value >> 8);
    packet[at + 1] = static_cast<uint8_t>(value);
  };
  packet[0] = 0x45;  // IPv4, 20-byte header; the kernel fills id and checksum
  put16(2, static_cast<uint16_t>(kIp + l4_length));
  packet[8] = 64;  // TTL
  packet[9] = protocol;
  const uint8_t loopback[4] = {127, 0, 0, 1};
  std::memcpy(packet + 12, loopback, 4);
  std::memcpy(packet + 16, loopback, 4);
  put16(kIp, 40000);  // source port (TCP and UDP alike)
  put16(kIp + 2, port);
  size_t checksum_at = 0;
  if (protocol == IPPROTO_UDP) {
    put16(kIp + 4, static_cast<uint16_t>(l4_length));
    std::memcpy(packet + kIp + 8, "nobs", 4);
    checksum_at = kIp + 6;
  } else {
    packet[kIp + 7] = 1;        // sequence number 1
    packet[kIp + 12] = 5 << 4;  // data offset: 20 bytes
    packet[kIp + 13] = 0x02;    // SYN
    put16(kIp + 14, 1024);      // window
    checksum_at = kIp + 16;
  }
  // Pseudo-header + segment, then the checksum made wrong on purpose.
  uint8_t pseudo[12 + 32] = {};
  std::memcpy(pseudo, loopback, 4);
  std::memcpy(pseudo + 4, loopback, 4);
  pseudo[9] = protocol;
  pseudo[11] = static_cast<uint8_t>(l4_length);
  std::memcpy(pseudo + 12, packet + kIp, l4_length);
  put16(checksum_at, static_cast<uint16_t>(internet_checksum(pseudo, 12 + l4_length) + 1));
  sockaddr_in to = tcptest::ipv4("127.0.0.1", 0);
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, packet, kIp + l4_length, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) {
      ++sent;
    }
  }
  close(fd);
  return sent;
}

class DropsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    ASSERT_EQ(ns_.create(), "");
    ASSERT_EQ(peer_.create(), "");
    ASSERT_EQ(ip({"-n", ns_.name(), "link", "add", "nobsdr0", "type", "veth", "peer", "name",
                  "nobsdr1", "netns", peer_.name()}),
              "");
    for (Netns* n : {&ns_, &peer_}) {
      const std::string dev = n == &ns_ ? "nobsdr0" : "nobsdr1";
      ASSERT_EQ(sysctl(*n, "net.ipv6.conf." + dev + ".disable_ipv6=1"), "");
      ASSERT_EQ(ip({"-n", n->name(), "addr", "add", std::string(n == &ns_ ? kLocal : kPeer) + "/24",
                    "dev", dev}),
                "");
      ASSERT_EQ(ip({"-n", n->name(), "link", "set", dev, "up"}), "");
    }
    struct stat st {};
    ASSERT_EQ(stat(ns_.path().c_str(), &st), 0);
    netns_inode_ = static_cast<uint32_t>(st.st_ino);

    preflight_ = run_preflight();
    ASSERT_NO_FATAL_FAILURE(restart(test_config()));
  }

  Config test_config() const {
    Config config = default_config();
    config.collector<DropsConfig>().network_namespace = ns_.path();
    return config;
  }
  void restart(const Config& config) {
    collector_.reset();  // a collector starts once
    collector_ = std::make_unique<DropsCollector>();
    Status started = collector_->start({config, preflight_});
    ASSERT_TRUE(started) << started.message();
  }

  // netobs_drops_total and netobs_series_dropped_total{collector="drops"} as
  // one map: "label=value,..." (sorted label order) -> value.
  std::map<std::string, double> exported() {
    std::vector<prometheus::MetricFamily> families;
    EXPECT_TRUE(collector_->collect(families));
    std::map<std::string, double> out;
    for (const prometheus::MetricFamily& f : families) {
      if (f.name != "netobs_drops_total" && f.name != "netobs_series_dropped_total") continue;
      for (const prometheus::ClientMetric& metric : f.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : metric.label) labels[l.name] = l.value;
        std::string key = f.name;
        for (const auto& [name, value] : labels) key += "," + name + "=" + value;
        out[key] += metric.counter.value;
      }
    }
    return out;
  }

  std::string ip(std::vector<std::string> args) {
    args.insert(args.begin(), "ip");
    testing::CommandResult r = testing::run_command(args, 30);
    return r.exit_code == 0 ? "" : r.output;
  }
  std::string sysctl(Netns& n, const std::string& setting) {
    testing::CommandResult r =
        testing::run_command({"ip", "netns", "exec", n.name(), "sysctl", "-qw", setting}, 30);
    return r.exit_code == 0 ? "" : r.output;
  }

  // Packets per reason name in the test namespace, and the packets of one
  // reason per interface.
  std::map<std::string, uint64_t> by_reason() {
    Result<DropsSnapshot> snap = collector_->snapshot();
    EXPECT_TRUE(snap) << snap.message();
    std::map<std::string, uint64_t> out;
    if (!snap) return out;
    for (const DropsEntry& e : snap->entries) {
      EXPECT_EQ(e.key.netns, netns_inode_) << "a drop outside the test namespace was counted";
      const std::string name = collector_->reasons().name(e.key.reason);
      EXPECT_TRUE(collector_->reasons().all().count(e.key.reason)) << "not a BTF name: " << name;
      out[name] += e.packets;
      out[name + "@" + drops_interface_name(e) + "/" +
          std::string(drops_protocol_name(e.key.l3, e.key.l4))] += e.packets;
    }
    return out;
  }

  static uint64_t delta(const std::map<std::string, uint64_t>& before,
                        const std::map<std::string, uint64_t>& after, const std::string& key) {
    return tcptest::delta(before, after, key);
  }

  void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }

  Netns ns_{"nobsdropsA" + std::to_string(getpid())};
  Netns peer_{"nobsdropsB" + std::to_string(getpid())};
  uint32_t netns_inode_ = 0;
  PreflightReport preflight_;
  std::unique_ptr<DropsCollector> collector_;
};

TEST_F(DropsCollectorTest, NetfilterDropEqualsTheRulesCounter) {
  ASSERT_EQ(ns_.nft("table inet nobsdrops {\n"
                    "  chain input {\n"
                    "    type filter hook input priority 0; policy accept;\n"
                    "    udp dport 9001 counter drop\n"
                    "  }\n"
                    "}\n"),
            "");
  const auto before = by_reason();
  const int sent = ns_.run([] { return send_udp("127.0.0.1", 9001, 37); });
  ASSERT_EQ(sent, 37);
  settle();
  const auto after = by_reason();
  testing::CommandResult listed = testing::run_command(
      {"ip", "netns", "exec", ns_.name(), "nft", "list", "chain", "inet", "nobsdrops", "input"},
      30);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const uint64_t rule = field(listed.output, "counter packets (\\d+)");
  EXPECT_EQ(rule, 37u) << listed.output;
  EXPECT_EQ(delta(before, after, "NETFILTER_DROP"), rule);
  EXPECT_EQ(delta(before, after, "NETFILTER_DROP@lo/udp"), rule);
}

// The raw_tp and tracepoint rungs (older kernels) count the same drops as
// tp_btf: each attached beside the fixture's collector, same truth.
TEST_F(DropsCollectorTest, EveryRungCountsTheSame) {
  ASSERT_EQ(ns_.nft("table inet nobsdrops {\n"
                    "  chain input {\n"
                    "    type filter hook input priority 0; policy accept;\n"
                    "    udp dport 9008 counter drop\n"
                    "  }\n"
                    "}\n"),
            "");
  Config config = default_config();
  config.collector<DropsConfig>().network_namespace = ns_.path();
  // Each rung reads the local port its own way (direct loads, probe reads).
  config.collector<DropsConfig>().local_port_labels = true;
  std::vector<std::unique_ptr<DropsCollector>> rungs;
  for (AttachKind kind : {AttachKind::kTpBtf, AttachKind::kRawTp, AttachKind::kTracepoint}) {
    rungs.push_back(std::make_unique<DropsCollector>(DropsCollectorOptions{.force_kind = kind}));
    Status started = rungs.back()->start({config, preflight_});
    ASSERT_TRUE(started) << attach_kind_name(kind) << ": " << started.message();
    EXPECT_EQ(rungs.back()->attach_kind(), attach_kind_name(kind));
  }
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9008, 19); }), 19);
  settle();
  testing::CommandResult listed = testing::run_command(
      {"ip", "netns", "exec", ns_.name(), "nft", "list", "chain", "inet", "nobsdrops", "input"},
      30);
  const uint64_t rule = field(listed.output, "counter packets (\\d+)");
  ASSERT_EQ(rule, 19u) << listed.output;
  EXPECT_EQ(by_reason()["NETFILTER_DROP@lo/udp"], rule);
  for (const auto& rung : rungs) {
    Result<DropsSnapshot> snap = rung->snapshot();
    ASSERT_TRUE(snap) << snap.message();
    uint64_t counted = 0;
    for (const DropsEntry& e : snap->entries) {
      if (rung->reasons().name(e.key.reason) == "NETFILTER_DROP" &&
          drops_interface_name(e) == "lo" && drops_protocol_name(e.key.l3, e.key.l4) == "udp") {
        counted += e.packets;
        EXPECT_EQ(e.key.local_port, 9008) << rung->attach_kind();
      }
    }
    EXPECT_EQ(counted, rule) << rung->attach_kind();
  }
}

// More keys than slots: a collector with 256 slots sees drops on 300
// interfaces (empty bridges; an nftables postrouting rule drops what goes out
// of them before any neighbour lookup). The first keys get their own series; the rest are still
// counted, by reason only: nothing is lost.
TEST_F(DropsCollectorTest, AFullMapStillCountsEveryDrop) {
  constexpr int kInterfaces = 300;
  // Interface i has 10.77.i.1/24, then 10.78.(i - 256).1/24.
  auto network = [](int i) {
    return "10." + std::to_string(77 + i / 256) + "." + std::to_string(i % 256);
  };
  ASSERT_EQ(sysctl(ns_, "net.ipv6.conf.default.disable_ipv6=1"), "");
  testing::TempDir dir;
  std::string batch;
  for (int i = 0; i < kInterfaces; ++i) {
    const std::string dev = "nobsd" + std::to_string(i);
    batch += "link add " + dev + " type bridge\n";
    batch += "addr add " + network(i) + ".1/24 dev " + dev + "\n";
    batch += "link set " + dev + " up\n";
  }
  ASSERT_EQ(ip({"-n", ns_.name(), "-batch", dir.write("links", batch)}), "");
  ASSERT_EQ(ns_.nft("table inet nobsdrops {\n"
                    "  chain postrouting {\n"
                    "    type filter hook postrouting priority 0; policy accept;\n"
                    "    ip daddr 10.76.0.0/14 udp dport 9010 counter drop\n"
                    "  }\n"
                    "}\n"),
            "");
  Config config = default_config();
  config.collector<DropsConfig>().network_namespace = ns_.path();
  config.collector<DropsConfig>().max_entries = 256;
  DropsCollector small;
  Status started = small.start({config, preflight_});
  ASSERT_TRUE(started) << started.message();
  // A drop on the output path fails the send with EPERM: the rule's counter
  // is the truth.
  ns_.run([&] {
    for (int i = 0; i < kInterfaces; ++i) send_udp((network(i) + ".2").c_str(), 9010, 1);
  });
  settle();
  testing::CommandResult listed =
      testing::run_command({"ip", "netns", "exec", ns_.name(), "nft", "list", "chain", "inet",
                            "nobsdrops", "postrouting"},
                           30);
  const uint64_t rule = field(listed.output, "counter packets (\\d+)");
  ASSERT_EQ(rule, static_cast<uint64_t>(kInterfaces)) << listed.output;

  Result<DropsSnapshot> snap = small.snapshot();
  ASSERT_TRUE(snap) << snap.message();
  uint64_t keyed = 0;
  for (const DropsEntry& e : snap->entries) {
    if (small.reasons().name(e.key.reason) == "NETFILTER_DROP") keyed += e.packets;
  }
  const uint32_t netfilter_drop = 12;  // SKB_DROP_REASON_NETFILTER_DROP
  ASSERT_EQ(small.reasons().name(netfilter_drop), "NETFILTER_DROP");
  EXPECT_LE(snap->entries.size(), 256u);
  EXPECT_GE(snap->overflow[netfilter_drop], static_cast<uint64_t>(kInterfaces - 256));
  EXPECT_EQ(keyed + snap->overflow[netfilter_drop], rule);
  // The fixture's collector (10240 slots) has a series per interface.
  EXPECT_EQ(by_reason()["NETFILTER_DROP"], rule);
}

TEST_F(DropsCollectorTest, NoSocketEqualsUdpNoPorts) {
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  const auto before = by_reason();
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9002, 23); }), 23);
  settle();
  const auto after = by_reason();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  const uint64_t no_ports = delta(counters_before, counters_after, "Udp.NoPorts");
  EXPECT_EQ(no_ports, 23u);
  EXPECT_EQ(delta(before, after, "NO_SOCKET"), no_ports);
  EXPECT_EQ(delta(before, after, "NO_SOCKET@lo/udp"), no_ports);
}

TEST_F(DropsCollectorTest, SocketRcvbuffEqualsUdpRcvbufErrors) {
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  const auto before = by_reason();
  // A receiver with the smallest buffer that never reads: most datagrams overflow it.
  const int receiver = ns_.run([] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tiny = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in addr = tcptest::ipv4("127.0.0.1", 9003);
    return bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? fd : -1;
  });
  ASSERT_GE(receiver, 0);
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9003, 60, 1000); }), 60);
  settle();
  const auto after = by_reason();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  close(receiver);
  const uint64_t rcvbuf = delta(counters_before, counters_after, "Udp.RcvbufErrors");
  EXPECT_GT(rcvbuf, 40u);
  EXPECT_EQ(delta(before, after, "SOCKET_RCVBUFF"), rcvbuf);
  EXPECT_EQ(delta(before, after, "SOCKET_RCVBUFF@lo/udp"), rcvbuf);
}

// A listener with backlog 1 that never accepts. The kernel checks the accept
// queue twice: on a SYN (a full queue there is counted in ListenOverflows but
// the SYN is freed as consumed, with no drop reason) and on the handshake's
// last ACK (counted in ListenOverflows and ListenDrops, and dropped with
// TCP_LISTEN_OVERFLOW). The test makes only the second kind: one connection
// fills the queue's first slot; two more send their SYN while an nftables
// rule holds their final ACKs; when the rule goes, the listener's SYN-ACK
// retransmission brings the ACKs, the first takes the last slot and every
// later ACK overflows.
TEST_F(DropsCollectorTest, ListenOverflowEqualsListenOverflowsAndListenDrops) {
  const uint16_t port = 9004;
  const int listener = ns_.run([&] { return tcptest::listen_on("127.0.0.1", port, 1); });
  ASSERT_GE(listener, 0);
  const int first = ns_.run([&] { return tcptest::connect_to("127.0.0.1", port); });
  ASSERT_GE(first, 0);
  ASSERT_EQ(ns_.nft("table inet nobsdrops {\n"
                    "  chain output {\n"
                    "    type filter hook output priority 0; policy accept;\n"
                    "    tcp dport 9004 tcp flags == ack counter drop\n"
                    "  }\n"
                    "}\n"),
            "");
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  const auto before = by_reason();
  std::vector<int> held = ns_.run([&] {
    std::vector<int> fds;
    for (int i = 0; i < 2; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_in addr = tcptest::ipv4("127.0.0.1", port);
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fds.push_back(fd);
    }
    return fds;
  });
  settle();
  ASSERT_EQ(ns_.nft("delete table inet nobsdrops\n"), "");
  // The SYN-ACK timer (1 s, then 2 s...) brings the held ACKs: wait for an overflow.
  const auto deadline = Clock::now() + std::chrono::seconds(8);
  while (Clock::now() < deadline) {
    const auto now = ns_.run([] { return tcptest::read_counters(); });
    if (delta(counters_before, now, "TcpExt.ListenOverflows") >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  close(listener);  // stops the SYN-ACK timers: nothing moves while the counts are read
  settle();
  const auto after = by_reason();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  for (int fd : held) close(fd);
  close(first);
  const uint64_t overflows = delta(counters_before, counters_after, "TcpExt.ListenOverflows");
  const uint64_t listen_drops = delta(counters_before, counters_after, "TcpExt.ListenDrops");
  EXPECT_GE(overflows, 1u);
  EXPECT_EQ(listen_drops, overflows);
  EXPECT_EQ(delta(before, after, "TCP_LISTEN_OVERFLOW"), overflows);
  EXPECT_EQ(delta(before, after, "TCP_LISTEN_OVERFLOW@lo/tcp"), overflows);
}

// pfifo with limit 0 cannot bypass its queue and refuses every packet. A
// permanent neighbour entry keeps ARP off the interface, IPv6 is off: only the
// test's datagrams reach the qdisc.
TEST_F(DropsCollectorTest, QdiscDropEqualsTcStatistics) {
  testing::CommandResult mac =
      testing::run_command({"ip", "-n", peer_.name(), "-br", "link", "show", "dev", "nobsdr1"}, 30);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(mac.output, m, std::regex("([0-9a-f]{2}(:[0-9a-f]{2}){5})")))
      << mac.output;
  ASSERT_EQ(ip({"-n", ns_.name(), "neigh", "replace", kPeer, "lladdr", m[1], "dev", "nobsdr0",
                "nud", "permanent"}),
            "");
  testing::CommandResult tc = testing::run_command(
      {"tc", "-n", ns_.name(), "qdisc", "add", "dev", "nobsdr0", "root", "pfifo", "limit", "0"},
      30);
  ASSERT_EQ(tc.exit_code, 0) << tc.output;
  const auto before = by_reason();
  ns_.run([] { return send_udp(kPeer, 9005, 41); });
  settle();
  const auto after = by_reason();
  testing::CommandResult stats =
      testing::run_command({"tc", "-n", ns_.name(), "-s", "qdisc", "show", "dev", "nobsdr0"}, 30);
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  const uint64_t dropped = field(stats.output, "dropped (\\d+)");
  EXPECT_EQ(dropped, 41u) << stats.output;
  EXPECT_EQ(delta(before, after, "QDISC_DROP"), dropped);
  EXPECT_EQ(delta(before, after, "QDISC_DROP@nobsdr0/udp"), dropped);
}

// Datagrams to an address nobody answers ARP for wait in the neighbour's
// queue; when resolution fails every queued packet is dropped.
TEST_F(DropsCollectorTest, NeighbourFailureDropsEveryQueuedPacket) {
  ASSERT_EQ(sysctl(ns_, "net.ipv4.neigh.nobsdr0.mcast_solicit=1"), "");
  ASSERT_EQ(sysctl(ns_, "net.ipv4.neigh.nobsdr0.retrans_time_ms=200"), "");
  const auto before = by_reason();
  constexpr int kQueued = 5;  // below unres_qlen (101): all wait, none overflow the queue
  ASSERT_EQ(ns_.run([] { return send_udp("192.0.2.99", 9006, kQueued); }), kQueued);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string state;
  while (Clock::now() < deadline) {
    state =
        testing::run_command({"ip", "-n", ns_.name(), "neigh", "show", "192.0.2.99"}, 30).output;
    if (state.find("FAILED") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(state.find("FAILED"), std::string::npos) << state;
  settle();
  const auto after = by_reason();
  EXPECT_EQ(delta(before, after, "NEIGH_FAILED"), static_cast<uint64_t>(kQueued));
  EXPECT_EQ(delta(before, after, "NEIGH_FAILED@nobsdr0/udp"), static_cast<uint64_t>(kQueued));
}

// Datagrams and SYNs with a wrong checksum: UDP_CSUM = Udp InCsumErrors,
// TCP_CSUM = Tcp InCsumErrors.
TEST_F(DropsCollectorTest, BadChecksumsEqualInCsumErrors) {
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  const auto before = by_reason();
  ASSERT_EQ(ns_.run([] { return send_bad_checksum(IPPROTO_UDP, 9008, 13); }), 13);
  ASSERT_EQ(ns_.run([] { return send_bad_checksum(IPPROTO_TCP, 9008, 9); }), 9);
  settle();
  const auto after = by_reason();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  const uint64_t udp = delta(counters_before, counters_after, "Udp.InCsumErrors");
  const uint64_t tcp = delta(counters_before, counters_after, "Tcp.InCsumErrors");
  EXPECT_EQ(udp, 13u);
  EXPECT_EQ(tcp, 9u);
  EXPECT_EQ(delta(before, after, "UDP_CSUM"), udp);
  EXPECT_EQ(delta(before, after, "UDP_CSUM@lo/udp"), udp);
  EXPECT_EQ(delta(before, after, "TCP_CSUM"), tcp);
  EXPECT_EQ(delta(before, after, "TCP_CSUM@lo/tcp"), tcp);
}

// local_port_labels with room for 3 ports: the receive-buffer drops carry
// the receiving socket's port; of three closed ports first seen in one
// scrape the two busiest get series, the third folds into "other" and is
// counted in netobs_series_dropped_total. Every count against /proc.
TEST_F(DropsCollectorTest, LocalPortLabelsAreCappedAndFoldedIntoOther) {
  Config config = test_config();
  config.collector<DropsConfig>().local_port_labels = true;
  config.collector<DropsConfig>().max_local_ports = 3;
  ASSERT_NO_FATAL_FAILURE(restart(config));
  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  const int receiver = ns_.run([] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tiny = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in addr = tcptest::ipv4("127.0.0.1", 9014);
    return bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? fd : -1;
  });
  ASSERT_GE(receiver, 0);
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9014, 60, 1000); }), 60);
  settle();
  const auto counters_middle = ns_.run([] { return tcptest::read_counters(); });
  const uint64_t rcvbuf = delta(counters_before, counters_middle, "Udp.RcvbufErrors");
  EXPECT_GT(rcvbuf, 40u);
  const std::string udp_lo = "family=ipv4,interface=lo,";
  auto first = exported();
  EXPECT_EQ(
      first["netobs_drops_total," + udp_lo + "local_port=9014,protocol=udp,reason=SOCKET_RCVBUFF"],
      static_cast<double>(rcvbuf));
  EXPECT_EQ(first["netobs_series_dropped_total,collector=drops,metric=netobs_drops_total"], 0);
  close(receiver);

  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9011, 5); }), 5);
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9012, 3); }), 3);
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9013, 2); }), 2);
  settle();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  EXPECT_EQ(delta(counters_middle, counters_after, "Udp.NoPorts"), 10u);
  auto second = exported();
  const std::string no_socket = ",protocol=udp,reason=NO_SOCKET";
  EXPECT_EQ(second["netobs_drops_total," + udp_lo + "local_port=9011" + no_socket], 5);
  EXPECT_EQ(second["netobs_drops_total," + udp_lo + "local_port=9012" + no_socket], 3);
  EXPECT_EQ(second["netobs_drops_total," + udp_lo + "local_port=other" + no_socket], 2);
  EXPECT_EQ(second.count("netobs_drops_total," + udp_lo + "local_port=9013" + no_socket), 0u);
  EXPECT_EQ(second["netobs_series_dropped_total,collector=drops,metric=netobs_drops_total"], 2);
  // The port that came first keeps its series.
  EXPECT_EQ(
      second["netobs_drops_total," + udp_lo + "local_port=9014,protocol=udp,reason=SOCKET_RCVBUFF"],
      static_cast<double>(rcvbuf));
}

// Churn: short-lived ports fill max_local_ports; once they are idle for
// attribution.label_idle_time (2 s here) their series go and a port with
// steady drops gets its own, counting exactly the drops after it got it
// (truth: the datagrams sent and Udp.NoPorts); what was folded before stays
// in "other" and netobs_series_dropped_total.
TEST_F(DropsCollectorTest, IdleLocalPortsGiveTheirSeriesBack) {
  Config config = test_config();
  config.collector<DropsConfig>().local_port_labels = true;
  config.collector<DropsConfig>().max_local_ports = 4;
  config.attribution.label_idle_seconds = 2;
  ASSERT_NO_FATAL_FAILURE(restart(config));
  const std::string udp_lo = "netobs_drops_total,family=ipv4,interface=lo,local_port=";
  const std::string no_socket = ",protocol=udp,reason=NO_SOCKET";
  const std::string dropped =
      "netobs_series_dropped_total,collector=drops,metric=netobs_drops_total";
  for (uint16_t port = 9021; port <= 9024; ++port) {
    ASSERT_EQ(ns_.run([port] { return send_udp("127.0.0.1", port, 3); }), 3);
  }
  settle();
  auto filled = exported();
  for (int port = 9021; port <= 9024; ++port) {
    EXPECT_EQ(filled[udp_lo + std::to_string(port) + no_socket], 3) << port;
  }
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9030, 5); }), 5);
  settle();
  auto folded = exported();
  EXPECT_EQ(folded.count(udp_lo + "9030" + no_socket), 0u);
  EXPECT_EQ(folded[udp_lo + "other" + no_socket], 5);
  EXPECT_EQ(folded[dropped], 5);

  // The four short-lived ports age out; 9030 takes a slot.
  std::map<std::string, double> now;
  const auto deadline = Clock::now() + std::chrono::seconds(12);
  while (Clock::now() < deadline) {
    now = exported();
    if (now.count(udp_lo + "9030" + no_socket)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(now.count(udp_lo + "9030" + no_socket), 1u) << "9030 never got a series";
  for (int port = 9021; port <= 9024; ++port) {
    EXPECT_EQ(now.count(udp_lo + std::to_string(port) + no_socket), 0u) << port;
  }
  EXPECT_EQ(now[udp_lo + "9030" + no_socket], 0);

  const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9030, 7); }), 7);
  settle();
  const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
  const uint64_t no_ports = delta(counters_before, counters_after, "Udp.NoPorts");
  EXPECT_EQ(no_ports, 7u);
  auto last = exported();
  EXPECT_EQ(last[udp_lo + "9030" + no_socket], static_cast<double>(no_ports));
  // The folded drops stay counted.
  EXPECT_EQ(last[udp_lo + "other" + no_socket], 5);
  EXPECT_EQ(last[dropped], 5);
}

// network.exclude_interfaces, then network.interfaces: drops on an excluded
// (or not included) interface are not counted, the others exactly.
TEST_F(DropsCollectorTest, NetworkInterfaceFiltersApply) {
  testing::CommandResult tc = testing::run_command(
      {"tc", "-n", ns_.name(), "qdisc", "add", "dev", "nobsdr0", "root", "pfifo", "limit", "0"},
      30);
  ASSERT_EQ(tc.exit_code, 0) << tc.output;
  testing::CommandResult mac =
      testing::run_command({"ip", "-n", peer_.name(), "-br", "link", "show", "dev", "nobsdr1"}, 30);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(mac.output, m, std::regex("([0-9a-f]{2}(:[0-9a-f]{2}){5})")));
  ASSERT_EQ(ip({"-n", ns_.name(), "neigh", "replace", kPeer, "lladdr", m[1], "dev", "nobsdr0",
                "nud", "permanent"}),
            "");
  for (const bool include_lo : {false, true}) {
    SCOPED_TRACE(include_lo ? "interfaces: [lo]" : "exclude_interfaces: [nobsdr*]");
    Config config = test_config();
    if (include_lo) {
      config.network.interfaces = {"lo"};
    } else {
      config.network.exclude_interfaces = {"nobsdr*"};
    }
    ASSERT_NO_FATAL_FAILURE(restart(config));
    const auto counters_before = ns_.run([] { return tcptest::read_counters(); });
    const uint64_t qdisc_before = field(
        testing::run_command({"tc", "-n", ns_.name(), "-s", "qdisc", "show", "dev", "nobsdr0"}, 30)
            .output,
        "dropped (\\d+)");
    ns_.run([] { return send_udp(kPeer, 9005, 17); });
    ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9009, 7); }), 7);
    settle();
    const auto counters_after = ns_.run([] { return tcptest::read_counters(); });
    const uint64_t qdisc_after = field(
        testing::run_command({"tc", "-n", ns_.name(), "-s", "qdisc", "show", "dev", "nobsdr0"}, 30)
            .output,
        "dropped (\\d+)");
    EXPECT_EQ(qdisc_after - qdisc_before, 17u);  // they were dropped, just not counted
    const auto counts = by_reason();
    EXPECT_EQ(counts.count("QDISC_DROP"), 0u);
    EXPECT_EQ(counts.at("NO_SOCKET@lo/udp"), delta(counters_before, counters_after, "Udp.NoPorts"));
    EXPECT_EQ(counts.at("NO_SOCKET@lo/udp"), 7u);
    for (const auto& [key, value] : exported()) {
      EXPECT_EQ(key.find("nobsdr0"), std::string::npos) << key;
    }
  }
}

TEST_F(DropsCollectorTest, ExportsTheSameCountsAsMetrics) {
  ASSERT_EQ(ns_.run([] { return send_udp("127.0.0.1", 9007, 11); }), 11);
  settle();
  std::vector<prometheus::MetricFamily> families;
  ASSERT_TRUE(collector_->collect(families));
  const auto counts = by_reason();
  double exported = -1;
  for (const prometheus::MetricFamily& f : families) {
    if (f.name != "netobs_drops_total") continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : metric.label) labels[l.name] = l.value;
      if (labels["reason"] == "NO_SOCKET" && labels["interface"] == "lo" &&
          labels["protocol"] == "udp" && labels["family"] == "ipv4") {
        exported = metric.counter.value;
      }
    }
  }
  EXPECT_EQ(exported, 11);
  EXPECT_EQ(exported, static_cast<double>(counts.at("NO_SOCKET@lo/udp")));
  EXPECT_EQ(collector_->bpf_status().programs.size(), 1u);
  EXPECT_TRUE(collector_->bpf_status().programs[0].attached);
  EXPECT_EQ(collector_->bpf_status().programs[0].attach, "tp_btf");
}

}  // namespace
}  // namespace netobs
