// tcp collector benchmarks (root; run by hand, figures quoted in
// collectors/tcp/README.md):
// - per-event cost of each BPF program as a ratio to an empty tp_btf program
//   on the same hook, both attached at once and measured in the same run
//   with the kernel's BPF stats: tcp_probe under iperf3 load on loopback
//   (default labels and group_by local_port), inet_sock_set_state and the
//   reset hooks under connection churn, tcp_retransmit_skb under nftables
//   loss;
// - scrape cost (TcpCollector::collect) and `netobs conns` latency with 0 and
//   10 000 established loopback connections made by the benchmark.
// Everything runs inside a network namespace the benchmark creates (and
// deletes at exit), so the connection counts are its own.
//   build/tests/bench/tcp_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "collectors/tcp/conns_command.h"
#include "exporter/net/process_owners.h"
#include "exporter/net/sock_diag.h"
#include "collectors/tcp/tcp_collector.h"
#include "collectors/tcp/tcp_state_counter.h"
#include "config/config.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/preflight.h"
#include "bench_baseline.h"
#include "bench_support.h"
#include "tcp.skel.h"
#include "tcp_states.skel.h"

namespace netobs {
namespace {

using Clock = std::chrono::steady_clock;

using bench::connect_loopback;
using bench::HookPair;
using bench::listen_loopback;
using bench::run;

// The benchmark's own namespace, entered by the whole process.
bench::BenchNetns& bench_netns() {
  static bench::BenchNetns netns("nobstcpbench");
  return netns;
}

struct Rig {
  SkeletonPtr<tcp_bpf> skel;
  SkeletonPtr<bench_baseline_bpf> baseline;
  std::vector<LinkPtr> links;
  std::vector<int> fds;  // per program in `pairs` order: real, empty, real, empty...
};

std::optional<Rig> load_rig(const std::vector<HookPair>& pairs, uint32_t group_by,
                            bool attribute_cgroup = false) {
  Rig rig;
  rig.skel = open_skeleton<tcp_bpf>();
  if (!rig.skel) return std::nullopt;
  rig.skel->rodata->group_by = group_by;
  rig.skel->rodata->attribute_cgroup = attribute_cgroup;
  bpf_map__set_max_entries(rig.skel->maps.rtt_by_group, 65);
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, rig.skel->obj) { bpf_program__set_autoload(prog, false); }
  std::vector<std::string> empties;
  for (const HookPair& pair : pairs) {
    bpf_program__set_autoload(bpf_object__find_program_by_name(rig.skel->obj, pair.real.c_str()),
                              true);
    empties.push_back(pair.empty);
  }
  if (tcp_bpf::load(rig.skel.get()) != 0) return std::nullopt;
  rig.baseline = load_baselines(empties);
  if (!rig.baseline) return std::nullopt;
  if (group_by != NETOBS_TCP_GROUP_NONE) {
    const uint32_t other = NETOBS_TCP_GROUP_OTHER;
    std::vector<netobs_tcp_hist> zeros(static_cast<size_t>(libbpf_num_possible_cpus()));
    bpf_map_update_elem(bpf_map__fd(rig.skel->maps.rtt_by_group), &other, zeros.data(), BPF_ANY);
  }
  for (const HookPair& pair : pairs) {
    for (bpf_program* p : {bpf_object__find_program_by_name(rig.skel->obj, pair.real.c_str()),
                           baseline_program(*rig.baseline, pair.empty)}) {
      bpf_link* link = bpf_program__attach(p);
      if (link == nullptr) return std::nullopt;
      rig.links.emplace_back(link);
      rig.fds.push_back(bpf_program__fd(p));
    }
  }
  return rig;
}

std::vector<ProgramRuntime> runtimes(const Rig& rig) { return bench::read_runtimes(rig.fds); }

bool require_root(benchmark::State& state) {
  if (geteuid() != 0) {
    state.SkipWithError("needs root (BPF, network namespaces)");
    return false;
  }
  if (!bench_netns().ok()) {
    state.SkipWithError("cannot create the benchmark's network namespace");
    return false;
  }
  return true;
}

// tcp_probe under iperf3 (2 s, loopback); args: group_by, and attribution
// (1: cgroup, the RTT histogram by the socket's cgroup as well).
void BM_TcpProbeCost(benchmark::State& state) {
  if (!require_root(state)) return;
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  const std::vector<HookPair> pairs = {{"tcp_probe_btf", "tcp_probe_empty"}};
  std::optional<Rig> rig =
      load_rig(pairs, static_cast<uint32_t>(state.range(0)), state.range(1) == 1);
  if (!rig) {
    state.SkipWithError("loading tcp.bpf.o failed");
    return;
  }
  state.SetLabel(state.range(1) == 1 ? "attribution: cgroup" : "attribution: none");
  for (auto _ : state) {
    const std::string port = "5301";
    pid_t server = fork();
    if (server == 0) {
      execlp("iperf3", "iperf3", "-s", "-1", "-p", port.c_str(), "-B", "127.0.0.1", nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto before = runtimes(*rig);
    // Small writes (-l 1400) and parallel streams: many segments per second.
    int rc = run("iperf3 -c 127.0.0.1 -p " + port + " -t 2 -P 2 -l 1400 > /dev/null");
    auto after = runtimes(*rig);
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
    if (rc != 0) {
      state.SkipWithError("iperf3 failed (is it installed? Debian package iperf3)");
      return;
    }
    bench::report_pairs(state, pairs, before, after);
  }
}
BENCHMARK(BM_TcpProbeCost)
    ->Args({NETOBS_TCP_GROUP_NONE, 0})
    ->Args({NETOBS_TCP_GROUP_NONE, 1})
    ->Args({NETOBS_TCP_GROUP_LOCAL_PORT, 0})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// inet_sock_set_state and both reset hooks under connection churn: 3000
// connections opened and aborted with SO_LINGER 0 (one reset each way).
// Arg 1: attribution: cgroup (counters by the socket's cgroup as well).
void BM_LifecycleCost(benchmark::State& state) {
  if (!require_root(state)) return;
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  const std::vector<HookPair> pairs = {{"inet_sock_set_state_btf", "inet_sock_set_state_empty"},
                                       {"tcp_send_reset_btf", "tcp_send_reset_empty"},
                                       {"tcp_receive_reset_btf", "tcp_receive_reset_empty"}};
  std::optional<Rig> rig = load_rig(pairs, NETOBS_TCP_GROUP_NONE, state.range(0) == 1);
  if (!rig) {
    state.SkipWithError("loading tcp.bpf.o failed");
    return;
  }
  state.SetLabel(state.range(0) == 1 ? "attribution: cgroup" : "attribution: none");
  for (auto _ : state) {
    int listener = listen_loopback(5302, 1024);
    auto before = runtimes(*rig);
    for (int i = 0; i < 3000; ++i) {
      int client = connect_loopback(5302);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      linger abort{1, 0};
      setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      close(client);
      close(server);
    }
    auto after = runtimes(*rig);
    close(listener);
    bench::report_pairs(state, pairs, before, after);
  }
}
BENCHMARK(BM_LifecycleCost)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

// track_tcp_states (the state gauge's counts, bpf/tcp_states.bpf.c) after
// seeding, vs an empty program on sock:inet_sock_set_state, under the same
// churn as BM_LifecycleCost.
void BM_TrackStatesCost(benchmark::State& state) {
  if (!require_root(state)) return;
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  SkeletonPtr<tcp_states_bpf> skel = open_skeleton<tcp_states_bpf>();
  Result<uint32_t> netns = namespace_inode("/proc/thread-self/ns/net");
  if (!skel || !netns) {
    state.SkipWithError("opening tcp_states.bpf.o failed");
    return;
  }
  skel->rodata->target_netns = *netns;
  bpf_program__set_autoload(skel->progs.count_tcp_states, false);
  if (tcp_states_bpf::load(skel.get()) != 0) {
    state.SkipWithError("loading tcp_states.bpf.o failed");
    return;
  }
  skel->data->seeding = 0;  // steady state: nothing to seed in a fresh namespace
  SkeletonPtr<bench_baseline_bpf> baseline = load_baselines({"inet_sock_set_state_empty"});
  if (!baseline) {
    state.SkipWithError("loading bench_baseline.bpf.o failed");
    return;
  }
  LinkPtr real(bpf_program__attach(skel->progs.track_tcp_states));
  LinkPtr empty(bpf_program__attach(baseline->progs.inet_sock_set_state_empty));
  if (!real || !empty) {
    state.SkipWithError("attaching failed");
    return;
  }
  const std::vector<HookPair> pairs = {{"track_tcp_states", "inet_sock_set_state_empty"}};
  auto read = [&] {
    std::vector<ProgramRuntime> out;
    for (bpf_program* p :
         {skel->progs.track_tcp_states, baseline->progs.inet_sock_set_state_empty}) {
      Result<ProgramRuntime> r = read_program_runtime(bpf_program__fd(p));
      out.push_back(r ? *r : ProgramRuntime{});
    }
    return out;
  };
  for (auto _ : state) {
    int listener = listen_loopback(5305, 1024);
    auto before = read();
    for (int i = 0; i < 3000; ++i) {
      int client = connect_loopback(5305);
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      linger abort{1, 0};
      setsockopt(client, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      close(client);
      close(server);
    }
    auto after = read();
    close(listener);
    bench::report_pairs(state, pairs, before, after);
  }
}
BENCHMARK(BM_TrackStatesCost)->Iterations(1)->Unit(benchmark::kMillisecond);

// tcp_retransmit_skb under 5 % loss (nftables input rule), 2 s of bursts.
void BM_RetransmitCost(benchmark::State& state) {
  if (!require_root(state)) return;
  Result<BpfStatsEnabler> stats = BpfStatsEnabler::enable();
  if (!stats) {
    state.SkipWithError(stats.message().c_str());
    return;
  }
  const std::vector<HookPair> pairs = {{"tcp_retransmit_btf", "tcp_retransmit_empty"}};
  std::optional<Rig> rig = load_rig(pairs, NETOBS_TCP_GROUP_NONE);
  if (!rig) {
    state.SkipWithError("loading tcp.bpf.o failed");
    return;
  }
  run("nft add table inet nobsbench && nft add chain inet nobsbench in '{ type filter hook input "
      "priority 0; }' && nft add rule inet nobsbench in tcp dport 5303 numgen random mod 20 == 0 "
      "drop");
  for (auto _ : state) {
    int listener = listen_loopback(5303, 16);
    int client = connect_loopback(5303);
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    std::thread reader([server] {
      std::vector<char> buffer(1 << 16);
      while (recv(server, buffer.data(), buffer.size(), 0) > 0) {
      }
    });
    auto before = runtimes(*rig);
    std::vector<char> data(1 << 16, 'r');
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < deadline) {
      if (send(client, data.data(), data.size(), MSG_NOSIGNAL) <= 0) break;
    }
    auto after = runtimes(*rig);
    shutdown(client, SHUT_WR);
    reader.join();
    close(client);
    close(server);
    close(listener);
    bench::report_pairs(state, pairs, before, after);
  }
  run("nft delete table inet nobsbench");
}
BENCHMARK(BM_RetransmitCost)->Iterations(1)->Unit(benchmark::kSecond);

// Established loopback connections (two sockets each), made on demand up to
// 10 000: the server ends live in a child process, so neither process needs
// more than 10 000 descriptors (the hard RLIMIT_NOFILE here is 20 000 and
// raising it needs CAP_SYS_RESOURCE). Connections only grow: run the 100
// and the 10 000 cases in separate processes (--benchmark_filter=.../100$).
class Connections {
 public:
  static constexpr int kMax = 10000;
  static Connections& get() {
    static Connections connections;
    return connections;
  }
  ~Connections() {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    for (int fd : clients_) close(fd);
  }
  // At least `count` connections (false if they cannot be made).
  bool ensure(int count) {
    if (!ok_ || count > kMax) return false;
    if (static_cast<int>(clients_.size()) >= count) return true;
    while (static_cast<int>(clients_.size()) < count) {
      int client = connect_loopback(5304);
      if (client < 0) return ok_ = false;
      clients_.push_back(client);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the child catches up
    return true;
  }
  int count() const { return static_cast<int>(clients_.size()); }
  const std::vector<int>& clients() const { return clients_; }

 private:
  Connections() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < kMax + 100) return;
    int listener = listen_loopback(5304, 4096);
    if (listener < 0) return;
    child_ = fork();
    if (child_ == 0) {
      std::vector<int> servers;
      while (servers.size() < kMax) {
        int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) _exit(1);
        servers.push_back(fd);
      }
      pause();  // killed by the parent
      _exit(0);
    }
    close(listener);
    ok_ = true;
  }
  pid_t child_ = -1;
  std::vector<int> clients_;
  bool ok_ = false;
};

struct RunningCollector {
  Config config;
  PreflightReport preflight;
  TcpCollector collector;
  Status status;
  RunningCollector() {
    preflight = run_preflight();
    status = collector.start({config, preflight});
  }
};

// Scrape cost: TcpCollector::collect with 100 or 10 000 connections (arg).
void BM_Scrape(benchmark::State& state) {
  if (!require_root(state)) return;
  if (!Connections::get().ensure(static_cast<int>(state.range(0)))) {
    state.SkipWithError("making the loopback connections failed");
    return;
  }
  static RunningCollector running;
  if (!running.status) {
    state.SkipWithError(running.status.message().c_str());
    return;
  }
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    Status status = running.collector.collect(families);
    benchmark::DoNotOptimize(families);
    if (!status) state.SkipWithError(status.message().c_str());
  }
}
BENCHMARK(BM_Scrape)->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);

// The state-counting part of a scrape alone, with 100 or 10 000 connections
// (arg 0), by method (arg 1): 0 tracked in BPF (the default), 1 BPF
// iterator over every socket, 2 sock_diag dump.
void BM_CountStates(benchmark::State& state) {
  if (!require_root(state)) return;
  if (!Connections::get().ensure(static_cast<int>(state.range(0)))) {
    state.SkipWithError("making the loopback connections failed");
    return;
  }
  Result<TcpStateCounter> counter =
      TcpStateCounter::open("", static_cast<TcpStateMethod>(state.range(1)));
  if (!counter) {
    state.SkipWithError(counter.message().c_str());
    return;
  }
  state.SetLabel(std::string(counter->method()));
  for (auto _ : state) {
    Result<TcpStateCounts> counts = counter->count();
    if (!counts) state.SkipWithError(counts.message().c_str());
    benchmark::DoNotOptimize(counts);
  }
}
BENCHMARK(BM_CountStates)->ArgsProduct({{100, 10000}, {0, 1, 2}})->Unit(benchmark::kMillisecond);

// `netobs conns` end to end (dump with tcp_info, filter, owners, output)
// with 10 000 connections (20 000 sockets). Arg:
//   0: --top 20 --sort rtt --no-process
//   1: --top 20 --sort rtt (owners of the 20 rows shown)
//   2: `netobs conns` as typed by default: all 20 000 rows, with owners
//   3: all rows, --no-process
//   4: --local-port 5304 --top 20 (a filter the kernel applies)
void BM_Conns(benchmark::State& state) {
  if (!require_root(state)) return;
  if (!Connections::get().ensure(Connections::kMax)) {
    state.SkipWithError("making 10 000 loopback connections failed");
    return;
  }
  std::vector<std::string> args;
  switch (state.range(0)) {
    case 0:
      args = {"--top", "20", "--sort", "rtt", "--no-process"};
      break;
    case 1:
      args = {"--top", "20", "--sort", "rtt"};
      break;
    case 3:
      args = {"--no-process"};
      break;
    case 4:
      args = {"--local-port", "5304", "--top", "20"};
      break;
    default:
      break;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream out, err;
    int code = run_conns_command(args, out, err);
    if (code != 0) state.SkipWithError(err.str().c_str());
    bytes = out.str().size();
  }
  state.counters["output_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Conns)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);

// Owners of `netobs conns` alone, with 10 000 connections (20 000 sockets
// in two processes). Arg: 0 loading the socket_owners iterator; 1 one walk
// for 20 inodes (kernel-side filter); 2 one walk for all 10 000 client
// inodes (user-space filter); 3 the /proc/*/fd walk for 20 inodes.
void BM_SocketOwners(benchmark::State& state) {
  if (!require_root(state)) return;
  if (!Connections::get().ensure(Connections::kMax)) {
    state.SkipWithError("making 10 000 loopback connections failed");
    return;
  }
  std::unordered_set<uint32_t> inodes;
  for (int fd : Connections::get().clients()) {
    if (state.range(0) != 2 && inodes.size() == 20) break;
    struct stat st {};
    if (fstat(fd, &st) == 0) inodes.insert(static_cast<uint32_t>(st.st_ino));
  }
  auto iterator = SocketOwnerIterator::open();
  if (!iterator) {
    state.SkipWithError(iterator.message().c_str());
    return;
  }
  size_t found = 0;
  for (auto _ : state) {
    SocketOwnerMap owners;
    switch (state.range(0)) {
      case 0: {
        auto loaded = SocketOwnerIterator::open();
        if (!loaded) state.SkipWithError(loaded.message().c_str());
        benchmark::DoNotOptimize(loaded);
        break;
      }
      case 3:
        owners = find_socket_owners("/proc", inodes);
        break;
      default:
        if (Status status = (*iterator)->find(inodes, owners); !status) {
          state.SkipWithError(status.message().c_str());
        }
        break;
    }
    found = owners.size();
  }
  state.counters["owned_sockets"] = static_cast<double>(found);
}
BENCHMARK(BM_SocketOwners)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace netobs

BENCHMARK_MAIN();
