// socket collector: per-event BPF cost under loopback iperf3 load, as a
// ratio to an empty tp_btf program on the same tracepoint (sock_send_length)
// attached during the same runs. Kernel BPF run-time stats
// (bpf_enable_stats) give run_time_ns / run_cnt per program.
//
//   sudo build/tests/bench/socket_bpf_bench [rounds=5] [seconds=4]
//   sudo build/tests/bench/socket_bpf_bench hold sock|syscalls|raw-sys-enter
//   sudo build/tests/bench/socket_bpf_bench workload [rounds=10] [seconds=0.5] [all|table]
//
// Each round runs the production SocketCollector in each mode: metrics only
// by comm (the default), by cgroup (attribution: cgroup) and without a
// process label, with syscall details, and with events on (ring buffer to a discarding sink),
// under the same iperf3 -l 1K load, and prints ns/event of its send and
// receive programs and of the empty baseline. Not run by ctest: needs root
// and iperf3, and the figures are quoted, not asserted.
#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "collectors/socket/socket_config.h"
#include "collectors/socket/socket_collector.h"
#include "exporter/builtin_config.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/libbpf_logging.h"
#include "bench_baseline.h"
#include "bench_support.h"
#include "exporter/bpf/preflight.h"

namespace netobs {
namespace {

// Counts rows and drops them: the cost measured is the kernel's.
class DiscardSink final : public EventSink {
 public:
  Status write(const EventRow&) override {
    ++rows_;
    return Status::ok();
  }
  Status write_line(std::string_view) override {
    ++rows_;
    return Status::ok();
  }
  Status flush(bool) override { return Status::ok(); }
  uint64_t rows_written() const override { return rows_; }

 private:
  uint64_t rows_ = 0;
};

pid_t spawn(const std::vector<std::string>& argv) {
  std::fflush(stdout);  // else the child's exit flushes our buffered lines again
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

ProgramRuntime runtime(int fd) {
  auto r = read_program_runtime(fd);
  return r ? *r : ProgramRuntime{};
}

using bench::ns_per_run;

struct Sample {
  double send_ns = 0, recv_ns = 0, empty_ns = 0, floor_ns = 0;
  double recv_empty_ns = 0, recv_floor_ns = 0;  // the same baselines on sock_recv_length
  uint64_t events = 0;
};

// The baselines' program fds: empty and floor on sock_send_length, then on
// sock_recv_length.
struct BaselineFds {
  int empty = -1, floor = -1, recv_empty = -1, recv_floor = -1;
};

Sample run_once(const Config& base, const PreflightReport& preflight, const BaselineFds& fds,
                bool events, bool syscall_details, const std::string& attribution, int port,
                int seconds) {
  Config config = base;
  config.collector<SocketConfig>().syscall_details = syscall_details;
  config.collector<SocketConfig>().attribution = attribution;
  auto sink = std::make_shared<DiscardSink>();
  SocketCollector collector(
      SocketCollector::Options{.event_sink = events ? sink : std::shared_ptr<EventSink>()});
  Status started = collector.start({config, preflight});
  if (!started) {
    std::fprintf(stderr, "start failed: %s\n", started.message().c_str());
    std::exit(1);
  }
  const BpfStatus status = collector.bpf_status();
  const int send_fd = status.programs[0].prog_fd;
  const int recv_fd = status.programs[1].prog_fd;
  const ProgramRuntime s0 = runtime(send_fd), r0 = runtime(recv_fd), e0 = runtime(fds.empty),
                       f0 = runtime(fds.floor), re0 = runtime(fds.recv_empty),
                       rf0 = runtime(fds.recv_floor);
  pid_t client = spawn({"iperf3", "-c", "127.0.0.1", "-p", std::to_string(port), "-t",
                        std::to_string(seconds), "-l", "1K"});
  int wstatus = 0;
  waitpid(client, &wstatus, 0);
  Sample sample;
  sample.send_ns = ns_per_run(s0, runtime(send_fd));
  sample.recv_ns = ns_per_run(r0, runtime(recv_fd));
  sample.empty_ns = ns_per_run(e0, runtime(fds.empty));
  sample.floor_ns = ns_per_run(f0, runtime(fds.floor));
  sample.recv_empty_ns = ns_per_run(re0, runtime(fds.recv_empty));
  sample.recv_floor_ns = ns_per_run(rf0, runtime(fds.recv_floor));
  collector.stop();
  sample.events = sink->rows_written();
  return sample;
}

void summarize(const char* name, std::vector<double> ratios) {
  std::sort(ratios.begin(), ratios.end());
  double sum = 0;
  for (double r : ratios) sum += r;
  std::printf("%-28s median %.2fx  mean %.2fx  min %.2fx  max %.2fx  (n=%zu)\n", name,
              ratios[ratios.size() / 2], sum / ratios.size(), ratios.front(), ratios.back(),
              ratios.size());
}

// Empty programs attached as a stand-in for the collector, to split the
// workload overhead by cause. WHAT: sock (empty tp_btf programs on
// sock_send_length and sock_recv_length), syscalls (an empty program on the
// 12 syscall tracepoints the collector uses), raw-sys-enter (an empty raw_tp
// on sys_enter with a syscall-number test, the alternative design).
struct EmptyPrograms {
  SkeletonPtr<bench_baseline_bpf> skel;
  std::vector<LinkPtr> links;
};

bool attach_empty(const std::string& what, EmptyPrograms& out) {
  std::vector<std::string> wanted;
  if (what == "sock") wanted = {"on_send_empty", "on_recv_empty"};
  if (what == "syscalls") wanted = {"on_syscall_empty"};
  if (what == "raw-sys-enter") wanted = {"on_sys_enter_filter_empty"};
  // Not empty: the floor of a per-process count (bench_baseline.bpf.c).
  if (what == "floor") wanted = {"on_send_floor", "on_recv_floor"};
  if (wanted.empty()) {
    std::fprintf(stderr, "unknown empty set %s (sock | syscalls | raw-sys-enter)\n", what.c_str());
    return false;
  }
  out.skel = load_baselines(wanted);
  if (!out.skel) {
    std::fprintf(stderr, "loading the empty programs failed\n");
    return false;
  }
  bench_baseline_bpf* skel = out.skel.get();
  if (what == "syscalls") {
    for (const char* phase : {"enter", "exit"}) {
      for (const char* call :
           {"sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg"}) {
        const std::string name = std::string("sys_") + phase + "_" + call;
        out.links.emplace_back(
            bpf_program__attach_tracepoint(skel->progs.on_syscall_empty, "syscalls", name.c_str()));
      }
    }
  } else {
    for (const std::string& name : wanted) {
      out.links.emplace_back(bpf_program__attach(baseline_program(*skel, name)));
    }
  }
  for (const auto& link : out.links) {
    if (!link) {
      std::fprintf(stderr, "attaching the empty programs failed\n");
      return false;
    }
  }
  return true;
}

// `hold WHAT`: attach_empty, then wait for SIGTERM/SIGINT (a stand-in for
// the exporter in tests/bench/socket_overhead.sh).
int hold(const std::string& what) {
  install_libbpf_logger();
  (void)run_preflight();  // mounts tracefs for the syscall tracepoints
  EmptyPrograms empty;
  if (!attach_empty(what, empty)) return 1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}

// ---- `workload`: the iperf3 workload's kernel path, measured in CPU time ----
// One thread writes 1 KiB to a loopback TCP socket and reads it back from
// the peer (write()/read() as iperf3 does; loopback runs the receive path in
// the sender's softirq, in this thread), and calls getppid() for the cost
// every other syscall pays. Thread CPU time per operation, pinned to one
// CPU: other jobs on the machine change how long it takes, hardly how much
// CPU it needs, so the comparison holds on a shared machine where iperf3's
// throughput swings by 20 %. Each figure is the least of five samples.

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double wall_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct TcpPair {
  int client = -1, server = -1;
};

TcpPair tcp_pair() {
  TcpPair pair;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listener");
    std::exit(1);
  }
  pair.client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(pair.client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  pair.server = accept(listener, nullptr, nullptr);
  close(listener);
  return pair;
}

// CPU ns per KiB moved with 1 KiB write()s and 1 KiB read()s, over about
// `seconds`. Writes go in runs of 8 before the reads, as a streaming
// sender's do (TCP merges them into fewer segments, like iperf3's).
double ns_per_kib(const TcpPair& pair, double seconds) {
  constexpr int kRun = 8;
  char buf[1024] = {};
  const double end = wall_s() + seconds, t0 = thread_cpu_ns();
  uint64_t n = 0;
  while (wall_s() < end) {
    for (int i = 0; i < 32; ++i, n += kRun) {
      for (int w = 0; w < kRun; ++w) {
        if (write(pair.client, buf, sizeof(buf)) != sizeof(buf)) std::exit(1);
      }
      for (size_t got = 0; got < kRun * sizeof(buf);) {
        ssize_t r = read(pair.server, buf, sizeof(buf));
        if (r <= 0) std::exit(1);
        got += static_cast<size_t>(r);
      }
    }
  }
  return (thread_cpu_ns() - t0) / static_cast<double>(n);
}

// CPU ns per getppid(), over about `seconds`.
double ns_per_syscall(double seconds) {
  const double end = wall_s() + seconds, t0 = thread_cpu_ns();
  uint64_t n = 0;
  while (wall_s() < end) {
    for (int i = 0; i < 1024; ++i, ++n) syscall(SYS_getppid);
  }
  return (thread_cpu_ns() - t0) / static_cast<double>(n);
}

// `table_only`: just the variants tests/bench/run_table.py reports (the
// quick run), not the BPF-stats and raw_syscalls ones.
int workload(int rounds, double seconds, bool table_only) {
  install_libbpf_logger();
  PreflightReport preflight = run_preflight();
  Config config = load_default_config().config;
  config.events.output_dir.clear();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  sched_setaffinity(0, sizeof(cpus), &cpus);
  setpriority(PRIO_PROCESS, 0, -20);
  const TcpPair pair = tcp_pair();
  // What runs during each measurement; "off" is the baseline. "collector" is
  // the socket collector with syscall_details: true, "nosys" the default
  // configuration (no syscall tracepoints); "+stats" with BPF run-time stats;
  // "floor:sock" the floor of a per-process count on the two sock hooks.
  const std::vector<std::string> variants =
      table_only ? std::vector<std::string>{"off",        "empty:sock", "empty:syscalls",
                                            "floor:sock", "collector",  "nosys"}
                 : std::vector<std::string>{
                       "off",        "empty:sock", "empty:syscalls",  "empty:raw-sys-enter",
                       "floor:sock", "collector",  "collector+stats", "nosys",
                       "nosys+stats"};
  struct Figures {
    std::vector<double> kib, syscall;
  };
  std::vector<Figures> figures(variants.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < variants.size(); ++i) {
      const size_t v = r % 2 == 0 ? i : variants.size() - 1 - i;
      const std::string& name = variants[v];
      EmptyPrograms empty;
      std::optional<SocketCollector> collector;
      std::optional<BpfStatsEnabler> stats;
      if (name.rfind("empty:", 0) == 0 && !attach_empty(name.substr(6), empty)) return 1;
      if (name == "floor:sock" && !attach_empty("floor", empty)) return 1;
      if (name.find("+stats") != std::string::npos) {
        auto enabled = BpfStatsEnabler::enable();
        if (!enabled) return 1;
        stats.emplace(std::move(*enabled));
      }
      if (name.rfind("collector", 0) == 0 || name.rfind("nosys", 0) == 0) {
        Config c = config;
        c.collector<SocketConfig>().syscall_details = name.rfind("nosys", 0) != 0;
        collector.emplace();
        Status started = collector->start({c, preflight});
        if (!started) {
          std::fprintf(stderr, "start failed: %s\n", started.message().c_str());
          return 1;
        }
      }
      // The least of five short samples: other jobs only ever add time
      // (cache and CPU contention), so the minimum is the steadiest figure.
      double kib = 1e18, sys = 1e18;
      for (int k = 0; k < 5; ++k) {
        kib = std::min(kib, ns_per_kib(pair, seconds / 5));
        sys = std::min(sys, ns_per_syscall(seconds / 20));
      }
      figures[v].kib.push_back(kib);
      figures[v].syscall.push_back(sys);
      if (collector) collector->stop();
    }
  }
  auto median = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    return x[x.size() / 2];
  };
  std::printf("%-22s %12s %22s %14s %22s\n", "variant", "ns/KiB", "vs off: median (range)",
              "ns/getppid", "vs off: median (range)");
  for (size_t v = 0; v < variants.size(); ++v) {
    std::vector<double> kib_pct, sys_ns;
    for (int r = 0; r < rounds; ++r) {
      kib_pct.push_back(100.0 * (figures[v].kib[r] / figures[0].kib[r] - 1));
      sys_ns.push_back(figures[v].syscall[r] - figures[0].syscall[r]);
    }
    std::printf("%-22s %12.0f %+7.1f%% (%+.1f..%+.1f) %14.1f %+8.1f ns (%+.1f..%+.1f)\n",
                variants[v].c_str(), median(figures[v].kib), median(kib_pct),
                *std::min_element(kib_pct.begin(), kib_pct.end()),
                *std::max_element(kib_pct.begin(), kib_pct.end()), median(figures[v].syscall),
                median(sys_ns), *std::min_element(sys_ns.begin(), sys_ns.end()),
                *std::max_element(sys_ns.begin(), sys_ns.end()));
  }
  close(pair.client);
  close(pair.server);
  return 0;
}

int run(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "hold") return hold(argv[2]);
  if (argc > 1 && std::string(argv[1]) == "workload") {
    return workload(argc > 2 ? std::atoi(argv[2]) : 10, argc > 3 ? std::atof(argv[3]) : 0.5,
                    argc > 4 && std::string(argv[4]) == "table");
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 4;
  install_libbpf_logger();
  auto stats = BpfStatsEnabler::enable();
  if (!stats) {
    std::fprintf(stderr, "%s\n", stats.message().c_str());
    return 1;
  }
  PreflightReport preflight = run_preflight();
  ConfigLoadResult loaded = load_default_config();
  Config config = loaded.config;
  config.events.output_dir.clear();

  // The baselines on sock_send_length: the empty program, and the floor of
  // a per-process count (bench_baseline.bpf.c: on_send_floor).
  SkeletonPtr<bench_baseline_bpf> empty =
      load_baselines({"on_send_empty", "on_send_floor", "on_recv_empty", "on_recv_floor"});
  if (!empty) {
    std::fprintf(stderr, "loading the empty program failed\n");
    return 1;
  }
  LinkPtr empty_link(bpf_program__attach_trace(empty->progs.on_send_empty));
  LinkPtr floor_link(bpf_program__attach_trace(empty->progs.on_send_floor));
  LinkPtr recv_empty_link(bpf_program__attach_trace(empty->progs.on_recv_empty));
  LinkPtr recv_floor_link(bpf_program__attach_trace(empty->progs.on_recv_floor));
  const BaselineFds fds{
      bpf_program__fd(empty->progs.on_send_empty), bpf_program__fd(empty->progs.on_send_floor),
      bpf_program__fd(empty->progs.on_recv_empty), bpf_program__fd(empty->progs.on_recv_floor)};
  std::vector<double> floor_ratios, recv_floor_ratios;

  const int port = 15201 + getpid() % 1000;
  pid_t server = spawn({"iperf3", "-s", "-p", std::to_string(port)});
  usleep(500000);
  // Modes: the default configuration (metrics only, no syscall
  // tracepoints, series by comm), the same by cgroup (attribution: cgroup)
  // and without a process label, with syscall_details: true, and events on.
  struct Mode {
    const char* name;
    bool events, syscall_details;
    const char* attribution;
    std::vector<double> send, recv, recv_same_hook;
  };
  std::vector<Mode> modes = {
      {"default", false, false, "comm", {}, {}, {}}, {"cgroup", false, false, "cgroup", {}, {}, {}},
      {"none", false, false, "none", {}, {}, {}},    {"details", false, true, "comm", {}, {}, {}},
      {"events", true, true, "comm", {}, {}, {}},
  };
  std::printf("round mode     send_ns recv_ns empty_ns send/empty recv/empty events\n");
  for (int r = 0; r < rounds; ++r) {
    for (Mode& mode : modes) {
      Sample s = run_once(config, preflight, fds, mode.events, mode.syscall_details,
                          mode.attribution, port, seconds);
      const double send_ratio = s.send_ns / s.empty_ns, recv_ratio = s.recv_ns / s.empty_ns;
      std::printf("%5d %-8s %7.1f %7.1f %8.1f %10.2f %10.2f %llu\n", r, mode.name, s.send_ns,
                  s.recv_ns, s.empty_ns, send_ratio, recv_ratio,
                  static_cast<unsigned long long>(s.events));
      mode.send.push_back(send_ratio);
      mode.recv.push_back(recv_ratio);
      floor_ratios.push_back(s.floor_ns / s.empty_ns);
      recv_floor_ratios.push_back(s.recv_floor_ns / s.recv_empty_ns);
      mode.recv_same_hook.push_back(s.recv_ns / s.recv_empty_ns);
    }
  }
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  for (const Mode& mode : modes) {
    summarize((std::string(mode.name) + ", send/empty").c_str(), mode.send);
    summarize((std::string(mode.name) + ", recv/empty").c_str(), mode.recv);
  }
  summarize("floor, send/empty", floor_ratios);
  // The receive program against the empty program on its own hook.
  for (const Mode& mode : modes) {
    summarize((std::string(mode.name) + ", recv/recvempty").c_str(), mode.recv_same_hook);
  }
  summarize("floor, recv/recvempty", recv_floor_ratios);
  return 0;
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) { return netobs::run(argc, argv); }
