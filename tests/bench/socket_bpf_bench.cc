// socket collector: per-event BPF cost under loopback iperf3 load, as a
// ratio to an empty tp_btf program on the same tracepoint (sock_send_length)
// attached during the same runs. Kernel BPF run-time stats
// (bpf_enable_stats) give run_time_ns / run_cnt per program.
//
//   sudo build/tests/bench/socket_bpf_bench [rounds=5] [seconds=4]
//
// Each round runs the production SocketCollector twice, metrics only (all
// default labels) and with events on (ring buffer to a discarding sink),
// under the same iperf3 -l 1K load, and prints ns/event of its send and
// receive programs and of the empty baseline. Not run by ctest: needs root
// and iperf3, and the figures are quoted, not asserted.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "collectors/socket/socket_collector.h"
#include "config/config_loader.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "socket.skel.h"

namespace netobs {
namespace {

// Counts rows and drops them: the cost measured is the kernel's.
class DiscardSink final : public EventSink {
 public:
  Status write(const EventRow&) override {
    ++rows_;
    return Status::ok();
  }
  Status flush(bool) override { return Status::ok(); }
  uint64_t rows_written() const override { return rows_; }

 private:
  uint64_t rows_ = 0;
};

pid_t spawn(const std::vector<std::string>& argv) {
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

double per_event(const ProgramRuntime& before, const ProgramRuntime& after) {
  const uint64_t runs = after.run_cnt - before.run_cnt;
  return runs == 0 ? 0 : static_cast<double>(after.run_time_ns - before.run_time_ns) / runs;
}

struct Sample {
  double send_ns = 0, recv_ns = 0, empty_ns = 0;
  uint64_t events = 0;
};

Sample run_once(const Config& base, const PreflightReport& preflight, int empty_fd, bool events,
                int port, int seconds) {
  Config config = base;
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
  const ProgramRuntime s0 = runtime(send_fd), r0 = runtime(recv_fd), e0 = runtime(empty_fd);
  pid_t client = spawn({"iperf3", "-c", "127.0.0.1", "-p", std::to_string(port), "-t",
                        std::to_string(seconds), "-l", "1K"});
  int wstatus = 0;
  waitpid(client, &wstatus, 0);
  Sample sample;
  sample.send_ns = per_event(s0, runtime(send_fd));
  sample.recv_ns = per_event(r0, runtime(recv_fd));
  sample.empty_ns = per_event(e0, runtime(empty_fd));
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

int run(int argc, char** argv) {
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

  // The empty baseline: another instance of the object, only on_send_empty.
  SkeletonPtr<socket_bpf> empty = open_skeleton<socket_bpf>();
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, empty->obj) bpf_program__set_autoload(prog, false);
  bpf_program__set_autoload(empty->progs.on_send_empty, true);
  if (socket_bpf::load(empty.get()) != 0) {
    std::fprintf(stderr, "loading the empty program failed\n");
    return 1;
  }
  LinkPtr empty_link(bpf_program__attach_trace(empty->progs.on_send_empty));
  const int empty_fd = bpf_program__fd(empty->progs.on_send_empty);

  const int port = 15201 + getpid() % 1000;
  pid_t server = spawn({"iperf3", "-s", "-p", std::to_string(port)});
  usleep(500000);
  std::vector<double> metrics_send, metrics_recv, events_send, events_recv;
  std::printf("round mode     send_ns recv_ns empty_ns send/empty recv/empty events\n");
  for (int r = 0; r < rounds; ++r) {
    for (bool events : {false, true}) {
      Sample s = run_once(config, preflight, empty_fd, events, port, seconds);
      const double send_ratio = s.send_ns / s.empty_ns, recv_ratio = s.recv_ns / s.empty_ns;
      std::printf("%5d %-8s %7.1f %7.1f %8.1f %10.2f %10.2f %llu\n", r,
                  events ? "events" : "metrics", s.send_ns, s.recv_ns, s.empty_ns, send_ratio,
                  recv_ratio, static_cast<unsigned long long>(s.events));
      (events ? events_send : metrics_send).push_back(send_ratio);
      (events ? events_recv : metrics_recv).push_back(recv_ratio);
    }
  }
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  summarize("metrics only, send/empty", metrics_send);
  summarize("metrics only, recv/empty", metrics_recv);
  summarize("events on, send/empty", events_send);
  summarize("events on, recv/empty", events_recv);
  return 0;
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) { return netobs::run(argc, argv); }
