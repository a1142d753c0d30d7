#include "exporter/bpf/bpf_stats.h"

#include "exporter/bpf/map_reader.h"
#include "exporter/errno_name.h"
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace netobs {
namespace {

bool is_array_like(__u32 type) {
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case BPF_MAP_TYPE_CGROUP_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<BpfStatsEnabler> BpfStatsEnabler::enable() {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) {
    const int err = errno;
    std::string fix = err == EPERM
                          ? ": needs CAP_SYS_ADMIN, or set sysctl kernel.bpf_stats_enabled=1"
                          : ": kernel too old? (needs Linux 5.8)";
    return Status::error("bpf_enable_stats(BPF_STATS_RUN_TIME) failed: " + errno_text(err) + fix);
  }
  return BpfStatsEnabler(UniqueFd(fd));
}

Result<ProgramRuntime> read_program_runtime(int prog_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
    return Status::error("reading BPF program info (fd " + std::to_string(prog_fd) +
                         ") failed: " + errno_text(errno));
  }
  return ProgramRuntime{info.run_time_ns, info.run_cnt};
}

Result<uint64_t> count_map_entries(int map_fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) {
    return Status::error("reading BPF map info (fd " + std::to_string(map_fd) +
                         ") failed: " + errno_text(errno));
  }
  if (is_array_like(info.type)) return static_cast<uint64_t>(info.max_entries);
  const MapRef map{map_fd, info.name, info.max_entries, info.key_size, info.value_size};
  std::vector<unsigned char> keys;
  Status walked = walk_keys_raw(map, info.key_size > 0 ? info.key_size : 1, keys);
  if (!walked) return walked;
  return static_cast<uint64_t>(keys.size() / (info.key_size > 0 ? info.key_size : 1));
}

}  // namespace netobs
