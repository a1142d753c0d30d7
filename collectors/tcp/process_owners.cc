#include "collectors/tcp/process_owners.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <memory>

namespace netobs {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

std::optional<int> parse_pid(const char* name) {
  int pid = 0;
  const char* end = name + std::char_traits<char>::length(name);
  auto [ptr, ec] = std::from_chars(name, end, pid);
  if (ec != std::errc() || ptr != end || pid <= 0) return std::nullopt;
  return pid;
}

std::string read_comm(const std::string& procfs, int pid) {
  std::string path = procfs + "/" + std::to_string(pid) + "/comm";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[64];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n <= 0) return "";
  std::string comm(buffer, static_cast<size_t>(n));
  while (!comm.empty() && (comm.back() == '\n' || comm.back() == '\0')) comm.pop_back();
  return comm;
}

}  // namespace

std::optional<uint32_t> parse_socket_link(std::string_view link) {
  constexpr std::string_view kPrefix = "socket:[";
  if (link.size() <= kPrefix.size() + 1 || link.substr(0, kPrefix.size()) != kPrefix ||
      link.back() != ']') {
    return std::nullopt;
  }
  std::string_view digits = link.substr(kPrefix.size(), link.size() - kPrefix.size() - 1);
  uint32_t inode = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return inode;
}

std::unordered_map<uint32_t, std::vector<SocketOwner>> find_socket_owners(
    const std::string& procfs, const std::unordered_set<uint32_t>& wanted) {
  std::unordered_map<uint32_t, std::vector<SocketOwner>> owners;
  if (wanted.empty()) return owners;
  DirPtr proc(opendir(procfs.c_str()));
  if (!proc) return owners;
  while (dirent* entry = readdir(proc.get())) {
    std::optional<int> pid = parse_pid(entry->d_name);
    if (!pid) continue;
    const std::string fd_dir = procfs + "/" + entry->d_name + "/fd";
    DirPtr fds(opendir(fd_dir.c_str()));
    if (!fds) continue;
    std::string comm;
    bool comm_read = false;
    const int dir_fd = dirfd(fds.get());
    while (dirent* fd_entry = readdir(fds.get())) {
      if (fd_entry->d_name[0] == '.') continue;
      char link[64];
      ssize_t n = readlinkat(dir_fd, fd_entry->d_name, link, sizeof link);
      if (n <= 0) continue;
      std::optional<uint32_t> inode =
          parse_socket_link(std::string_view(link, static_cast<size_t>(n)));
      if (!inode || !wanted.contains(*inode)) continue;
      if (!comm_read) {
        comm = read_comm(procfs, *pid);
        comm_read = true;
      }
      std::vector<SocketOwner>& list = owners[*inode];
      if (list.empty() || list.back().pid != *pid) list.push_back({*pid, comm});
    }
  }
  return owners;
}

}  // namespace netobs
