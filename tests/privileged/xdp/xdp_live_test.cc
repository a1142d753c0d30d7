// The xdp collector on real interfaces (root): the exporter runs inside a
// test network namespace (its rtnetlink and interface list see only that
// namespace), attached by glob to veths whose peers sit in a second test
// namespace; the test sends known packets from the peer side and reads
// /metrics. Covers exact counts, the sampling rate, interfaces created after
// start, SIGTERM detaching everything, and a foreign XDP program being left
// alone, for the native XDP and tc modes (auto picks tc on a veth); GSO
// super-packets counted as their wire packets (tc). Namespaces are
// nobsxdp<pid> and nobsxdp<pid>p, removed on exit.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/tcp.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <regex>
#include <thread>

#include "tests/support/exporter_process.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ip_of(int pair, int host) {
  return "10.199." + std::to_string(pair) + "." + std::to_string(host);
}
std::string mac_of(int pair, int host) {
  char text[32];
  std::snprintf(text, sizeof(text), "02:00:00:c7:%02x:%02x", pair, host);
  return text;
}

// Two namespaces joined by veth pairs nobs<i> (agent side, .1) <-> peer<i>
// (peer side, .2) on 10.199.<i>.0/24. IPv6 off and static neighbours, so
// the only packets crossing are the ones the test sends.
class TestNet {
 public:
  TestNet() : agent_ns_("nobsxdp" + std::to_string(getpid())), peer_ns_(agent_ns_.name() + "p") {
    for (testing::Netns* ns : {&agent_ns_, &peer_ns_}) {
      if (std::string error = ns->create(); !error.empty()) ADD_FAILURE() << error;
      must({"ip", "netns", "exec", ns->name(), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1"});
    }
  }

  void add_pair(int i) {
    const std::string a = "nobs" + std::to_string(i), p = "peer" + std::to_string(i);
    must({"ip", "link", "add", a, "netns", agent_, "address", mac_of(i, 1), "type", "veth", "peer",
          "name", p, "netns", peer_, "address", mac_of(i, 2)});
    must({"ip", "-n", agent_, "addr", "add", ip_of(i, 1) + "/24", "dev", a});
    must({"ip", "-n", peer_, "addr", "add", ip_of(i, 2) + "/24", "dev", p});
    must({"ip", "-n", agent_, "neigh", "replace", ip_of(i, 2), "lladdr", mac_of(i, 2), "dev", a,
          "nud", "permanent"});
    must({"ip", "-n", peer_, "neigh", "replace", ip_of(i, 1), "lladdr", mac_of(i, 1), "dev", p,
          "nud", "permanent"});
    must({"ip", "-n", agent_, "link", "set", a, "up"});
    must({"ip", "-n", peer_, "link", "set", p, "up"});
  }
  void del_pair(int i) { must({"ip", "-n", agent_, "link", "del", "nobs" + std::to_string(i)}); }

  const std::string& agent() const { return agent_; }
  const std::string& peer() const { return peer_; }

  // `ip -d link` of the agent namespace (shows prog/xdp lines).
  std::string agent_links() const {
    return testing::run_command({"ip", "-n", agent_, "-d", "link", "show"}, 10).output;
  }

 private:
  static void must(const std::vector<std::string>& argv) {
    const auto result = testing::run_command(argv, 20);
    if (result.exit_code != 0) {
      std::string line;
      for (const auto& a : argv) line += a + " ";
      ADD_FAILURE() << line << "failed: " << result.output;
    }
  }
  // Deleted in reverse order: the peer namespace first.
  testing::Netns agent_ns_;
  testing::Netns peer_ns_;
  const std::string& agent_ = agent_ns_.name();
  const std::string& peer_ = peer_ns_.name();
};

// The exporter running inside the agent namespace with only the xdp collector.
class Exporter {
 public:
  Exporter(const TestNet& net, const std::string& xdp_yaml)
      : exporter_({.collectors = {"xdp"},
                   .config_yaml = "collectors:\n  xdp:\n" + xdp_yaml,
                   .netns = net.agent()}) {}

  bool wait_ready() { return exporter_.wait_ready("/healthz", 20); }
  std::string get(const std::string& path) { return exporter_.get(path).value_or(""); }
  std::string scrape() { return exporter_.scrape(); }
  // Scrapes until metric{labels} == want (packets may still be in flight), at most ~5 s.
  std::string scrape_until(const std::string& name, const std::string& labels, double want) {
    return exporter_.scrape_until(name, labels, want, 5);
  }
  testing::Subprocess& process() { return exporter_.process(); }

 private:
  testing::ExporterProcess exporter_;
};

// Sends `count` UDP datagrams of `payload` bytes from the peer namespace to
// ip:port, paced so the veth's 256-frame XDP ring never overflows.
void send_udp(const TestNet& net, const std::string& ip, uint16_t port, int count, size_t payload) {
  testing::run_in_netns(net.peer(), [&] {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
    std::vector<char> data(payload, 'x');
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(
          sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
          static_cast<ssize_t>(payload));
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    close(fd);
  });
}

// BPF_TCX_INGRESS (Linux 6.6 uapi); Debian 12's headers predate it.
constexpr int kTcxIngress = 46;

// Programs on the tcx ingress of `ifname` in namespace `ns` (-1: query failed).
int tcx_programs(const std::string& ns, const std::string& ifname) {
  int count = -1;
  testing::run_in_netns(ns, [&] {
    __u32 ids[16] = {};
    __u32 n = 16;
    __u32 flags = 0;
    const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex > 0 && bpf_prog_query(ifindex, static_cast<bpf_attach_type>(kTcxIngress), 0, &flags,
                                      ids, &n) == 0) {
      count = static_cast<int>(n);
    }
  });
  return count;
}

// The modes a test runs in, with the labels of an attached interface.
struct Mode {
  std::string name;     // xdp.mode
  std::string program;  // before "@<interface>"
  std::string attach;   // attach label when attached
};
const Mode kNative{"native", "xdp_observe", "xdp_native"};
const Mode kTc{"tc", "tc_observe", "tcx"};

std::string attached_labels(const Mode& mode, const std::string& iface) {
  return "attach=\"" + mode.attach + "\",collector=\"xdp\",program=\"" + mode.program + "@" +
         iface + "\"";
}

// Whether any netobs program is still attached to the agent namespace's links.
void expect_nothing_attached(const TestNet& net, const std::string& iface) {
  EXPECT_THAT(net.agent_links(), Not(HasSubstr("prog/xdp"))) << "an XDP program is still attached";
  EXPECT_EQ(tcx_programs(net.agent(), iface), 0) << "a tcx program is still attached";
  const auto filters =
      testing::run_command({"tc", "-n", net.agent(), "filter", "show", "dev", iface, "ingress"});
  EXPECT_THAT(filters.output, Not(HasSubstr("tc_observe")));
}

class XdpLiveModeTest : public ::testing::TestWithParam<Mode> {};

double value(const std::string& text, const std::string& name, const std::string& labels) {
  return testing::metric_value(text, name, labels).value_or(-1);
}

std::string udp_labels(const std::string& iface) {
  return "ethertype=\"ipv4\",interface=\"" + iface + "\",protocol=\"udp\"";
}

TEST_P(XdpLiveModeTest, AttachedByGlobCountsExactlyAndSigtermDetaches) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs*"]
    sample_rate: 1
    mode: )" + GetParam().name +
                             R"(
    filters:
      ports: [9001, 9002, 9004]
    top_talkers: 5
)");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  std::string text = exporter.scrape();
  EXPECT_EQ(value(text, "netobs_bpf_program_attached", attached_labels(GetParam(), "nobs0")), 1)
      << text << exporter.process().output();
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 0);  // present at 0
  EXPECT_EQ(value(text, "netobs_xdp_malformed_packets_total", "interface=\"nobs0\",layer=\"ipv4\""),
            0);

  // Frames: 14 + 20 + 8 + payload.
  send_udp(net, ip_of(0, 1), 9001, 100, 100);  // 142 bytes: le=256
  send_udp(net, ip_of(0, 1), 9002, 50, 1000);  // 1042 bytes: le=1518
  send_udp(net, ip_of(0, 1), 9003, 20, 10);    // 52 bytes: le=64, port not configured
  text = exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), 170);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 170) << text;
  // The top talkers come from the ring buffer, drained every 200 ms.
  text = exporter.scrape_until("netobs_xdp_top_talker_packets_total",
                               "dst=\"10.199.0.1\",interface=\"nobs0\",port=\"9001\","
                               "protocol=\"udp\",src=\"10.199.0.2\"",
                               100);
  EXPECT_EQ(value(text, "netobs_xdp_bytes_total", udp_labels("nobs0")),
            100 * 142 + 50 * 1042 + 20 * 52);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total",
                  "ethertype=\"arp\",interface=\"nobs0\",protocol=\"none\""),
            0);
  EXPECT_EQ(value(text, "netobs_xdp_port_packets_total", "interface=\"nobs0\",port=\"9001\""), 100);
  EXPECT_EQ(value(text, "netobs_xdp_port_bytes_total", "interface=\"nobs0\",port=\"9001\""),
            100 * 142);
  EXPECT_EQ(value(text, "netobs_xdp_port_packets_total", "interface=\"nobs0\",port=\"9002\""), 50);
  EXPECT_EQ(value(text, "netobs_xdp_port_packets_total", "interface=\"nobs0\",port=\"9004\""), 0);
  const std::string bucket = "netobs_xdp_packet_size_bytes_bucket";
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"64\""), 20);
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"128\""), 20);
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"256\""), 120);
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"1024\""), 120);
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"1518\""), 170);
  EXPECT_EQ(value(text, bucket, "interface=\"nobs0\",le=\"+Inf\""), 170);
  EXPECT_EQ(value(text, "netobs_xdp_packet_size_bytes_sum", "interface=\"nobs0\""),
            100 * 142 + 50 * 1042 + 20 * 52);
  // Sampling filtered to the configured ports: 150 candidates, all sampled.
  EXPECT_EQ(value(text, "netobs_xdp_sample_candidates_total", "interface=\"nobs0\""), 150);
  EXPECT_EQ(value(text, "netobs_xdp_samples_total", "interface=\"nobs0\""), 150);
  EXPECT_EQ(value(text, "netobs_xdp_top_talker_packets_total",
                  "dst=\"10.199.0.1\",interface=\"nobs0\",port=\"9001\",protocol=\"udp\","
                  "src=\"10.199.0.2\""),
            100)
      << text;
  EXPECT_EQ(value(text, "netobs_events_lost_total", "collector=\"xdp\""), 0);

  // One TCP connection from the peer: its SYN and FIN arrive on nobs0.
  int listener = -1;
  testing::run_in_netns(net.agent(), [&] {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9004);
    inet_pton(AF_INET, ip_of(0, 1).c_str(), &addr.sin_addr);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listener, 4), 0);
  });
  testing::run_in_netns(net.peer(), [&] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9004);
    inet_pton(AF_INET, ip_of(0, 1).c_str(), &to.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    const int server = accept(listener, nullptr, nullptr);
    ASSERT_EQ(send(fd, "hello", 5, 0), 5);
    char buf[8];
    ASSERT_EQ(recv(server, buf, sizeof(buf), 0), 5);
    close(fd);
    ASSERT_EQ(recv(server, buf, sizeof(buf), 0), 0);  // the peer's FIN arrived
    close(server);
  });
  close(listener);
  text = exporter.scrape_until("netobs_xdp_tcp_flags_total", "flag=\"fin\",interface=\"nobs0\"", 1);
  EXPECT_EQ(value(text, "netobs_xdp_tcp_flags_total", "flag=\"syn\",interface=\"nobs0\""), 1);
  EXPECT_EQ(value(text, "netobs_xdp_tcp_flags_total", "flag=\"fin\",interface=\"nobs0\""), 1);
  EXPECT_EQ(value(text, "netobs_xdp_tcp_flags_total", "flag=\"synack\",interface=\"nobs0\""), 0);
  EXPECT_EQ(value(text, "netobs_xdp_tcp_flags_total", "flag=\"rst\",interface=\"nobs0\""), 0);
  EXPECT_GE(value(text, "netobs_xdp_port_packets_total", "interface=\"nobs0\",port=\"9004\""), 3);

  if (GetParam().name == "tc") {
    ASSERT_EQ(tcx_programs(net.agent(), "nobs0"), 1);
  } else {
    ASSERT_THAT(net.agent_links(), HasSubstr("prog/xdp"));
  }
  exporter.process().signal(SIGTERM);
  ASSERT_EQ(exporter.process().wait(30), 0) << exporter.process().output();
  expect_nothing_attached(net, "nobs0");
}

TEST_P(XdpLiveModeTest, SampleRate10Over20000PacketsIsWithinBinomialInterval) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs0"]
    sample_rate: 10
    mode: )" + GetParam().name +
                             "\n");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  const int n = 20000;
  send_udp(net, ip_of(0, 1), 9100, n, 18);
  std::string text = exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), n);
  // Every packet the program saw is a candidate. The sender is paced so the
  // veth should lose none, but a loaded CI machine may still drop a few
  // before XDP: the interval is taken around the packets seen.
  const double seen = value(text, "netobs_xdp_packets_total", udp_labels("nobs0"));
  EXPECT_EQ(seen, n) << "the veth dropped packets before XDP saw them";
  ASSERT_GE(seen, n * 0.95) << text;
  EXPECT_EQ(value(text, "netobs_xdp_sample_candidates_total", "interface=\"nobs0\""), seen);
  EXPECT_EQ(value(text, "netobs_xdp_sample_rate", "interface=\"nobs0\""), 10);
  // Binomial(seen, 0.1): for 20000, 2000 +- 3.29 sigma = +-140 (99.9 %, two-sided).
  const double samples = value(text, "netobs_xdp_samples_total", "interface=\"nobs0\"");
  const double half = 3.29 * std::sqrt(seen * 0.1 * 0.9);
  EXPECT_GE(samples, seen * 0.1 - half);
  EXPECT_LE(samples, seen * 0.1 + half);
  EXPECT_EQ(value(text, "netobs_xdp_samples_dropped_total", "interface=\"nobs0\""), 0);
  // The only talker: its estimate is samples x rate (user space drains the
  // ring every 200 ms: wait for it).
  const std::string talker =
      "dst=\"10.199.0.1\",interface=\"nobs0\",port=\"9100\",protocol=\"udp\","
      "src=\"10.199.0.2\"";
  text = exporter.scrape_until("netobs_xdp_top_talker_packets_total", talker, samples * 10);
  EXPECT_EQ(value(text, "netobs_xdp_top_talker_packets_total", talker), samples * 10) << text;
}

TEST_P(XdpLiveModeTest, InterfaceCreatedAfterStartIsAttachedAndRemovedOneIsDropped) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs*"]
    sample_rate: 1
    mode: )" + GetParam().name +
                             "\n");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  EXPECT_THAT(exporter.scrape(), Not(HasSubstr("nobs1")));

  net.add_pair(1);
  const std::string attached = attached_labels(GetParam(), "nobs1");
  std::string text = exporter.scrape_until("netobs_bpf_program_attached", attached, 1);
  ASSERT_EQ(value(text, "netobs_bpf_program_attached", attached), 1)
      << text << exporter.process().output();
  send_udp(net, ip_of(1, 1), 9200, 10, 50);
  text = exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs1"), 10);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs1")), 10) << text;
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 0);

  net.del_pair(1);
  for (int i = 0; i < 50 && text.find("nobs1") != std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    text = exporter.scrape();
  }
  EXPECT_THAT(text, Not(HasSubstr("nobs1"))) << "series of a removed interface remain";
  EXPECT_THAT(text, HasSubstr("interface=\"nobs0\""));
  exporter.process().signal(SIGTERM);
  EXPECT_EQ(exporter.process().wait(30), 0);
  expect_nothing_attached(net, "nobs0");
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpLiveModeTest, ::testing::Values(kNative, kTc),
                         [](const auto& info) { return info.param.name; });

// A minimal XDP program (return XDP_PASS) attached the classic netlink way,
// as another tool would.
int load_foreign_program() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_pass", "GPL", insns, 2, &opts);
}

TEST(XdpLiveTest, ForeignXdpProgramIsNeitherReplacedNorDetached) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  net.add_pair(1);
  const int prog = load_foreign_program();
  ASSERT_GE(prog, 0) << "loading the foreign program: " << strerror(errno);
  testing::run_in_netns(net.agent(), [&] {
    ASSERT_EQ(bpf_xdp_attach(static_cast<int>(if_nametoindex("nobs0")), prog, XDP_FLAGS_SKB_MODE,
                             nullptr),
              0);
  });
  close(prog);  // the attachment holds the program
  ASSERT_THAT(net.agent_links(), HasSubstr("foreign_pass"));

  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs*"]
    mode: native
)");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  const std::string text = exporter.scrape();
  EXPECT_EQ(value(text, "netobs_bpf_program_attached",
                  "attach=\"xdp\",collector=\"xdp\",program=\"xdp_observe@nobs0\""),
            0)
      << text;
  // The other interface is attached as usual, and no counters exist for nobs0.
  EXPECT_EQ(value(text, "netobs_bpf_program_attached",
                  "attach=\"xdp_native\",collector=\"xdp\",program=\"xdp_observe@nobs1\""),
            1);
  EXPECT_FALSE(testing::metric_value(text, "netobs_xdp_packets_total", udp_labels("nobs0")));
  EXPECT_THAT(exporter.process().output(), HasSubstr("never replaces another XDP program"));
  EXPECT_THAT(exporter.process().output(), HasSubstr("foreign_pass"));

  exporter.process().signal(SIGTERM);
  ASSERT_EQ(exporter.process().wait(30), 0) << exporter.process().output();
  const std::string links = net.agent_links();
  EXPECT_THAT(links, HasSubstr("foreign_pass")) << "the foreign program was detached";
  EXPECT_THAT(links, Not(HasSubstr("xdp_observe")));
}

// An XDP observer attached the classic netlink way (as a netobs without XDP
// links left it), then killed: a minimal program named like ours.
int load_leftover_observer() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_observe", "GPL", insns, 2, &opts);
}

// While a live process holds the program it is not a leftover (left alone);
// once nothing holds it, the next exporter detaches it and attaches its own
// (one XDP program on the device, counting exactly).
TEST(XdpLiveTest, LeftoverXdpObserverOfAKilledExporterIsReplaced) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  const int prog = load_leftover_observer();
  ASSERT_GE(prog, 0) << "loading the program: " << strerror(errno);
  testing::run_in_netns(net.agent(), [&] {
    ASSERT_EQ(bpf_xdp_attach(static_cast<int>(if_nametoindex("nobs0")), prog, XDP_FLAGS_SKB_MODE,
                             nullptr),
              0);
  });
  const std::string config = "    enabled: true\n    interfaces: [\"nobs0\"]\n    mode: native\n";
  {
    Exporter held(net, config);  // this test process still holds the program
    ASSERT_TRUE(held.wait_ready()) << held.process().output();
    EXPECT_EQ(value(held.scrape(), "netobs_bpf_program_attached",
                    "attach=\"xdp\",collector=\"xdp\",program=\"xdp_observe@nobs0\""),
              0)
        << held.process().output();
    held.process().signal(SIGTERM);
    ASSERT_EQ(held.process().wait(30), 0);
  }
  close(prog);  // now only the attachment holds it, as after a SIGKILL
  Exporter exporter(net, config);
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  EXPECT_EQ(
      value(exporter.scrape(), "netobs_bpf_program_attached", attached_labels(kNative, "nobs0")), 1)
      << exporter.process().output();
  EXPECT_THAT(exporter.process().output(),
              HasSubstr("removed a leftover XDP program of a netobs that was killed"));
  const std::string links = net.agent_links();
  EXPECT_THAT(links, Not(HasSubstr("prog/xdpgeneric"))) << links;
  send_udp(net, ip_of(0, 1), 9001, 25, 1000);
  const std::string text =
      exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), 25);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 25) << text;
  exporter.process().signal(SIGTERM);
  ASSERT_EQ(exporter.process().wait(30), 0) << exporter.process().output();
  expect_nothing_attached(net, "nobs0");
}

// A minimal tc program (return TCX_NEXT) another tool might have on tcx.
int load_foreign_tc_program() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "foreign_tc", "GPL", insns, 2, &opts);
}

// auto on a veth: tc, next to a foreign XDP program and a foreign tcx
// program (multi-attach), both still there after SIGTERM, ours gone; the
// counts are exact with both foreign programs in the path.
TEST(XdpLiveTest, AutoUsesTcBesideForeignXdpAndTcxPrograms) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  const int xdp = load_foreign_program();
  const int tc = load_foreign_tc_program();
  ASSERT_GE(xdp, 0) << strerror(errno);
  ASSERT_GE(tc, 0) << strerror(errno);
  int tc_link = -1;
  testing::run_in_netns(net.agent(), [&] {
    const int ifindex = static_cast<int>(if_nametoindex("nobs0"));
    ASSERT_EQ(bpf_xdp_attach(ifindex, xdp, XDP_FLAGS_SKB_MODE, nullptr), 0);
    tc_link = bpf_link_create(tc, ifindex, static_cast<bpf_attach_type>(kTcxIngress), nullptr);
  });
  close(xdp);
  close(tc);
  ASSERT_GE(tc_link, 0) << "tcx attach: " << strerror(errno);
  ASSERT_EQ(tcx_programs(net.agent(), "nobs0"), 1);

  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs*"]
    sample_rate: 1
)");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  std::string text = exporter.scrape();
  EXPECT_EQ(value(text, "netobs_bpf_program_attached", attached_labels(kTc, "nobs0")), 1)
      << text << exporter.process().output();
  EXPECT_EQ(tcx_programs(net.agent(), "nobs0"), 2);
  send_udp(net, ip_of(0, 1), 9001, 30, 100);
  text = exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), 30);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 30) << text;
  EXPECT_EQ(value(text, "netobs_xdp_bytes_total", udp_labels("nobs0")), 30 * 142);

  exporter.process().signal(SIGTERM);
  ASSERT_EQ(exporter.process().wait(30), 0) << exporter.process().output();
  EXPECT_EQ(tcx_programs(net.agent(), "nobs0"), 1) << "ours left behind, or theirs removed";
  EXPECT_THAT(net.agent_links(), HasSubstr("foreign_pass"));
  close(tc_link);
  EXPECT_EQ(tcx_programs(net.agent(), "nobs0"), 0);
}

// tc through a clsact qdisc (the path of kernels without tcx, forced):
// exact counts, and SIGTERM removes our filter.
TEST(XdpLiveTest, TcThroughClsactCountsExactlyAndSigtermRemovesTheFilter) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  setenv("NETOBS_XDP_TC_CLSACT", "1", 1);  // inherited by the exporter
  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs0"]
    mode: tc
)");
  unsetenv("NETOBS_XDP_TC_CLSACT");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  EXPECT_EQ(value(exporter.scrape(), "netobs_bpf_program_attached",
                  attached_labels({"tc", "tc_observe", "tc_clsact"}, "nobs0")),
            1)
      << exporter.process().output();
  send_udp(net, ip_of(0, 1), 9001, 25, 1000);
  const std::string text =
      exporter.scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), 25);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 25) << text;
  EXPECT_EQ(value(text, "netobs_xdp_bytes_total", udp_labels("nobs0")), 25 * 1042);
  EXPECT_THAT(
      testing::run_command({"tc", "-n", net.agent(), "filter", "show", "dev", "nobs0", "ingress"})
          .output,
      HasSubstr("tc_observe"));
  exporter.process().signal(SIGTERM);
  ASSERT_EQ(exporter.process().wait(30), 0) << exporter.process().output();
  expect_nothing_attached(net, "nobs0");
}

// How many filters on `dir` (ingress/egress) of nobs0 run `program`.
int filters_running(const TestNet& net, const std::string& dir, const std::string& program) {
  const std::string text =
      testing::run_command({"tc", "-n", net.agent(), "filter", "show", "dev", "nobs0", dir}).output;
  int count = 0;
  for (size_t at = text.find(program + ":"); at != std::string::npos;
       at = text.find(program + ":", at + 1)) {
    ++count;
  }
  return count;
}

// The cls_bpf filters (clsact, the path of kernels before tcx) of the dns and
// xdp collectors outlive an exporter killed with SIGKILL; the next exporter
// recognises them (its slot, the program's name, no live process holding
// the program) and replaces them: one filter per program and hook, and the
// counts come from the new programs. A second exporter running at the same
// time is not a leftover: it stacks a filter of its own beside the first.
TEST(XdpLiveTest, ClsactFiltersOfAKilledExporterAreReplacedNotStacked) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  setenv("NETOBS_XDP_TC_CLSACT", "1", 1);  // inherited by the exporters
  setenv("NETOBS_DNS_TC_CLSACT", "1", 1);
  const auto start = [&] {
    return std::make_unique<testing::ExporterProcess>(testing::ExporterOptions{
        .collectors = {"dns", "xdp"},
        .config_yaml = "collectors:\n  xdp:\n    enabled: true\n    interfaces: [\"nobs0\"]\n"
                       "    mode: tc\n",
        .netns = net.agent()});
  };
  const auto expect_one_set = [&](const std::string& when) {
    EXPECT_EQ(filters_running(net, "ingress", "tc_observe"), 1) << when;
    EXPECT_EQ(filters_running(net, "ingress", "dns_tc_ingress"), 1) << when;
    EXPECT_EQ(filters_running(net, "egress", "dns_tc_egress"), 1) << when;
  };
  auto first = start();
  ASSERT_TRUE(first->wait_ready("/healthz", 20)) << first->output();
  expect_one_set("first exporter running");
  first->process().signal(SIGKILL);
  ASSERT_TRUE(first->process().wait(10).has_value());
  expect_one_set("after SIGKILL the filters stay");

  auto second = start();
  unsetenv("NETOBS_XDP_TC_CLSACT");
  unsetenv("NETOBS_DNS_TC_CLSACT");
  ASSERT_TRUE(second->wait_ready("/healthz", 20)) << second->output();
  expect_one_set("restarted");
  EXPECT_THAT(second->output(), HasSubstr("replaced_leftover=yes")) << second->output();
  send_udp(net, ip_of(0, 1), 9001, 25, 1000);
  const std::string text =
      second->scrape_until("netobs_xdp_packets_total", udp_labels("nobs0"), 25);
  EXPECT_EQ(value(text, "netobs_xdp_packets_total", udp_labels("nobs0")), 25) << text;

  setenv("NETOBS_XDP_TC_CLSACT", "1", 1);
  setenv("NETOBS_DNS_TC_CLSACT", "1", 1);
  auto beside = start();
  unsetenv("NETOBS_XDP_TC_CLSACT");
  unsetenv("NETOBS_DNS_TC_CLSACT");
  ASSERT_TRUE(beside->wait_ready("/healthz", 20)) << beside->output();
  EXPECT_EQ(filters_running(net, "ingress", "tc_observe"), 2) << "a live exporter's filter kept";
  EXPECT_EQ(filters_running(net, "egress", "dns_tc_egress"), 2);
  EXPECT_THAT(beside->output(), Not(HasSubstr("replaced_leftover=yes")));
  ASSERT_EQ(beside->terminate(30), 0) << beside->output();
  expect_one_set("the second exporter stopped");
  ASSERT_EQ(second->terminate(30), 0) << second->output();
  EXPECT_EQ(filters_running(net, "ingress", "tc_observe"), 0);
  EXPECT_EQ(filters_running(net, "ingress", "dns_tc_ingress"), 0);
  EXPECT_EQ(filters_running(net, "egress", "dns_tc_egress"), 0);
}

// Packets (skbs) nobs0 received, from its link statistics.
double rx_skbs(const TestNet& net) {
  const std::string json =
      testing::run_command({"ip", "-n", net.agent(), "-j", "-s", "link", "show", "nobs0"}).output;
  std::smatch m;
  if (!std::regex_search(json, m, std::regex(R"re("rx":\{"bytes":\d+,"packets":(\d+))re"))) {
    return -1;
  }
  return std::stod(m[1]);
}

// tc on a veth sees the sender's TSO super-packets (no XDP: GSO stays on):
// one bulk TCP transfer, counted per wire packet. Every packet of the
// connection from the peer crosses nobs0's ingress: our count for the port
// equals the sender's own segment count (tcpi_segs_out counts each TSO
// segment), and it exceeds the skbs the veth received. Bytes: the SYN
// (74-byte frame: MSS, SACK-permitted, timestamps, window scale) plus 66
// bytes of headers (timestamps) per other segment plus the payload and
// what was resent (a tail-loss probe, say).
TEST(XdpLiveTest, TcCountsGsoSuperPacketsAsWirePackets) {
  NETOBS_REQUIRE_ROOT();
  TestNet net;
  net.add_pair(0);
  Exporter exporter(net, R"(    enabled: true
    interfaces: ["nobs0"]
    mode: tc
    sample_rate: 1000
    filters:
      ports: [9300]
)");
  ASSERT_TRUE(exporter.wait_ready()) << exporter.process().output();
  const double skbs_before = rx_skbs(net);
  constexpr size_t kBytes = 8 << 20;
  int listener = -1;
  testing::run_in_netns(net.agent(), [&] {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(9300);
    inet_pton(AF_INET, ip_of(0, 1).c_str(), &addr.sin_addr);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listener, 4), 0);
  });
  uint32_t segs_out = 0;
  uint64_t bytes_retrans = 0;
  std::thread server([&] {
    const int fd = accept(listener, nullptr, nullptr);
    std::vector<char> buf(1 << 16);
    while (recv(fd, buf.data(), buf.size(), 0) > 0) {
    }
    close(fd);  // our FIN; the peer ACKs it
  });
  testing::run_in_netns(net.peer(), [&] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9300);
    inet_pton(AF_INET, ip_of(0, 1).c_str(), &to.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    std::vector<char> data(1 << 20, 'x');
    for (size_t sent = 0; sent < kBytes;) {
      const ssize_t n = send(fd, data.data(), std::min(data.size(), kBytes - sent), 0);
      ASSERT_GT(n, 0);
      sent += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
    char c;
    EXPECT_EQ(recv(fd, &c, 1, 0), 0);                             // the server's FIN
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // our ACK of it left
    tcp_info info{};
    socklen_t len = sizeof(info);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len), 0);
    segs_out = info.tcpi_segs_out;
    // A tail-loss probe may resend the last segment: on the wire too.
    bytes_retrans = info.tcpi_bytes_retrans;
    close(fd);
  });
  server.join();
  close(listener);
  const std::string port = "interface=\"nobs0\",port=\"9300\"";
  const std::string text = exporter.scrape_until("netobs_xdp_port_packets_total", port, segs_out);
  const double packets = value(text, "netobs_xdp_port_packets_total", port);
  EXPECT_EQ(packets, segs_out) << text;
  EXPECT_EQ(value(text, "netobs_xdp_port_bytes_total", port),
            static_cast<double>(kBytes + bytes_retrans) + 74 + (segs_out - 1) * 66.0);
  const double skbs = rx_skbs(net) - skbs_before;
  EXPECT_LT(skbs, packets / 2) << "no GSO super-packets reached tc: the test proves nothing";
  exporter.process().signal(SIGTERM);
  EXPECT_EQ(exporter.process().wait(30), 0);
}

}  // namespace
}  // namespace netobs
