// DNS answers on a blocklist, end to end: a real dnsmasq in a namespace the
// test creates answers names with a blocklisted IPv4 address, a blocklisted
// IPv6 address and a clean address; `dig` (a child of this test, in a
// client namespace joined to the server's by a veth pair) asks for them.
// The security collector watches the client namespace: each blocklisted
// answer is exactly one alert, compared whole against dig's pid and
// executable, the server that answered, the name asked and the blocklist
// line; the clean answer is looked at (counted) and gives none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <chrono>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "exporter/events/event_sink.h"
#include "tests/support/dns_message_builder.h"
#include "tests/support/line_sink.h"
#include "tests/support/packet_builder.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::run_command;
using testing::Subprocess;

constexpr char kClientIp[] = "10.78.0.1";
constexpr char kServerIp[] = "10.78.0.2";
// Crafted frames: to the MAC of the loopback device BPF_PROG_TEST_RUN uses.
constexpr char kSrcMac[] = "00:00:00:00:00:01";
constexpr char kDstMac[] = "00:00:00:00:00:00";

// A 241-byte name of four 55-letter labels: two of them in CNAME records
// make a response longer than 512 bytes.
std::string long_name(char letter) {
  const std::string label(55, letter);
  return label + "." + label + "." + label + "." + label + "." + letter + ".nb-se.test";
}

using testing::LineSink;

// dig in batch mode reading its queries from a pipe: it stays alive between
// queries, so its /proc/PID/exe is readable when the alert is written.
class Dig {
 public:
  explicit Dig(testing::Netns& ns) {
    ns.run([this] {
      int in[2], out[2];
      if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
      const pid_t pid = fork();
      if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execlp("dig", "dig", "-f", "-", static_cast<char*>(nullptr));
        _exit(127);
      }
      close(in[0]);
      close(out[1]);
      pid_ = pid;
      to_ = in[1];
      from_ = out[0];
    });
  }
  ~Dig() {
    if (to_ >= 0) close(to_);  // EOF: dig ends after the last query
    if (pid_ > 0) {
      for (int i = 0; i < 50 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_ >= 0) close(from_);
  }
  pid_t pid() const { return pid_; }

  // One query; returns dig's output for it (up to its "MSG SIZE" line).
  std::string query(const std::string& name, const std::string& type) {
    const std::string line =
        "@" + std::string(kServerIp) + " +tries=1 +time=3 " + name + " " + type + "\n";
    if (write(to_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "";
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (text.find("MSG SIZE") == std::string::npos &&
           text.find("timed out") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{.fd = from_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(from_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    // The rest of the block (the last line) arrives with it or just after.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return text;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

class SecurityDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    for (const char* tool : {"dnsmasq", "dig"}) {
      if (run_command({"sh", "-c", std::string("command -v ") + tool}, 10).exit_code != 0) {
        if (testing::running_in_ci()) FAIL() << tool << " is not installed";
        GTEST_SKIP() << tool << " is not installed (Debian: dnsmasq-base, bind9-dnsutils)";
      }
    }
    const std::string tag = std::to_string(::getpid() % 100000);
    client_ = std::make_unique<testing::Netns>("nb-se-c" + tag);
    server_ = std::make_unique<testing::Netns>("nb-se-d" + tag);
    ASSERT_EQ(client_->create(), "");
    ASSERT_EQ(server_->create(), "");
    const std::string link = "nb-se-v" + tag, peer = "nb-se-w" + tag;
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"ip", "link", "add", link, "netns", client_->name(), "type", "veth", "peer", "name",
              peer, "netns", server_->name()},
             {"ip", "-n", client_->name(), "addr", "add", std::string(kClientIp) + "/24", "dev",
              link},
             {"ip", "-n", client_->name(), "link", "set", link, "up"},
             {"ip", "-n", server_->name(), "addr", "add", std::string(kServerIp) + "/24", "dev",
              peer},
             {"ip", "-n", server_->name(), "link", "set", peer, "up"}}) {
      const auto r = run_command(argv, 20);
      ASSERT_EQ(r.exit_code, 0) << argv[1] << " " << argv[2] << ": " << r.output;
    }
    dnsmasq_ = std::make_unique<Subprocess>(std::vector<std::string>{
        "ip", "netns", "exec", server_->name(), "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
        "--port=53", "--listen-address=" + std::string(kServerIp), "--bind-interfaces",
        "--no-resolv", "--no-hosts", "--host-record=bad.nb-se.test,198.51.100.50",
        "--host-record=bad6.nb-se.test,2001:db8:bad::1", "--host-record=clean.nb-se.test,10.78.0.9",
        "--host-record=wide.nb-se.test,203.77.1.2", "--cname=big.nb-se.test," + long_name('a'),
        "--cname=" + long_name('a') + "," + long_name('b'),
        "--cname=" + long_name('b') + ",bad.nb-se.test"});
    bool ready = false;
    for (int i = 0; i < 50 && !ready; ++i) {
      ready = client_
                  ->exec({"dig", std::string("@") + kServerIp, "+tries=1", "+time=1",
                          "clean.nb-se.test", "A"})
                  .output.find("status: NOERROR") != std::string::npos;
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(ready) << dnsmasq_->output();
  }

  void TearDown() override {
    dnsmasq_.reset();
    client_.reset();  // the veth pair goes with its namespaces
    server_.reset();
  }

  std::unique_ptr<testing::Netns> client_, server_;
  std::unique_ptr<Subprocess> dnsmasq_;
};

std::vector<std::string> wait_for_lines(const LineSink& sink, size_t count) {
  for (int i = 0; i < 60 && sink.lines().size() < count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return sink.lines();
}

// The alert with its time, client port and cgroup id replaced by fixed text
// (checked separately).
std::string normalized(const std::string& line) {
  std::string out = std::regex_replace(
      line, std::regex("\"timestamp\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\""),
      "\"timestamp\":\"T\"");
  out = std::regex_replace(out, std::regex("\"net.host.port\":[1-9]\\d*,"), "\"net.host.port\":P,");
  return std::regex_replace(out, std::regex("\"netobs.cgroup.id\":[1-9]\\d*,"),
                            "\"netobs.cgroup.id\":C,");
}

// Both rungs of the DNS-answer check: tc ingress on every interface of the
// watched namespace (the default) and the socket filter (the fallback).
using DnsHook = SecurityCollectorOptions::DnsHook;
class SecurityDnsRungTest : public SecurityDnsTest, public ::testing::WithParamInterface<DnsHook> {
 protected:
  bool tc() const { return GetParam() != DnsHook::kSocketFilter; }
  // The attach kind tc interfaces report.
  std::string tc_kind() const { return GetParam() == DnsHook::kTcClsact ? "tc_clsact" : "tcx"; }
};

TEST_P(SecurityDnsRungTest, BlocklistedAnswersAreOneAlertEachAndCleanAnswersNone) {
  testing::TempDir dir;
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = client_->path();
  security.rate_limit_interval_seconds = 0;
  // Alerts compared whole: no container attributes from whatever cgroup the
  // test runs in (security_attribution_test covers them).
  security.attribution = "none";
  security.blocklists = {
      dir.write("bl.txt", "# bad hosts\n198.51.100.0/24\n2001:db8:bad::/48\n203.0.0.0/8\n")};
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink, .dns_hook = GetParam()});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  const std::string link = "nb-se-v" + std::to_string(::getpid() % 100000);
  if (tc()) {
    // Loopback too (local resolvers answer there), and only tc.
    EXPECT_EQ(collector.dns_answer_interfaces(),
              (std::map<std::string, std::string>{{"lo", tc_kind()}, {link, tc_kind()}}));
  } else {
    EXPECT_TRUE(collector.dns_answer_interfaces().empty());  // one socket on all
  }

  Dig dig(*client_);
  ASSERT_GT(dig.pid(), 0);
  const std::string pid = std::to_string(dig.pid());
  const std::string list = security.blocklists[0];
  std::string exe;
  auto expected = [&](const std::string& name, const std::string& answer, int line) {
    return "{\"timestamp\":\"T\",\"severity\":\"WARNING\",\"body\":\"DNS answer contains known "
           "bad IP\",\"attributes\":{\"network.event_type\":\"suspicious_dns_answer\","
           "\"net.peer.ip\":\"10.78.0.2\",\"net.peer.port\":53,\"process.pid\":" +
           pid + ",\"process.executable.path\":\"" + exe +
           "\",\"process.command\":\"dig\",\"network.direction\":\"inbound\",\"net.host.ip\":"
           "\"10.78.0.1\",\"net.host.port\":P,\"netobs.detection.type\":\"dns_blocklist\","
           "\"netobs.detection.matches\":\"dns_blocklist\",\"netobs.blocklist\":\"" +
           list + ":" + std::to_string(line) + "\",\"dns.question.name\":\"" + name +
           "\",\"dns.answers\":[\"" + answer +
           "\"],\"netobs.cgroup.id\":C,\"netobs.suppressed_count\":0}}\n";
  };
  const auto type_count = [&](DetectionType t) {
    return collector.snapshot().detections[static_cast<size_t>(t)];
  };

  // Clean first: looked at, no alert.
  SecuritySnapshot before = collector.snapshot();
  EXPECT_THAT(dig.query("clean.nb-se.test", "A"), ::testing::HasSubstr("10.78.0.9"));
  // dig has exec'd by now: its executable, resolved independently.
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(("/proc/" + std::to_string(dig.pid()) + "/exe").c_str(), resolved), nullptr);
  exe = resolved;
  for (int i = 0;
       i < 40 && collector.snapshot().dns_responses_checked == before.dns_responses_checked; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // an alert would be read by now
  EXPECT_EQ(collector.snapshot().dns_responses_checked, before.dns_responses_checked + 1);
  EXPECT_TRUE(sink->lines().empty()) << sink->lines().front();
  EXPECT_EQ(type_count(DetectionType::kDnsBlocklist), 0u);

  EXPECT_THAT(dig.query("bad.nb-se.test", "A"), ::testing::HasSubstr("198.51.100.50"));
  std::vector<std::string> lines = wait_for_lines(*sink, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(normalized(lines[0]), expected("bad.nb-se.test", "198.51.100.50", 2)) << lines[0];
  EXPECT_EQ(type_count(DetectionType::kDnsBlocklist), 1u);

  EXPECT_THAT(dig.query("bad6.nb-se.test", "AAAA"), ::testing::HasSubstr("2001:db8:bad::1"));
  lines = wait_for_lines(*sink, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(normalized(lines[1]), expected("bad6.nb-se.test", "2001:db8:bad::1", 3)) << lines[1];
  EXPECT_EQ(type_count(DetectionType::kDnsBlocklist), 2u);

  // A response longer than the kernel's 512-byte copy (a CNAME chain through
  // long names; dig asks with EDNS): walked in the packet instead, same alert.
  const std::string big = dig.query("big.nb-se.test", "A");
  EXPECT_THAT(big, ::testing::HasSubstr("198.51.100.50"));
  const size_t size_at = big.find("MSG SIZE  rcvd: ");
  ASSERT_NE(size_at, std::string::npos) << big;
  EXPECT_GT(std::stoi(big.substr(size_at + 16)), 512) << big;
  lines = wait_for_lines(*sink, 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(normalized(lines[2]), expected("big.nb-se.test", "198.51.100.50", 2)) << lines[2];
  EXPECT_EQ(type_count(DetectionType::kDnsBlocklist), 3u);

  // An entry shorter than /16 (the kernel's prefix bits cover its whole span).
  EXPECT_THAT(dig.query("wide.nb-se.test", "A"), ::testing::HasSubstr("203.77.1.2"));
  lines = wait_for_lines(*sink, 4);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(normalized(lines[3]), expected("wide.nb-se.test", "203.77.1.2", 4)) << lines[3];
  EXPECT_EQ(type_count(DetectionType::kDnsBlocklist), 4u);

  // No connection alerts came with them; five responses looked at.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(sink->lines().size(), 4u);
  const SecuritySnapshot after = collector.snapshot();
  EXPECT_EQ(after.dns_responses_checked, before.dns_responses_checked + 5);
  for (DetectionType t :
       {DetectionType::kBlocklist, DetectionType::kSuspiciousPort, DetectionType::kExternal}) {
    EXPECT_EQ(after.detections[static_cast<size_t>(t)], 0u) << detection_type_name(t);
  }
  if (tc()) {
    // An interface added later gets the check too.
    const std::string later = "nb-se-x" + std::to_string(::getpid() % 100000);
    const auto added =
        client_->exec({"ip", "link", "add", later, "type", "veth", "peer", "name", later + "p"});
    ASSERT_EQ(added.exit_code, 0) << added.output;
    std::map<std::string, std::string> attached;
    for (int i = 0; i < 100 && !attached.contains(later); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      attached = collector.dns_answer_interfaces();
    }
    EXPECT_EQ(attached[later], tc_kind());
  }
  auto lo_filters = [&] {
    return client_->exec({"tc", "filter", "show", "dev", "lo", "ingress"}).output;
  };
  if (GetParam() == DnsHook::kTcClsact) {
    EXPECT_THAT(lo_filters(), ::testing::HasSubstr("security_dns_an"));
  }
  collector.stop();
  if (GetParam() == DnsHook::kTcClsact) {
    // The cls_bpf filter is removed in the watched namespace, not this one.
    EXPECT_THAT(lo_filters(), ::testing::Not(::testing::HasSubstr("security_dns")));
  }
}

// Responses over loopback (a local resolver): tc sees each one once, at lo
// ingress, and the socket filter skips the outgoing copy: one check and
// one alert per response, over IPv4 and IPv6.
TEST_P(SecurityDnsRungTest, LoopbackResponsesAreCheckedOnce) {
  testing::TempDir dir;
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = client_->path();
  security.rate_limit_interval_seconds = 0;
  security.attribution = "none";
  security.blocklists = {dir.write("bl.txt", "198.51.100.0/24\n2001:db8:bad::/48\n")};
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink, .dns_hook = GetParam()});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  const uint64_t checked = collector.snapshot().dns_responses_checked;

  // From [::1]:53 / 127.0.0.1:53 to a socket on the same address.
  auto exchange = [&](int family, const char* address, const std::string& answer) {
    return client_->run([&] {
      const int server = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int client = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_storage from{}, to{};
      socklen_t size = 0;
      if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&from);
        a->sin_family = AF_INET;
        a->sin_port = htons(53);
        inet_pton(AF_INET, address, &a->sin_addr);
        size = sizeof(sockaddr_in);
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&from);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(53);
        inet_pton(AF_INET6, address, &a->sin6_addr);
        size = sizeof(sockaddr_in6);
      }
      to = from;
      reinterpret_cast<sockaddr_in*>(&to)->sin_port = 0;  // same offset in sockaddr_in6
      bool received = false;
      testing::DnsMessageBuilder dns;
      dns.id(7).response().question("lo.nb-se.test", family == AF_INET ? testing::kDnsA : 28);
      if (family == AF_INET) dns.answer_a("lo.nb-se.test", answer);
      if (family == AF_INET6) dns.answer_aaaa("lo.nb-se.test", answer);
      const std::vector<uint8_t> message = dns.build();
      if (bind(server, reinterpret_cast<sockaddr*>(&from), size) == 0 &&
          bind(client, reinterpret_cast<sockaddr*>(&to), size) == 0 &&
          getsockname(client, reinterpret_cast<sockaddr*>(&to), &size) == 0 &&
          sendto(server, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 size) == static_cast<ssize_t>(message.size())) {
        char buf[512];
        pollfd p{.fd = client, .events = POLLIN, .revents = 0};
        received = poll(&p, 1, 3000) == 1 && recv(client, buf, sizeof buf, 0) > 12;
      }
      close(server);
      close(client);
      return received;
    });
  };
  ASSERT_TRUE(exchange(AF_INET, "127.0.0.1", "198.51.100.7"));
  ASSERT_TRUE(exchange(AF_INET6, "::1", "2001:db8:bad::7"));
  const std::vector<std::string> lines = wait_for_lines(*sink, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a second copy would be in
  ASSERT_EQ(sink->lines().size(), 2u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr("\"dns.answers\":[\"198.51.100.7\"]"));
  EXPECT_THAT(lines[0], ::testing::HasSubstr("\"net.peer.ip\":\"127.0.0.1\""));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"dns.answers\":[\"2001:db8:bad::7\"]"));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"net.peer.ip\":\"::1\""));
  EXPECT_EQ(collector.snapshot().dns_responses_checked, checked + 2);
  collector.stop();

  // lo left out (network.exclude_interfaces): its responses are not looked at.
  config.network.exclude_interfaces = {"lo"};
  auto excluded_sink = std::make_shared<LineSink>();
  SecurityCollector excluded({.event_sink = excluded_sink, .dns_hook = GetParam()});
  started = excluded.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  EXPECT_FALSE(excluded.dns_answer_interfaces().contains("lo"));
  const std::string link = "nb-se-v" + std::to_string(::getpid() % 100000);
  EXPECT_EQ(excluded.dns_answer_interfaces()[link], tc() ? tc_kind() : "socket_filter");
  ASSERT_TRUE(exchange(AF_INET, "127.0.0.1", "198.51.100.7"));
  ASSERT_TRUE(exchange(AF_INET6, "::1", "2001:db8:bad::7"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // an alert would be in
  EXPECT_TRUE(excluded_sink->lines().empty());
  EXPECT_EQ(excluded.snapshot().dns_responses_checked, 0u);
  excluded.stop();
}

INSTANTIATE_TEST_SUITE_P(Hooks, SecurityDnsRungTest,
                         ::testing::Values(DnsHook::kTc, DnsHook::kTcClsact,
                                           DnsHook::kSocketFilter),
                         [](const ::testing::TestParamInfo<DnsHook>& info) {
                           return std::string(info.param == DnsHook::kTc         ? "tcx"
                                              : info.param == DnsHook::kTcClsact ? "tc_clsact"
                                                                                 : "socket_filter");
                         });

// A process pinned to CPU `cpu` that, each time it is asked, sends one
// query for bad.nb-se.test from `port` (a UDP socket bound to it and
// connected to the server, as resolvers do; closed after the answer).
class PortSender {
 public:
  PortSender(testing::Netns& ns, uint16_t port, int cpu, const std::string& cgroup_dir = "") {
    ns.run([&] {
      int go[2], done[2];
      if (pipe2(go, O_CLOEXEC) != 0 || pipe2(done, O_CLOEXEC) != 0) return;
      const pid_t pid = fork();
      if (pid == 0) {
        close(go[1]);  // no exec: the ends the parent keeps must go here
        close(done[0]);
        if (!cgroup_dir.empty()) {
          std::ofstream(cgroup_dir + "/cgroup.procs") << ::getpid() << std::flush;
        }
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
        char command;
        while (read(go[0], &command, 1) == 1) {
          const char answered = query_once(port);
          if (write(done[1], &answered, 1) != 1) break;
        }
        _exit(0);
      }
      close(go[0]);
      close(done[1]);
      pid_ = pid;
      go_ = go[1];
      done_ = done[0];
    });
  }
  ~PortSender() {
    if (go_ >= 0) close(go_);  // EOF ends the process
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
    if (done_ >= 0) close(done_);
  }
  pid_t pid() const { return pid_; }
  // One query; true once it was answered (the socket is closed by then).
  bool query() {
    const char command = 'q';
    if (write(go_, &command, 1) != 1) return false;
    pollfd p{.fd = done_, .events = POLLIN, .revents = 0};
    char answered = 0;
    return poll(&p, 1, 10000) == 1 && read(done_, &answered, 1) == 1 && answered == 1;
  }

 private:
  static char query_once(uint16_t port) {
    char answered = 0;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in local{.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {}};
    sockaddr_in server{.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = {}};
    inet_pton(AF_INET, kClientIp, &local.sin_addr);
    inet_pton(AF_INET, kServerIp, &server.sin_addr);
    const std::vector<uint8_t> message = testing::DnsMessageBuilder()
                                             .id(static_cast<uint16_t>(port))
                                             .question("bad.nb-se.test", testing::kDnsA)
                                             .build();
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
        connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0 &&
        send(fd, message.data(), message.size(), 0) == static_cast<ssize_t>(message.size())) {
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      char buf[512];
      answered = poll(&p, 1, 3000) == 1 && recv(fd, buf, sizeof buf, 0) > 12;
    }
    close(fd);
    return answered;
  }

  pid_t pid_ = -1;
  int go_ = -1, done_ = -1;
};

// The cgroup id of a process, independently of the kernel program: the
// inode of its cgroup v2 directory; 0 when unknown.
uint64_t cgroup_inode(pid_t pid) {
  Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  struct stat st {};
  while (mount && std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0 && ::stat((*mount + line.substr(3)).c_str(), &st) == 0)
      return st.st_ino;
  }
  return 0;
}

// Queries from one client port by two processes in turn, each pinned to its
// own CPU (when there are two): each alert names the process that sent the
// query it answers, not the one the port had before (the kernel keeps who
// sent from a port, and skips the table when the sender has not changed).
TEST_F(SecurityDnsTest, QueriesFromOnePortByProcessesInTurnAreEachAttributedToTheirSender) {
  testing::TempDir dir;
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = client_->path();
  security.rate_limit_interval_seconds = 0;
  security.attribution = "none";
  security.blocklists = {dir.write("bl.txt", "198.51.100.0/24\n")};
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();

  const uint16_t port = static_cast<uint16_t>(41000 + ::getpid() % 1000);
  const int cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  // A, B, A, A, B: the third is A again after B took the port on another
  // CPU (what A's CPU remembers of the port is stale by then); the fourth
  // repeats the third.
  // B in a cgroup of its own (the alert's cgroup id is the sender's).
  Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
  ASSERT_TRUE(mount) << mount.message();
  const std::string cgroup_dir = *mount + "/nb-se-dns-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(cgroup_dir.c_str(), 0755), 0) << cgroup_dir;
  struct RemoveCgroup {
    std::string dir;
    ~RemoveCgroup() { ::rmdir(dir.c_str()); }
  } remove_cgroup{cgroup_dir};  // after the senders (declared below) have ended
  PortSender a(*client_, port, 0), b(*client_, port, 1 % cpus, cgroup_dir);
  ASSERT_GT(a.pid(), 0);
  ASSERT_GT(b.pid(), 0);
  const std::vector<PortSender*> turns = {&a, &b, &a, &a, &b};
  for (size_t i = 0; i < turns.size(); ++i) {
    ASSERT_TRUE(turns[i]->query()) << "query " << i << " got no answer";
    const std::vector<std::string> lines = wait_for_lines(*sink, i + 1);
    ASSERT_EQ(lines.size(), i + 1);
    EXPECT_THAT(lines[i],
                ::testing::HasSubstr("\"process.pid\":" + std::to_string(turns[i]->pid()) + ","))
        << "query " << i << ": " << lines[i];
    EXPECT_THAT(lines[i], ::testing::HasSubstr("\"net.host.port\":" + std::to_string(port) + ","));
    const uint64_t cgroup = cgroup_inode(turns[i]->pid());
    ASSERT_NE(cgroup, 0u);
    if (turns[i] == &b) {
      EXPECT_NE(cgroup, cgroup_inode(a.pid()));
    }
    EXPECT_THAT(lines[i],
                ::testing::HasSubstr("\"netobs.cgroup.id\":" + std::to_string(cgroup) + ","));
  }
  collector.stop();
}

// The answer filter on crafted packets (BPF_PROG_TEST_RUN): IPv6 and IPv4
// transport, which the live test above does not both cover. A blocklisted
// answer is one alert naming the server, the client and the name; a clean
// one is counted only; packets not from the DNS port, queries and IPv4 with
// options are not looked at. Both programs: the socket filter and tc (the
// same packets: the socket filter sees them from the IP header, tc from the
// Ethernet header, addressed to the test device's MAC, 0).
class SecurityDnsFilterTest : public ::testing::TestWithParam<bool> {};

TEST_P(SecurityDnsFilterTest, ResponsesOverIpv6AndIpv4AreCheckedAndOthersNot) {
  NETOBS_REQUIRE_ROOT();
  const bool tc = GetParam();
  // Watching a namespace of the test's own: tc attaches to its interfaces.
  testing::Netns ns("nb-se-f" + std::to_string(::getpid() % 100000));
  ASSERT_EQ(ns.create(), "");
  testing::TempDir dir;
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.rate_limit_interval_seconds = 0;
  security.attribution = "none";
  security.network_namespace = ns.path();
  security.blocklists = {dir.write("bl.txt", "198.51.100.0/24\n2001:db8:bad::/48\n")};
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink,
                               .dns_hook = tc ? SecurityCollectorOptions::DnsHook::kTc
                                              : SecurityCollectorOptions::DnsHook::kSocketFilter});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  const int prog = collector.dns_answer_prog_fd(tc);
  ASSERT_GE(prog, 0);
  auto run = [&](const std::vector<uint8_t>& packet) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_size_in = static_cast<__u32>(packet.size()), .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(prog, &opts), 0);
    // The socket filter queues nothing; tc passes every packet on (TCX_NEXT).
    EXPECT_EQ(opts.retval, tc ? static_cast<__u32>(-1) : 0u);
  };
  auto response = [](const std::string& answer_kind, const std::string& address) {
    testing::DnsMessageBuilder dns;
    dns.id(9).response().question("x.nb-se.test", answer_kind == "A" ? testing::kDnsA : 28);
    dns.answer_a("x.nb-se.test", "10.0.0.1");  // clean, walked past first
    if (answer_kind == "A") dns.answer_a("x.nb-se.test", address);
    if (answer_kind == "AAAA") dns.answer_aaaa("x.nb-se.test", address);
    return dns.compress().build();
  };
  // UDP from the server (…53) to the client (…10), by family.
  auto over = [](bool ipv6, uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
    testing::PacketBuilder packet;
    packet.eth(kSrcMac, kDstMac);
    if (ipv6) {
      packet.ipv6("2001:db8::53", "2001:db8::10");
    } else {
      packet.ipv4("192.0.2.53", "192.0.2.10");
    }
    return packet.udp(sport, dport).payload(payload).build();
  };
  auto over_ipv6 = [&](uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
    return over(true, sport, dport, payload);
  };
  auto over_ipv4 = [&](uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
    return over(false, sport, dport, payload);
  };
  const uint64_t checked = collector.snapshot().dns_responses_checked;

  // Over IPv6: a bad AAAA answer, then a bad A answer.
  run(over_ipv6(53, 40001, response("AAAA", "2001:db8:bad::7")));
  std::vector<std::string> lines = wait_for_lines(*sink, 1);
  ASSERT_EQ(lines.size(), 1u);
  for (const char* part : {"\"net.peer.ip\":\"2001:db8::53\",\"net.peer.port\":53,",
                           "\"net.host.ip\":\"2001:db8::10\"", "\"net.host.port\":40001,",
                           "\"dns.question.name\":\"x.nb-se.test\"",
                           "\"dns.answers\":[\"2001:db8:bad::7\"]", "bl.txt:2\""}) {
    EXPECT_THAT(lines[0], ::testing::HasSubstr(part));
  }
  run(over_ipv6(53, 40002, response("A", "198.51.100.9")));
  lines = wait_for_lines(*sink, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"dns.answers\":[\"198.51.100.9\"]"));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"net.host.port\":40002,"));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("bl.txt:1\""));

  // Over IPv4: bad, then clean (counted, no alert).
  run(over_ipv4(53, 40003, response("A", "198.51.100.10")));
  lines = wait_for_lines(*sink, 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], ::testing::HasSubstr("\"net.peer.ip\":\"192.0.2.53\""));
  EXPECT_THAT(lines[2], ::testing::HasSubstr("\"dns.answers\":[\"198.51.100.10\"]"));
  run(over_ipv4(53, 40004, response("A", "10.0.0.2")));
  EXPECT_EQ(collector.snapshot().dns_responses_checked, checked + 4);

  // Not looked at: the same bad response from another port, as a query, and
  // in an IPv4 packet with options (not parsed).
  run(over_ipv6(5353, 40005, response("AAAA", "2001:db8:bad::7")));
  testing::DnsMessageBuilder query;
  query.id(9).question("x.nb-se.test", testing::kDnsA).answer_a("x.nb-se.test", "198.51.100.9");
  run(over_ipv4(53, 40006, query.build()));
  testing::Ipv4Options with_options;
  with_options.options = {1, 1, 1, 0};  // NOPs and the end of options
  run(testing::PacketBuilder()
          .eth(kSrcMac, kDstMac)
          .ipv4("192.0.2.53", "192.0.2.10", with_options)
          .udp(53, 40007)
          .payload(response("A", "198.51.100.11"))
          .build());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // an alert would be read by now
  EXPECT_EQ(sink->lines().size(), 3u);
  EXPECT_EQ(collector.snapshot().dns_responses_checked, checked + 4);
  collector.stop();
}

INSTANTIATE_TEST_SUITE_P(Hooks, SecurityDnsFilterTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "tc" : "socket_filter");
                         });

}  // namespace
}  // namespace netobs
