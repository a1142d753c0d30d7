// security collector benchmark (root; run by tests/bench/run.sh, figures
// quoted in collectors/security/README.md): the per-event cost of the
// inet_sock_set_state program as a ratio to an empty tp_btf program on the
// same hook, both attached at once and measured in the same run with the
// kernel's BPF run-time stats, under loopback connection churn inside a
// namespace the benchmark creates (and deletes at exit). The rules are
// realistic: 10 000 blocklist entries, suspicious ports, external alerts.
// arg 0: no connection matches (the common case); arg 1: every connect
// matches a suspicious port and goes through the ring buffer (the user-space
// rate limit keeps the alert output to one).
//   build/tests/bench/security_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench_baseline.h"
#include "bench_support.h"
#include "packet_baseline.skel.h"
#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "config/config.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "tests/support/dns_message_builder.h"
#include "tests/support/packet_builder.h"

namespace netobs {
namespace {

using Clock = std::chrono::steady_clock;
using testing::DnsMessageBuilder;
using testing::kDnsA;
using testing::PacketBuilder;

int run(const std::string& command) { return std::system(command.c_str()); }

constexpr uint16_t kPort = 9411;

// The benchmark's own namespace, entered by the whole process.
class BenchNetns {
 public:
  BenchNetns() : name_("nb-sec-bench" + std::to_string(getpid())) {
    run("ip netns del " + name_ + " 2>/dev/null");
    if (run("ip netns add " + name_) != 0) return;
    int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0 && run("ip link set lo up") == 0;
    if (fd >= 0) ::close(fd);
  }
  ~BenchNetns() {
    run("ip netns del " + name_ + " 2>/dev/null");
    if (!blocklist_.empty()) ::unlink(blocklist_.c_str());
  }
  bool ok() const { return ok_; }
  std::string path() const { return "/run/netns/" + name_; }
  // 10 000 entries outside anything the benchmark dials (IPv4 /32 and /24, IPv6 /64).
  const std::string& blocklist() {
    if (!blocklist_.empty()) return blocklist_;
    blocklist_ = "/tmp/" + name_ + "-blocklist.txt";
    std::ofstream out(blocklist_);
    for (int i = 0; i < 8000; ++i) {
      out << "45." << (i >> 8) << '.' << (i & 255) << (i % 2 ? ".0/24\n" : ".1\n");
    }
    for (int i = 0; i < 2000; ++i) out << "2a05:" << std::hex << i << std::dec << "::/64\n";
    return blocklist_;
  }

 private:
  std::string name_;
  std::string blocklist_;
  bool ok_ = false;
};

BenchNetns& bench_netns() {
  static BenchNetns netns;
  return netns;
}

// Up to `count` loopback connections (connect, accept, reset), at most
// `seconds` long; returns how many were made.
uint64_t churn(uint64_t count, double seconds) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kPort);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 128) != 0) {
    close(listener);
    return 0;
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  uint64_t made = 0;
  const linger reset{.l_onoff = 1, .l_linger = 0};  // no TIME_WAIT pile-up
  while (made < count && Clock::now() < deadline) {
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      int server = accept(listener, nullptr, nullptr);
      setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      close(client);
      if (server >= 0) close(server);
      ++made;
    } else {
      close(client);
    }
  }
  close(listener);
  return made;
}

void BM_SetStateCost(benchmark::State& state) {
  if (!bench_netns().ok()) {
    state.SkipWithError("needs root: ip netns failed");
    return;
  }
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.external_connection_alerts = true;
  security.blocklists = {bench_netns().blocklist()};
  security.suspicious_ports = {4444, 31337, 1337, 6667};
  if (state.range(0) == 1) security.suspicious_ports.push_back(kPort);
  PreflightReport preflight = run_preflight();
  SecurityCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines({"inet_sock_set_state_empty"});
  bpf_program* empty =
      baseline ? baseline_program(*baseline, "inet_sock_set_state_empty") : nullptr;
  LinkPtr empty_link(empty ? bpf_program__attach(empty) : nullptr);
  if (!empty_link) {
    state.SkipWithError("cannot load the empty tp_btf/inet_sock_set_state program");
    return;
  }
  const int empty_fd = bpf_program__fd(empty);
  const int real_fd = collector.bpf_status().programs.at(0).prog_fd;
  Result<ProgramRuntime> real_before = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_before = read_program_runtime(empty_fd);
  uint64_t made = 0;
  for (auto _ : state) made += churn(20000, 20);
  Result<ProgramRuntime> real_after = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_after = read_program_runtime(empty_fd);
  if (!real_before || !empty_before || !real_after || !empty_after) {
    state.SkipWithError("cannot read BPF run-time stats");
    return;
  }
  const double real_ns = bench::ns_per_run(*real_before, *real_after);
  const double empty_ns = bench::ns_per_run(*empty_before, *empty_after);
  const SecuritySnapshot snap = collector.snapshot();
  state.counters["connections"] = static_cast<double>(made);
  state.counters["events"] = static_cast<double>(bench::runs_between(*real_before, *real_after));
  state.counters["checked"] = static_cast<double>(snap.connections_checked);
  state.counters["blocklist_entries"] = static_cast<double>(snap.blocklist_entries);
  state.counters["set_state_ns"] = real_ns;
  state.counters["empty_ns"] = empty_ns;
  state.counters["ratio"] = empty_ns > 0 ? real_ns / empty_ns : 0;
}
BENCHMARK(BM_SetStateCost)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

// The DNS-answer check against the empty program on its hook, each timed
// by BPF_PROG_TEST_RUN (the kernel's average over `repeat` runs) on the same
// packet in the same iteration. First arg 0: a non-DNS UDP packet (what
// most received packets cost); 1: a response with one clean A answer; 2:
// four clean A answers. Second arg 0: the socket filter against
// packet_baseline.bpf.c's dns_empty; 1: the tc program against tc_empty.
// With the same 10 000 blocklist entries as above. Frames go to MAC 0 (the
// test device's): tc skips frames for another host.
std::vector<uint8_t> bench_packet(int kind) {
  constexpr char kSrcMac[] = "00:00:00:00:00:01", kDstMac[] = "00:00:00:00:00:00";
  if (kind == 0) {
    return PacketBuilder()
        .eth(kSrcMac, kDstMac)
        .ipv4("192.0.2.10", "192.0.2.20")
        .udp(40000, 443)
        .payload(std::vector<uint8_t>(64, 0xAB))
        .build();
  }
  DnsMessageBuilder dns;
  dns.id(7).response().question("bench.example.com", kDnsA);
  for (int i = 0; i < (kind == 1 ? 1 : 4); ++i) {
    dns.answer_a("bench.example.com", "10.0.0." + std::to_string(i + 1));
  }
  return PacketBuilder()
      .eth(kSrcMac, kDstMac)
      .ipv4("192.0.2.53", "192.0.2.10")
      .udp(53, 40000)
      .payload(dns.compress().build())
      .build();
}

double test_run_ns(int prog, const std::vector<uint8_t>& packet, int repeat) {
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
              .data_size_in = static_cast<__u32>(packet.size()), .repeat = repeat);
  if (bpf_prog_test_run_opts(prog, &opts) != 0) return -1;
  return opts.duration;
}

void BM_DnsAnswerCost(benchmark::State& state) {
  if (!bench_netns().ok()) {
    state.SkipWithError("needs root: ip netns failed");
    return;
  }
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.blocklists = {bench_netns().blocklist()};
  PreflightReport preflight = run_preflight();
  SecurityCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  SkeletonPtr<packet_baseline_bpf> baseline = open_skeleton<packet_baseline_bpf>();
  if (!baseline || packet_baseline_bpf::load(baseline.get()) != 0) {
    state.SkipWithError("cannot load packet_baseline.bpf.o");
    return;
  }
  const bool tc = state.range(1) == 1;
  const int empty = bpf_program__fd(tc ? baseline->progs.tc_empty : baseline->progs.dns_empty);
  const int real = collector.dns_answer_prog_fd(tc);
  const std::vector<uint8_t> packet = bench_packet(static_cast<int>(state.range(0)));
  const uint64_t checked_before = collector.snapshot().dns_responses_checked;
  constexpr int kRepeat = 100000;
  double real_ns = 0, empty_ns = 0;
  int rounds = 0;
  for (auto _ : state) {
    const double r = test_run_ns(real, packet, kRepeat);
    const double e = test_run_ns(empty, packet, kRepeat);
    if (r < 0 || e < 0) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    real_ns += r;
    empty_ns += e;
    ++rounds;
  }
  state.counters["dns_filter_ns"] = real_ns / rounds;
  state.counters["empty_ns"] = empty_ns / rounds;
  state.counters["ratio"] = empty_ns > 0 ? real_ns / empty_ns : 0;
  // The responses were really walked (not skipped as non-DNS).
  state.counters["checked"] =
      static_cast<double>(collector.snapshot().dns_responses_checked - checked_before);
}
BENCHMARK(BM_DnsAnswerCost)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->Iterations(10)
    ->Unit(benchmark::kMicrosecond);

// The query-sender program on sock_send_length (loaded with the DNS-answer
// filter) against an empty tp_btf program on the same hook, both attached,
// BPF run-time stats over the same sends. arg 0: UDP sends to a non-DNS
// port (every other send on the machine: one compare); arg 1: to port 53
// (each query: the dns_clients update).
void BM_DnsClientCost(benchmark::State& state) {
  if (!bench_netns().ok()) {
    state.SkipWithError("needs root: ip netns failed");
    return;
  }
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.blocklists = {bench_netns().blocklist()};
  PreflightReport preflight = run_preflight();
  SecurityCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  int real_fd = -1;
  for (const BpfProgramStatus& p : collector.bpf_status().programs) {
    if (p.program == "sock_send_length") real_fd = p.prog_fd;  // the ladder name
  }
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines({"on_send_empty"});
  LinkPtr empty_link(baseline ? bpf_program__attach_trace(baseline->progs.on_send_empty) : nullptr);
  if (real_fd < 0 || !empty_link) {
    state.SkipWithError("sock_send_length programs not attached");
    return;
  }
  const int empty_fd = bpf_program__fd(baseline->progs.on_send_empty);
  const uint16_t port = state.range(0) == 1 ? 53 : 9412;
  const int sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(sink, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      connect(sender, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    state.SkipWithError("cannot set up the UDP sockets");
    close(sink);
    close(sender);
    return;
  }
  Result<ProgramRuntime> real_before = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_before = read_program_runtime(empty_fd);
  const char byte = 0;
  for (auto _ : state) {
    for (int i = 0; i < 200000; ++i) (void)!send(sender, &byte, 1, MSG_DONTWAIT);
  }
  Result<ProgramRuntime> real_after = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_after = read_program_runtime(empty_fd);
  close(sink);
  close(sender);
  if (!real_before || !empty_before || !real_after || !empty_after) {
    state.SkipWithError("cannot read BPF run-time stats");
    return;
  }
  const double real_ns = bench::ns_per_run(*real_before, *real_after);
  const double empty_ns = bench::ns_per_run(*empty_before, *empty_after);
  state.counters["events"] = static_cast<double>(bench::runs_between(*real_before, *real_after));
  state.counters["send_length_ns"] = real_ns;
  state.counters["empty_ns"] = empty_ns;
  state.counters["ratio"] = empty_ns > 0 ? real_ns / empty_ns : 0;
}
BENCHMARK(BM_DnsClientCost)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
