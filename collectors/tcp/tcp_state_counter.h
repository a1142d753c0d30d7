// Counts TCP sockets by state for netobs_tcp_connections{state}: with a BPF
// iterator over the kernel's TCP hash tables (bpf/tcp_states.bpf.c, Linux
// 5.9+), which copies 13 counters instead of one netlink message per socket,
// and with a NETLINK_SOCK_DIAG dump where the iterator cannot load. Owned by
// the tcp collector; count() runs on its (serialized) scrape thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/tcp/sock_diag.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/collector.h"
#include "exporter/status.h"

namespace netobs {

class TcpStateCounter {
 public:
  // Sockets of the namespace at `netns_path`, or of the caller's when empty.
  // `allow_iterator` false forces sock_diag (tests, benchmarks).
  static Result<TcpStateCounter> open(const std::string& netns_path, bool allow_iterator = true);
  TcpStateCounter(TcpStateCounter&&) noexcept;
  TcpStateCounter& operator=(TcpStateCounter&&) noexcept;
  ~TcpStateCounter();

  Result<TcpStateCounts> count();
  // "bpf_iter" or "sock_diag".
  std::string_view method() const;
  // The iterator program, for the BPF self-metrics; nullopt with sock_diag.
  std::optional<BpfProgramStatus> program_status() const;
  std::optional<BpfMapStatus> map_status() const;

 private:
  struct Iterator;
  TcpStateCounter() = default;
  Result<TcpStateCounts> count_with_iterator();
  std::unique_ptr<Iterator> iterator_;
  std::optional<SockDiagSocket> diag_;
  UniqueFd netns_;  // open while counting in another namespace
};

}  // namespace netobs
