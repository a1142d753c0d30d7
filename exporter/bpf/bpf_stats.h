// Kernel BPF run-time statistics and map occupancy, for the per-program and
// per-map self-metrics. Reads are syscalls on fds the collectors own; any
// thread may call them.
#pragma once

#include <cstdint>

#include "exporter/bpf/skeleton.h"
#include "exporter/status.h"

namespace netobs {

// Keeps kernel BPF run-time accounting (run_time_ns, run_cnt) on while alive:
// holds the fd from bpf_enable_stats(BPF_STATS_RUN_TIME). Owned by the
// exporter for its whole life; needs CAP_SYS_ADMIN. Move-only.
class BpfStatsEnabler {
 public:
  static Result<BpfStatsEnabler> enable();

  BpfStatsEnabler(BpfStatsEnabler&&) = default;
  BpfStatsEnabler& operator=(BpfStatsEnabler&&) = default;

  int fd() const { return fd_.get(); }

 private:
  explicit BpfStatsEnabler(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

struct ProgramRuntime {
  uint64_t run_time_ns = 0;  // summed over every run since stats were enabled
  uint64_t run_cnt = 0;
};

// Run-time counters of a loaded program (zero while stats are off).
Result<ProgramRuntime> read_program_runtime(int prog_fd);

// Entries in a map. Array-like maps (array, per-CPU array, prog/perf/cgroup
// arrays) always hold max_entries; hash-like maps are walked by the shared
// map reader (walk_keys_raw: bounded by max_entries, an error past it).
// Ring buffers, queues and stacks have no keys and return an error.
Result<uint64_t> count_map_entries(int map_fd);

}  // namespace netobs
