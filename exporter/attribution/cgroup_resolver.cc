#include "exporter/attribution/cgroup_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "exporter/bounded_file.h"
#include "exporter/errno_name.h"

namespace netobs {
namespace {

// Bounds a walk on a node with a pathological number of cgroups.
constexpr size_t kMaxCgroups = 200000;
// FILEID_KERNFS: the handle type cgroup2 (kernfs) uses; the handle is the
// 64-bit cgroup id.
constexpr int kFileIdKernfs = 0xfe;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> CgroupResolver::find_cgroup2_mount(const std::string& procfs) {
  // Bounded and non-blocking: --path.procfs may point anywhere. Nodes with
  // thousands of container mounts have a mounts file of a few MiB.
  constexpr size_t kMaxMountsBytes = size_t{16} << 20;
  std::string text;
  if (Status read = read_proc_file(procfs + "/mounts", text, kMaxMountsBytes); !read.is_ok()) {
    return Status::error("cannot read " + read.message());
  }
  std::istringstream mounts(text);
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string device, mount_point, type;
    if (fields >> device >> mount_point >> type && type == "cgroup2") return mount_point;
  }
  return Status::error("no cgroup2 file system is mounted (" + procfs +
                       "/mounts lists none): mount it, e.g. mount -t cgroup2 none /sys/fs/cgroup");
}

Result<uint64_t> CgroupResolver::id_of(const std::string& directory) {
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0) {
    return Status::error("cannot stat " + directory + ": " + errno_message(errno));
  }
  return static_cast<uint64_t>(st.st_ino);
}

CgroupResolver::CgroupResolver(std::string root, std::chrono::milliseconds rewalk_interval)
    : root_(std::move(root)), rewalk_interval_(rewalk_interval) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

void CgroupResolver::walk_locked() {
  ++walks_;
  last_walk_ = Clock::now();
  walked_ = true;
  paths_.clear();
  std::vector<std::string> pending = {""};
  while (!pending.empty() && paths_.size() < kMaxCgroups) {
    std::string relative = std::move(pending.back());
    pending.pop_back();
    std::string directory = root_ + relative;
    Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) continue;  // removed meanwhile
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) continue;
    paths_[st.st_ino] = relative.empty() ? "/" : relative;
    DIR* dir = ::fdopendir(::dup(fd.get()));
    if (dir == nullptr) continue;
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_type != DT_DIR) continue;
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      pending.push_back(relative + "/" + entry->d_name);
    }
    ::closedir(dir);
  }
}

std::optional<std::string> CgroupResolver::by_handle_locked(uint64_t id) {
  if (!handles_work_) return std::nullopt;
  ++handle_lookups_;
  Fd mount_fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (mount_fd.get() < 0) return std::nullopt;
  alignas(file_handle) unsigned char storage[sizeof(file_handle) + sizeof(uint64_t)] = {};
  auto* handle = reinterpret_cast<file_handle*>(storage);
  handle->handle_bytes = sizeof(uint64_t);
  handle->handle_type = kFileIdKernfs;
  std::memcpy(storage + sizeof(file_handle), &id, sizeof id);
  Fd fd(::open_by_handle_at(mount_fd.get(), handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) handles_work_ = false;
    return std::nullopt;
  }
  char target[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd.get());
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return std::nullopt;
  std::string path(target, static_cast<size_t>(n));
  if (path.rfind(root_, 0) != 0) return std::nullopt;  // outside our view of the hierarchy
  path.erase(0, root_ == "/" ? 0 : root_.size());
  return path.empty() ? "/" : path;
}

std::optional<std::string> CgroupResolver::path_of(uint64_t id) {
  std::lock_guard lock(mutex_);
  if (!walked_) walk_locked();
  if (auto found = paths_.find(id); found != paths_.end()) return found->second;
  if (std::optional<std::string> path = by_handle_locked(id)) {
    paths_[id] = *path;
    return path;
  }
  if (Clock::now() - last_walk_ >= rewalk_interval_) {
    walk_locked();
    if (auto found = paths_.find(id); found != paths_.end()) return found->second;
  }
  return std::nullopt;
}

bool CgroupResolver::exists(uint64_t id) {
  std::optional<std::string> path;
  {
    std::lock_guard lock(mutex_);
    if (auto found = paths_.find(id); found != paths_.end()) path = found->second;
  }
  if (!path) return path_of(id).has_value();
  Result<uint64_t> now = id_of(*path == "/" ? root_ : root_ + *path);
  if (now && *now == id) return true;
  std::lock_guard lock(mutex_);
  paths_.erase(id);  // removed (or replaced by a new cgroup with the same name)
  return false;
}

uint64_t CgroupResolver::walks() const {
  std::lock_guard lock(mutex_);
  return walks_;
}

uint64_t CgroupResolver::handle_lookups() const {
  std::lock_guard lock(mutex_);
  return handle_lookups_;
}

}  // namespace netobs
