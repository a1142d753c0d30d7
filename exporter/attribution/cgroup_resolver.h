// CgroupResolver: cgroup v2 id (what bpf_get_current_cgroup_id and the
// socket's cgroup give) -> the cgroup's path below the cgroup2 mount.
// The mount is walked once; an id not seen then is resolved lazily through
// open_by_handle_at (the id is the kernfs file handle; needs
// CAP_DAC_READ_SEARCH), else by a new walk at most once per
// `rewalk_interval`. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "exporter/status.h"

namespace netobs {

class CgroupResolver {
 public:
  using Clock = std::chrono::steady_clock;

  // The cgroup2 mount point named in `<procfs>/mounts` (the first one).
  static Result<std::string> find_cgroup2_mount(const std::string& procfs = "/proc");
  // The cgroup id of a cgroup directory (its inode number on cgroup2).
  static Result<uint64_t> id_of(const std::string& directory);

  explicit CgroupResolver(std::string root,
                          std::chrono::milliseconds rewalk_interval = std::chrono::seconds(5));
  CgroupResolver(const CgroupResolver&) = delete;
  CgroupResolver& operator=(const CgroupResolver&) = delete;

  const std::string& root() const { return root_; }

  // "/system.slice/nginx.service" ("/" for the root cgroup), or nullopt
  // when no cgroup with this id exists (any more).
  std::optional<std::string> path_of(uint64_t id);
  // Whether the cgroup still exists: its directory is there with this id.
  bool exists(uint64_t id);

  // Counts for tests and self-metrics.
  uint64_t walks() const;
  uint64_t handle_lookups() const;

 private:
  void walk_locked();
  std::optional<std::string> by_handle_locked(uint64_t id);

  std::string root_;
  const std::chrono::milliseconds rewalk_interval_;
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::string> paths_;
  Clock::time_point last_walk_{};
  bool walked_ = false;
  bool handles_work_ = true;  // false after EPERM: no CAP_DAC_READ_SEARCH
  uint64_t walks_ = 0;
  uint64_t handle_lookups_ = 0;
};

}  // namespace netobs
