#include "collectors/tcp/tcp_state_counter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "exporter/log.h"
#include "tcp_states.skel.h"

namespace netobs {

struct TcpStateCounter::Iterator {
  SkeletonPtr<tcp_states_bpf> skel;
  LinkPtr link;
};

TcpStateCounter::TcpStateCounter(TcpStateCounter&&) noexcept = default;
TcpStateCounter& TcpStateCounter::operator=(TcpStateCounter&&) noexcept = default;
TcpStateCounter::~TcpStateCounter() = default;

Result<TcpStateCounter> TcpStateCounter::open(const std::string& netns_path, bool allow_iterator) {
  TcpStateCounter counter;
  if (!netns_path.empty()) {
    counter.netns_ = UniqueFd(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!counter.netns_.valid()) {
      return Status::error("opening network namespace " + netns_path +
                           " failed: " + std::strerror(errno) +
                           " (use a path like /run/netns/NAME or /proc/PID/ns/net)");
    }
  }
  if (allow_iterator) {
    auto iterator = std::make_unique<Iterator>();
    iterator->skel = open_skeleton<tcp_states_bpf>();
    std::string why;
    if (!iterator->skel) {
      why = std::string("open: ") + std::strerror(errno);
    } else if (tcp_states_bpf::load(iterator->skel.get()) != 0) {
      why = std::string("load: ") + std::strerror(errno);
    } else {
      iterator->link.reset(
          bpf_program__attach_iter(iterator->skel->progs.count_tcp_states, nullptr));
      if (!iterator->link) why = std::string("attach: ") + std::strerror(errno);
    }
    if (why.empty()) {
      counter.iterator_ = std::move(iterator);
      return counter;
    }
    // Kernels before 5.9 have no iter/tcp: sock_diag gives the same counts.
    log_info("tcp state iterator unavailable; counting states with sock_diag",
             {{"collector", "tcp"}, {"err", why}});
  }
  Result<SockDiagSocket> diag =
      netns_path.empty() ? SockDiagSocket::open() : SockDiagSocket::open_in_namespace(netns_path);
  if (!diag) return diag.status();
  counter.diag_.emplace(std::move(*diag));
  return counter;
}

std::string_view TcpStateCounter::method() const { return iterator_ ? "bpf_iter" : "sock_diag"; }

std::optional<BpfProgramStatus> TcpStateCounter::program_status() const {
  if (!iterator_) return std::nullopt;
  return BpfProgramStatus{"tcp_states", "iter", true,
                          bpf_program__fd(iterator_->skel->progs.count_tcp_states)};
}

std::optional<BpfMapStatus> TcpStateCounter::map_status() const {
  if (!iterator_) return std::nullopt;
  const bpf_map* map = iterator_->skel->maps.state_counts;
  return BpfMapStatus{"state_counts", bpf_map__fd(map), bpf_map__max_entries(map), 0};
}

Result<TcpStateCounts> TcpStateCounter::count() {
  if (iterator_) return count_with_iterator();
  return diag_->count_states();
}

Result<TcpStateCounts> TcpStateCounter::count_with_iterator() {
  const int map_fd = bpf_map__fd(iterator_->skel->maps.state_counts);
  TcpStateCounts counts{};
  for (uint32_t state = 0; state < counts.size(); ++state) {
    const uint64_t zero = 0;
    if (bpf_map_update_elem(map_fd, &state, &zero, BPF_ANY) != 0) {
      return Status::error(std::string("resetting BPF map state_counts failed: ") +
                           std::strerror(errno));
    }
  }
  // The walk covers the namespace current when the iterator fd is created:
  // create it on a thread that joined the watched namespace.
  const int link_fd = bpf_link__fd(iterator_->link.get());
  int iter_fd = -1;
  int error = 0;
  auto create = [&] {
    iter_fd = bpf_iter_create(link_fd);
    if (iter_fd < 0) error = errno;
  };
  if (netns_.valid()) {
    std::thread([&] {
      if (::setns(netns_.get(), CLONE_NEWNET) != 0) {
        error = errno;
        return;
      }
      create();
    }).join();
  } else {
    create();
  }
  if (iter_fd < 0) {
    return Status::error(std::string("creating the tcp state iterator failed: ") +
                         std::strerror(error));
  }
  UniqueFd fd(iter_fd);
  char buffer[64];
  // The program writes nothing: read() returns 0 once every socket was seen.
  for (int attempt = 0;; ++attempt) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (attempt > 1000000) return Status::error("the tcp state iterator did not finish");
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return Status::error(std::string("reading the tcp state iterator failed: ") +
                           std::strerror(errno));
    }
  }
  for (uint32_t state = 0; state < counts.size(); ++state) {
    if (bpf_map_lookup_elem(map_fd, &state, &counts[state]) != 0) {
      return Status::error(std::string("reading BPF map state_counts failed: ") +
                           std::strerror(errno));
    }
  }
  return counts;
}

}  // namespace netobs
