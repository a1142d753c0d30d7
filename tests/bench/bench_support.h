// What the BPF benchmarks share: a network namespace of their own, loopback
// sockets, and the per-event cost of a program next to an empty one on the
// same hook, from the kernel's BPF run-time stats.
#pragma once

#include <benchmark/benchmark.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/bpf/bpf_stats.h"

namespace netobs::bench {

// Runs a shell command; its exit status.
int run(const std::string& command);

// A network namespace `<prefix><pid>` that the whole benchmark process
// enters, with loopback up and `setup` (a shell command, e.g. nftables
// rules) run inside it; deleted at exit. ok() is false when any step failed.
class BenchNetns {
 public:
  explicit BenchNetns(const std::string& prefix, const std::string& setup = "");
  ~BenchNetns();
  BenchNetns(const BenchNetns&) = delete;
  BenchNetns& operator=(const BenchNetns&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

sockaddr_in loopback(uint16_t port);
// A TCP listener on 127.0.0.1:port, or -1.
int listen_loopback(uint16_t port, int backlog);
// A TCP connection to 127.0.0.1:port, or -1.
int connect_loopback(uint16_t port);

// Runs between two readings of one program.
uint64_t runs_between(const ProgramRuntime& before, const ProgramRuntime& after);
// Average ns per run between two readings (0 when it did not run).
double ns_per_run(const ProgramRuntime& before, const ProgramRuntime& after);
// One reading per program (zeros for one that cannot be read).
std::vector<ProgramRuntime> read_runtimes(const std::vector<int>& prog_fds);

// A program and the empty program on its hook, attached side by side.
struct HookPair {
  std::string real;
  std::string empty;
};

// For pairs[i] measured at [2i] (real) and [2i+1] (empty) of the readings:
// counters <real>_ns, <empty>_ns, <real>_ratio and <real>_events.
void report_pairs(benchmark::State& state, const std::vector<HookPair>& pairs,
                  const std::vector<ProgramRuntime>& before,
                  const std::vector<ProgramRuntime>& after);

}  // namespace netobs::bench
