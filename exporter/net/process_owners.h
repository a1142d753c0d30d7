// Which processes hold which sockets, mapping socket inodes (from sock_diag)
// to (pid, comm): from the kernel through the socket_owners BPF iterator
// (bpf/socket_owners.bpf.c), or by walking <procfs>/<pid>/fd like `ss -p`
// where the iterator cannot load. Used by `netobs conns` on its own thread;
// the link parser is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "exporter/status.h"

namespace netobs {

struct SocketOwner {
  int pid = 0;
  std::string comm;
  bool operator==(const SocketOwner&) const = default;
};

using SocketOwnerMap = std::unordered_map<uint32_t, std::vector<SocketOwner>>;

// The inode of a "socket:[12345]" fd link; nullopt for anything else.
std::optional<uint32_t> parse_socket_link(std::string_view link);

// inode -> owners (several after a fork), for the inodes in `wanted` only.
// Unreadable processes are skipped (they exit, or belong to others without
// CAP_SYS_PTRACE).
SocketOwnerMap find_socket_owners(const std::string& procfs,
                                  const std::unordered_set<uint32_t>& wanted);

// The same answer from the kernel: the socket_owners iterator (iter/task_file,
// Linux 5.8+) visits every open file of every process and reports the socket
// files, so nothing walks /proc. Pids are those of the initial pid namespace:
// open() refuses to work from another one (use the /proc walk there). Owned by
// one caller (`netobs conns`); one walk at a time.
class SocketOwnerIterator {
 public:
  // Loads and attaches the iterator program (needs CAP_BPF/CAP_SYS_ADMIN and
  // kernel BTF); the error says why it cannot.
  static Result<std::unique_ptr<SocketOwnerIterator>> open();
  ~SocketOwnerIterator();
  SocketOwnerIterator(const SocketOwnerIterator&) = delete;
  SocketOwnerIterator& operator=(const SocketOwnerIterator&) = delete;

  // One walk: fills `owners` with the owners of the inodes in `wanted` only,
  // ordered like find_socket_owners (by pid).
  Status find(const std::unordered_set<uint32_t>& wanted, SocketOwnerMap& owners);
  // One walk reporting the owners of every socket.
  Status find_all(SocketOwnerMap& owners);

 private:
  struct Bpf;
  explicit SocketOwnerIterator(std::unique_ptr<Bpf> bpf);
  // `wanted` null: every socket.
  Status walk(const std::unordered_set<uint32_t>* wanted, SocketOwnerMap& owners);
  std::unique_ptr<Bpf> bpf_;
  std::vector<uint64_t> filled_;  // inodes in the kernel's `wanted` map
  std::vector<char> buffer_;
};

}  // namespace netobs
