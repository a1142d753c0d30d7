// drops collector benchmark (root; run by hand, figures quoted in
// collectors/drops/README.md): the per-event cost of the kfree_skb program
// as a ratio to an empty tp_btf program on the same hook, both attached at
// once and measured in the same run with the kernel's BPF run-time stats,
// under an nftables drop flood: UDP datagrams to a port an input rule drops,
// inside a network namespace the benchmark creates (and deletes at exit).
// Every flood is bounded in count and time. Also the scrape cost with many
// keys in the map.
//   build/tests/bench/drops_bench --benchmark_repetitions=5
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
#include <string>

#include "collectors/drops/drops_collector.h"
#include "collectors/drops/drops_config.h"
#include "config/config.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "bench_baseline.h"
#include "bench_support.h"

namespace netobs {
namespace {

using Clock = std::chrono::steady_clock;

// The benchmark's own namespace, entered by the whole process, with an
// nftables rule that drops UDP to kPort.
constexpr uint16_t kPort = 9301;

bench::BenchNetns& bench_netns() {
  static bench::BenchNetns netns(
      "nobsdropsbench",
      "nft add table inet nobsbench && nft add chain inet nobsbench input "
      "'{ type filter hook input priority 0; policy accept; }' && nft add rule inet "
      "nobsbench input udp dport " +
          std::to_string(kPort) + " drop");
  return netns;
}

// A port with a UDP socket that never reads, its receive buffer the
// smallest: datagrams to it are dropped by the socket layer
// (SOCKET_RCVBUFF), with the socket known (attribution applies).
constexpr uint16_t kFullSocketPort = 9302;

// Sends up to `count` datagrams to `port`, at most `seconds` long.
uint64_t flood(uint64_t count, double seconds, uint16_t port = kPort) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  uint64_t sent = 0;
  char payload[32] = {};
  while (sent < count && (sent % 1024 != 0 || Clock::now() < deadline)) {
    if (sendto(fd, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) {
      ++sent;
    }
  }
  close(fd);
  return sent;
}

// ns/event of the real program and of the empty one, and their ratio. arg 0:
// every namespace (the default), arg 1: filtered to the benchmark's namespace
// (events of the namespace do the full work, the others stop at the filter),
// arg 2: with the opt-in local_port label (probe reads of the port).
// Args 3 and 4: a receive-buffer flood (drops whose socket is known), with
// attribution none (3) and cgroup (4): the cost of the socket's cgroup id
// and the per-cgroup hash.
void BM_DropCost(benchmark::State& state) {
  if (!bench_netns().ok()) {
    state.SkipWithError("needs root: ip netns / nft failed");
    return;
  }
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  Config config = default_config();
  if (state.range(0) == 1) config.collector<DropsConfig>().network_namespace = bench_netns().path();
  if (state.range(0) == 2) config.collector<DropsConfig>().local_port_labels = true;
  if (state.range(0) == 4) config.collector<DropsConfig>().attribution = "cgroup";
  const bool socket_drops = state.range(0) >= 3;
  int full_socket = -1;
  if (socket_drops) {
    full_socket = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int tiny = 1;
    setsockopt(full_socket, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(kFullSocketPort);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(full_socket, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      state.SkipWithError("cannot bind the full socket");
      return;
    }
  }
  PreflightReport preflight = run_preflight();
  DropsCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines({"kfree_skb_empty"});
  bpf_program* empty = baseline ? baseline_program(*baseline, "kfree_skb_empty") : nullptr;
  LinkPtr empty_link(empty ? bpf_program__attach(empty) : nullptr);
  if (!empty_link) {
    state.SkipWithError("cannot load the empty tp_btf/kfree_skb program");
    return;
  }
  const int empty_fd = bpf_program__fd(empty);
  const int real_fd = collector.bpf_status().programs.at(0).prog_fd;
  Result<ProgramRuntime> real_before = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_before = read_program_runtime(empty_fd);
  uint64_t sent = 0;
  for (auto _ : state) sent += flood(500000, 20, socket_drops ? kFullSocketPort : kPort);
  if (full_socket >= 0) close(full_socket);
  Result<ProgramRuntime> real_after = read_program_runtime(real_fd);
  Result<ProgramRuntime> empty_after = read_program_runtime(empty_fd);
  if (!real_before || !empty_before || !real_after || !empty_after) {
    state.SkipWithError("cannot read BPF run-time stats");
    return;
  }
  const double real_ns = bench::ns_per_run(*real_before, *real_after);
  const double empty_ns = bench::ns_per_run(*empty_before, *empty_after);
  state.counters["drops"] = static_cast<double>(sent);
  state.counters["events"] = static_cast<double>(bench::runs_between(*real_before, *real_after));
  state.counters["kfree_skb_ns"] = real_ns;
  state.counters["empty_ns"] = empty_ns;
  state.counters["ratio"] = empty_ns > 0 ? real_ns / empty_ns : 0;
}
BENCHMARK(BM_DropCost)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Arg(4)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// One scrape (snapshot + render) of every drop on the machine since start
// (the flood adds a key; the 256-slot overflow array is read every time).
void BM_Scrape(benchmark::State& state) {
  if (!bench_netns().ok()) {
    state.SkipWithError("needs root: ip netns / nft failed");
    return;
  }
  Config config = default_config();
  PreflightReport preflight = run_preflight();
  DropsCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  flood(1000, 5);
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    benchmark::DoNotOptimize(collector.collect(families));
  }
}
BENCHMARK(BM_Scrape)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
