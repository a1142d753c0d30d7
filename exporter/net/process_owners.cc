#include "exporter/net/process_owners.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "bpf/socket_owners.h"
#include "exporter/bounded_file.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/errno_name.h"
#include "socket_owners.skel.h"

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
  Result<int> opened = open_proc_file(path);  // non-blocking, regular files only
  if (!opened) return "";
  const int fd = *opened;
  char buffer[64];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  if (n <= 0) return "";
  std::string comm(buffer, static_cast<size_t>(n));
  while (!comm.empty() && (comm.back() == '\n' || comm.back() == '\0')) comm.pop_back();
  return comm;
}

// One entry per process even when it holds the socket in several
// descriptors (or, for a thread with its own file table, twice).
void add_owner(std::vector<SocketOwner>& list, int pid, std::string_view comm) {
  for (const SocketOwner& o : list) {
    if (o.pid == pid) return;
  }
  list.push_back({pid, std::string(comm)});
}

Status errno_error(const std::string& what, int error) {
  return Status::error(what + " failed: " + errno_text(error));
}

// PROC_PID_INIT_INO (include/linux/proc_ns.h): the initial pid namespace.
constexpr ino_t kInitPidNamespaceInode = 0xEFFFFFFCU;

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

SocketOwnerMap find_socket_owners(const std::string& procfs,
                                  const std::unordered_set<uint32_t>& wanted) {
  SocketOwnerMap owners;
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
      add_owner(owners[*inode], *pid, comm);
    }
  }
  return owners;
}

struct SocketOwnerIterator::Bpf {
  SkeletonPtr<socket_owners_bpf> skel;
  LinkPtr link;
};

SocketOwnerIterator::SocketOwnerIterator(std::unique_ptr<Bpf> bpf) : bpf_(std::move(bpf)) {}
SocketOwnerIterator::~SocketOwnerIterator() = default;

Result<std::unique_ptr<SocketOwnerIterator>> SocketOwnerIterator::open() {
  // The program reports task->tgid, the pid of the initial namespace; /proc
  // of another pid namespace names processes differently.
  struct stat ns {};
  if (::stat("/proc/self/ns/pid", &ns) != 0 || ns.st_ino != kInitPidNamespaceInode) {
    return Status::error("not in the initial pid namespace (the iterator reports its pids)");
  }
  auto bpf = std::make_unique<Bpf>();
  bpf->skel = open_skeleton<socket_owners_bpf>();
  if (!bpf->skel) return errno_error("opening the socket_owners BPF object", errno);
  if (int err = socket_owners_bpf::load(bpf->skel.get()); err != 0) {
    return errno_error("loading the socket_owners iterator (iter/task_file, Linux 5.8+)", -err);
  }
  bpf->link.reset(bpf_program__attach_iter(bpf->skel->progs.socket_owners, nullptr));
  if (!bpf->link) return errno_error("attaching the socket_owners iterator", errno);
  return std::unique_ptr<SocketOwnerIterator>(new SocketOwnerIterator(std::move(bpf)));
}

Status SocketOwnerIterator::find(const std::unordered_set<uint32_t>& wanted,
                                 SocketOwnerMap& owners) {
  owners.clear();
  if (wanted.empty()) return Status::ok();
  return walk(&wanted, owners);
}

Status SocketOwnerIterator::find_all(SocketOwnerMap& owners) {
  owners.clear();
  return walk(nullptr, owners);
}

Status SocketOwnerIterator::walk(const std::unordered_set<uint32_t>* wanted,
                                 SocketOwnerMap& owners) {
  // Few inodes (`--top N`): the kernel writes only theirs. Many: every
  // socket, and the lookup below filters (cheaper than filling the map).
  const int map_fd = bpf_map__fd(bpf_->skel->maps.wanted);
  for (uint64_t inode : filled_) bpf_map_delete_elem(map_fd, &inode);
  filled_.clear();
  const bool filter = wanted && wanted->size() <= NETOBS_SOCKET_OWNERS_MAX_WANTED;
  if (filter) {
    const uint8_t yes = 1;
    for (uint32_t inode : *wanted) {
      const uint64_t key = inode;
      if (bpf_map_update_elem(map_fd, &key, &yes, BPF_ANY) != 0) {
        return errno_error("filling BPF map wanted", errno);
      }
      filled_.push_back(key);
    }
  }
  bpf_->skel->bss->filter_wanted = filter ? 1 : 0;

  UniqueFd fd(bpf_iter_create(bpf_link__fd(bpf_->link.get())));
  if (!fd.valid()) return errno_error("creating the socket_owners iterator", errno);
  // Records are written whole, but read() may end anywhere: keep the tail.
  buffer_.resize(256 * 1024);
  size_t held = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer_.data() + held, buffer_.size() - held);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading the socket_owners iterator", errno);
    if (n == 0) break;
    held += static_cast<size_t>(n);
    size_t used = 0;
    for (; used + sizeof(netobs_socket_owner) <= held; used += sizeof(netobs_socket_owner)) {
      netobs_socket_owner record;
      std::memcpy(&record, buffer_.data() + used, sizeof record);
      const auto inode = static_cast<uint32_t>(record.inode);
      if (!filter && wanted && !wanted->contains(inode)) continue;
      add_owner(owners[inode], static_cast<int>(record.tgid),
                std::string_view(record.comm, strnlen(record.comm, sizeof record.comm)));
    }
    std::memmove(buffer_.data(), buffer_.data() + used, held - used);
    held -= used;
  }
  return Status::ok();
}

}  // namespace netobs
