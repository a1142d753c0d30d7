// flows collector benchmark (root; run by tests/bench/run.sh, figures quoted
// in collectors/flows/README.md): per-event cost of each of its BPF programs
// (sock:inet_sock_set_state, tcp:tcp_send_reset, tcp:tcp_receive_reset) as a
// ratio to an empty tp_btf program on the same hook, both attached at once and
// measured in the same run with the kernel's BPF stats, under connection
// churn on loopback: 3000 connections that exchange a few bytes and close
// (half of them aborted with SO_LINGER 0, a reset each way). Arg 0: no
// services; arg 1: 200 services entries (an LPM lookup per new connection);
// arg 2: no services, the connections spread round-robin over 128 server
// addresses (127.0.0.1-128), so 256 edges in rotation: as many as the
// kernel's per-CPU cache of recent edges has entries (direct-mapped, so
// collisions miss), and the edges' memory is cold: the worst case.
// The process runs in a network namespace of its own (unshare), so the
// churn is the only traffic the programs see.
//   build/tests/bench/flows_bench
#include <benchmark/benchmark.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bench_baseline.h"
#include "bench_support.h"
#include "collectors/flows/flows_collector.h"
#include "collectors/flows/flows_config.h"
#include "config/config.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

// The whole process moves into a new network namespace once, with lo up.
bool own_netns() {
  static const bool ok = ::unshare(CLONE_NEWNET) == 0 && std::system("ip link set lo up") == 0;
  return ok;
}

using bench::HookPair;
using bench::loopback;

// `servers` > 1: the listener takes every address, and connection i goes to
// 127.0.0.(1 + i % servers).
void churn(int connections, uint16_t port, int servers = 1) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(port);
  if (servers > 1) addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1024) != 0) {
    close(listener);
    return;
  }
  char byte[64] = {};
  for (int i = 0; i < connections; ++i) {
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK + static_cast<uint32_t>(i % servers));
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(client);
      continue;
    }
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    send(client, byte, sizeof byte, MSG_NOSIGNAL);
    recv(server, byte, sizeof byte, 0);
    if (i % 2 == 0) {
      linger abort{1, 0};
      setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    close(client);
    close(server);
  }
  close(listener);
}

void BM_FlowsPerEventCost(benchmark::State& state) {
  if (geteuid() != 0 || !own_netns()) {
    state.SkipWithError("needs root (BPF, a network namespace)");
    return;
  }
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  Config config = default_config();
  FlowsConfig& flows = config.collector<FlowsConfig>();
  flows.common.enabled = true;
  flows.network_namespace = "/proc/self/ns/net";
  if (state.range(0) == 1) {
    for (int i = 0; i < 200; ++i) {
      flows.services.push_back("svc" + std::to_string(i) + "=10." + std::to_string(i) + ".0.0/16");
    }
  }
  const PreflightReport preflight = run_preflight();
  FlowsCollector collector;
  if (Status s = collector.start({config, preflight}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  const std::vector<HookPair> pairs = {{"inet_sock_set_state", "inet_sock_set_state_empty"},
                                       {"tcp_send_reset", "tcp_send_reset_empty"},
                                       {"tcp_receive_reset", "tcp_receive_reset_empty"}};
  std::vector<std::string> empties;
  for (const HookPair& p : pairs) empties.push_back(p.empty);
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines(empties);
  if (!baseline) {
    state.SkipWithError("loading bench_baseline.bpf.o failed");
    return;
  }
  std::vector<LinkPtr> links;
  std::vector<int> fds;  // real, empty per pair
  const BpfStatus status = collector.bpf_status();
  for (const HookPair& p : pairs) {
    int real_fd = -1;
    for (const BpfProgramStatus& program : status.programs) {
      if (program.program == p.real) real_fd = program.prog_fd;
    }
    bpf_program* empty = baseline_program(*baseline, p.empty);
    links.emplace_back(empty ? bpf_program__attach(empty) : nullptr);
    if (real_fd < 0 || !links.back()) {
      state.SkipWithError("cannot find or attach a program pair");
      return;
    }
    fds.push_back(real_fd);
    fds.push_back(bpf_program__fd(empty));
  }
  const std::vector<ProgramRuntime> before = bench::read_runtimes(fds);
  const int servers = state.range(0) == 2 ? 128 : 1;
  for (auto _ : state) churn(3000, static_cast<uint16_t>(5400 + state.range(0)), servers);
  const std::vector<ProgramRuntime> after = bench::read_runtimes(fds);
  bench::report_pairs(state, pairs, before, after);
  collector.stop();
}
BENCHMARK(BM_FlowsPerEventCost)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// UDP request/reply on loopback: `flows` client sockets (each a flow, a new
// 5-tuple) send `rounds` queries of 64 bytes each and get a reply each.
void udp_traffic(int flows, int rounds, uint16_t port) {
  int server = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(port);
  if (bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(server);
    return;
  }
  char buf[64] = {};
  for (int f = 0; f < flows; ++f) {
    int client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (int r = 0; r < rounds; ++r) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      sendto(client, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      if (recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) > 0) {
        sendto(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), len);
        recv(client, buf, sizeof buf, 0);
      }
    }
    close(client);
  }
  close(server);
}

// The UDP programs (cgroup_skb egress/ingress on the cgroup2 root) against
// empty cgroup_skb programs on the same root, same run. They see every
// packet of the machine's local sockets; the bench's datagrams (12 000
// program runs each side) dominate on an idle machine.
void BM_FlowsUdpPerPacketCost(benchmark::State& state) {
  if (geteuid() != 0 || !own_netns()) {
    state.SkipWithError("needs root (BPF, a network namespace)");
    return;
  }
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  Config config = default_config();
  FlowsConfig& flows = config.collector<FlowsConfig>();
  flows.common.enabled = true;
  flows.network_namespace = "/proc/self/ns/net";
  FlowsCollector collector;
  if (Status s = collector.start({config, run_preflight()}); !s) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  const std::vector<HookPair> pairs = {{"udp_egress", "cgroup_skb_egress_empty"},
                                       {"udp_ingress", "cgroup_skb_ingress_empty"}};
  // The floors (bench_baseline.bpf.c): parse + one 5-tuple lookup, an insert
  // when new, in a preallocated hash and in an LRU hash. Only on the
  // DNS-like shape (one round trip per flow), where they bound what any
  // per-flow table costs; elsewhere the collector's per-CPU flow cache makes
  // them no floor, and their maps may disturb its figures.
  const bool with_floors = state.range(1) == 1;
  std::vector<HookPair> floors;
  if (with_floors) {
    floors = {{"udp_egress_floor", "cgroup_skb_egress_empty"},
              {"udp_ingress_floor", "cgroup_skb_ingress_empty"},
              {"udp_egress_floor_lru", "cgroup_skb_egress_empty"},
              {"udp_ingress_floor_lru", "cgroup_skb_ingress_empty"}};
  }
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines(
      with_floors
          ? std::vector<std::string>{"cgroup_skb_egress_empty", "cgroup_skb_ingress_empty",
                                     "udp_egress_floor", "udp_ingress_floor",
                                     "udp_egress_floor_lru", "udp_ingress_floor_lru"}
          : std::vector<std::string>{"cgroup_skb_egress_empty", "cgroup_skb_ingress_empty"});
  Result<std::string> root = CgroupResolver::find_cgroup2_mount();
  int cgroup = root ? open(root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (!baseline || cgroup < 0) {
    state.SkipWithError("loading the baselines or opening the cgroup2 root failed");
    return;
  }
  std::vector<LinkPtr> links;
  std::vector<int> fds;
  const BpfStatus status = collector.bpf_status();
  for (const HookPair& p : pairs) {
    int real_fd = -1;
    for (const BpfProgramStatus& program : status.programs) {
      if (program.program == p.real) real_fd = program.prog_fd;
    }
    bpf_program* empty = baseline_program(*baseline, p.empty);
    links.emplace_back(empty ? bpf_program__attach_cgroup(empty, cgroup) : nullptr);
    if (real_fd < 0 || !links.back()) {
      state.SkipWithError("cannot find or attach a program pair");
      close(cgroup);
      return;
    }
    fds.push_back(real_fd);
    fds.push_back(bpf_program__fd(empty));
  }
  std::vector<int> floor_fds;
  for (const HookPair& p : floors) {
    bpf_program* floor = baseline_program(*baseline, p.real);
    links.emplace_back(floor ? bpf_program__attach_cgroup(floor, cgroup) : nullptr);
    if (!links.back()) {
      state.SkipWithError("cannot attach a floor program");
      close(cgroup);
      return;
    }
    floor_fds.push_back(bpf_program__fd(floor));
    floor_fds.push_back(bpf_program__fd(baseline_program(*baseline, p.empty)));
  }
  close(cgroup);
  const std::vector<ProgramRuntime> floors_before = bench::read_runtimes(floor_fds);
  const std::vector<ProgramRuntime> before = bench::read_runtimes(fds);
  const int flow_count = static_cast<int>(state.range(0));
  const int rounds = static_cast<int>(state.range(1));
  for (auto _ : state) udp_traffic(flow_count, rounds, 5500);
  const std::vector<ProgramRuntime> after = bench::read_runtimes(fds);
  const std::vector<ProgramRuntime> floors_after = bench::read_runtimes(floor_fds);
  bench::report_pairs(state, pairs, before, after);
  bench::report_pairs(state, floors, floors_before, floors_after);
  collector.stop();
}
// Args {flows, round trips per flow}, each 12 000 runs per program: the
// mixed shape quoted as the per-datagram cost (300 x 20), DNS-like (6000
// sockets of one query each: every datagram starts or answers a flow) and
// bulk (30 x 200: nearly every datagram hits the per-CPU flow cache).
BENCHMARK(BM_FlowsUdpPerPacketCost)
    ->Args({300, 20})
    ->Args({6000, 1})
    ->Args({30, 200})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
