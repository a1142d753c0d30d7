// Which processes hold which sockets: walks <procfs>/<pid>/fd like `ss -p`,
// mapping socket inodes (from sock_diag) to (pid, comm). Used by
// `netobs conns` on its own thread; the link parser is pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace netobs {

struct SocketOwner {
  int pid = 0;
  std::string comm;
};

// The inode of a "socket:[12345]" fd link; nullopt for anything else.
std::optional<uint32_t> parse_socket_link(std::string_view link);

// inode -> owners (several after a fork), for the inodes in `wanted` only.
// Unreadable processes are skipped (they exit, or belong to others without
// CAP_SYS_PTRACE).
std::unordered_map<uint32_t, std::vector<SocketOwner>> find_socket_owners(
    const std::string& procfs, const std::unordered_set<uint32_t>& wanted);

}  // namespace netobs
