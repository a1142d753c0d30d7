// Counts TCP sockets by state for netobs_tcp_connections{state}. Preferred:
// counts kept up to date in BPF from sock:inet_sock_set_state and seeded
// once at start (bpf/tcp_states.bpf.c), so a scrape costs O(states), not
// O(connections); timewait sockets from /proc/net/sockstat and request
// sockets from a walk of the listening table are added at scrape time.
// Fallbacks: a BPF iterator over every socket at each scrape, then a
// NETLINK_SOCK_DIAG dump. Owned by the tcp collector; count() runs on its
// (serialized) scrape thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/net/sock_diag.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/collector.h"
#include "exporter/status.h"

namespace netobs {

enum class TcpStateMethod {
  kTracked,   // BPF transition counts + sockstat + listener walk
  kIterator,  // BPF iterator over every socket, per scrape
  kSockDiag,  // sock_diag dump, per scrape
};

class TcpStateCounter {
 public:
  // Sockets of the namespace at `netns_path`, or of the caller's when empty.
  // `best` is the first method tried; each falls back to the next (tests and
  // benchmarks force one).
  static Result<TcpStateCounter> open(const std::string& netns_path,
                                      TcpStateMethod best = TcpStateMethod::kTracked);
  TcpStateCounter(TcpStateCounter&&) noexcept;
  TcpStateCounter& operator=(TcpStateCounter&&) noexcept;
  ~TcpStateCounter();

  Result<TcpStateCounts> count();
  // "tracked", "bpf_iter" or "sock_diag".
  std::string_view method() const;
  // The BPF programs and maps in use, for the BPF self-metrics.
  std::vector<BpfProgramStatus> program_status() const;
  std::vector<BpfMapStatus> map_status() const;

 private:
  struct Bpf;
  TcpStateCounter() = default;
  Status open_tracked(const std::string& netns_path);
  Status open_iterator();
  Result<TcpStateCounts> count_tracked();
  Result<TcpStateCounts> count_with_iterator();
  // Creates an iterator fd for `link_fd` in the watched namespace and reads
  // it to the end; `stop_on_eagain`: EAGAIN (the program returned 1) ends
  // the walk.
  Status run_iterator(int link_fd, bool stop_on_eagain);
  std::unique_ptr<Bpf> bpf_;
  std::optional<SockDiagSocket> diag_;
  UniqueFd netns_;     // open while counting in another namespace
  UniqueFd sockstat_;  // /proc/net/sockstat of the watched namespace (tracked)
  TcpStateMethod method_ = TcpStateMethod::kSockDiag;
};

// The `tw` field of /proc/net/sockstat ("TCP: inuse 5 orphan 0 tw 3 ...");
// nullopt when absent. Pure, for tests.
std::optional<uint64_t> parse_sockstat_timewait(std::string_view text);

}  // namespace netobs
