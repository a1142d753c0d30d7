#include "collectors/tcp/tcp_state_counter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <functional>
#include <thread>

#include "exporter/log.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/errno_name.h"
#include "tcp_states.skel.h"

namespace netobs {

struct TcpStateCounter::Bpf {
  SkeletonPtr<tcp_states_bpf> skel;
  LinkPtr track;  // tp_btf/inet_sock_set_state (tracked)
  LinkPtr seed;   // iter: one-time seed walk (tracked)
  LinkPtr syn;    // iter: listening table only (tracked)
  LinkPtr count;  // iter: every socket (iterator method)
};

namespace {

// Runs `f` on a short-lived thread inside the namespace of `netns` (or on
// the calling thread when it is not open); returns errno of setns, or 0.
int in_namespace(const UniqueFd& netns, const std::function<void()>& f) {
  if (!netns.valid()) {
    f();
    return 0;
  }
  int error = 0;
  std::thread([&] {
    if (::setns(netns.get(), CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    f();
  }).join();
  return error;
}

Status errno_status(const std::string& what, int err) {
  return Status::error(what + " failed: " + errno_text(err));
}

}  // namespace

std::optional<uint64_t> parse_sockstat_timewait(std::string_view text) {
  size_t line = text.find("TCP: ");
  if (line == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(line);
  rest = rest.substr(0, rest.find('\n'));
  const size_t at = rest.find(" tw ");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = rest.substr(at + 4);
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr == digits.data()) return std::nullopt;
  return value;
}

TcpStateCounter::TcpStateCounter(TcpStateCounter&&) noexcept = default;
TcpStateCounter& TcpStateCounter::operator=(TcpStateCounter&&) noexcept = default;
TcpStateCounter::~TcpStateCounter() = default;

Result<TcpStateCounter> TcpStateCounter::open(const std::string& netns_path, TcpStateMethod best) {
  TcpStateCounter counter;
  if (!netns_path.empty()) {
    counter.netns_ = UniqueFd(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!counter.netns_.valid()) {
      return Status::error("opening network namespace " + netns_path +
                           " failed: " + std::strerror(errno) +
                           " (use a path like /run/netns/NAME or /proc/PID/ns/net)");
    }
  }
  if (best == TcpStateMethod::kTracked) {
    Status status = counter.open_tracked(netns_path);
    if (status) {
      counter.method_ = TcpStateMethod::kTracked;
      return counter;
    }
    counter.bpf_.reset();
    counter.sockstat_ = UniqueFd();
    // Kernels without socket storage for tracing programs (5.11) or iter/tcp
    // with socket locking (5.15): walk the sockets at each scrape instead.
    log_info("tcp state tracking unavailable; counting states at each scrape",
             {{"collector", "tcp"}, {"err", status.message()}});
  }
  if (best != TcpStateMethod::kSockDiag) {
    Status status = counter.open_iterator();
    if (status) {
      counter.method_ = TcpStateMethod::kIterator;
      return counter;
    }
    counter.bpf_.reset();
    // Kernels before 5.9 have no iter/tcp: sock_diag gives the same counts.
    log_info("tcp state iterator unavailable; counting states with sock_diag",
             {{"collector", "tcp"}, {"err", status.message()}});
  }
  Result<SockDiagSocket> diag =
      netns_path.empty() ? SockDiagSocket::open() : SockDiagSocket::open_in_namespace(netns_path);
  if (!diag) return diag.status();
  counter.diag_.emplace(std::move(*diag));
  counter.method_ = TcpStateMethod::kSockDiag;
  return counter;
}

Status TcpStateCounter::open_tracked(const std::string& netns_path) {
  // The seed walk is exact only if iter/tcp runs its program with the socket
  // locked (Linux 5.15, "bpf: tcp: Bpf iter batching and lock_sock").
  utsname name{};
  int major = 0, minor = 0;
  if (::uname(&name) != 0 || std::sscanf(name.release, "%d.%d", &major, &minor) != 2 ||
      major * 1000 + minor < 5015) {
    return Status::error(std::string("kernel ") + name.release +
                         " is older than 5.15 (iter/tcp without socket locking)");
  }
  Result<uint32_t> inode =
      namespace_inode(netns_path.empty() ? "/proc/thread-self/ns/net" : netns_path);
  if (!inode) return inode.status();
  bpf_ = std::make_unique<Bpf>();
  if (Result<size_t> cpus = possible_cpus(); !cpus) return cpus.status();
  bpf_->skel = open_skeleton<tcp_states_bpf>();
  if (!bpf_->skel) return errno_status("opening tcp_states.bpf.o", errno);
  tcp_states_bpf& skel = *bpf_->skel;
  skel.rodata->target_netns = *inode;
  bpf_program__set_autoload(skel.progs.count_tcp_states, false);
  if (tcp_states_bpf::load(&skel) != 0) return errno_status("loading tcp_states.bpf.o", errno);

  // 1. The tracepoint first: from here on no transition goes unseen.
  bpf_->track.reset(bpf_program__attach(skel.progs.track_tcp_states));
  if (!bpf_->track) return errno_status("attaching track_tcp_states", errno);
  bpf_->seed.reset(bpf_program__attach_iter(skel.progs.seed_tcp_states, nullptr));
  if (!bpf_->seed) return errno_status("attaching seed_tcp_states", errno);
  bpf_->syn.reset(bpf_program__attach_iter(skel.progs.count_syn_queues, nullptr));
  if (!bpf_->syn) return errno_status("attaching count_syn_queues", errno);
  // 2. One walk over the existing sockets (see bpf/tcp_states.bpf.c for why
  // nothing is lost or counted twice).
  Status seeded = run_iterator(bpf_link__fd(bpf_->seed.get()), false);
  if (!seeded) return seeded;
  // 3. Every socket in the tables is counted: plain transitions from now on.
  skel.data->seeding = 0;
  if (skel.bss->track_errors != 0) {
    return Status::error("socket storage could not be created for " +
                         std::to_string(skel.bss->track_errors) + " sockets");
  }

  // /proc/net/sockstat as the watched namespace sees it: the file answers
  // for the namespace of the thread that opened it.
  int fd = -1;
  int error = 0;
  int ns_error = in_namespace(netns_, [&] {
    fd = ::open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) error = errno;
  });
  if (ns_error != 0) return errno_status("joining the network namespace", ns_error);
  if (fd < 0) return errno_status("opening /proc/thread-self/net/sockstat", error);
  sockstat_ = UniqueFd(fd);
  return Status::ok();
}

Status TcpStateCounter::open_iterator() {
  bpf_ = std::make_unique<Bpf>();
  bpf_->skel = open_skeleton<tcp_states_bpf>();
  if (!bpf_->skel) return errno_status("opening tcp_states.bpf.o", errno);
  tcp_states_bpf& skel = *bpf_->skel;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel.obj) { bpf_program__set_autoload(prog, false); }
  bpf_program__set_autoload(skel.progs.count_tcp_states, true);
  if (tcp_states_bpf::load(&skel) != 0) return errno_status("loading tcp_states.bpf.o", errno);
  bpf_->count.reset(bpf_program__attach_iter(skel.progs.count_tcp_states, nullptr));
  if (!bpf_->count) return errno_status("attaching count_tcp_states", errno);
  return Status::ok();
}

std::string_view TcpStateCounter::method() const {
  switch (method_) {
    case TcpStateMethod::kTracked:
      return "tracked";
    case TcpStateMethod::kIterator:
      return "bpf_iter";
    case TcpStateMethod::kSockDiag:
      break;
  }
  return "sock_diag";
}

std::vector<BpfProgramStatus> TcpStateCounter::program_status() const {
  std::vector<BpfProgramStatus> out;
  if (!bpf_) return out;
  const tcp_states_bpf& skel = *bpf_->skel;
  if (method_ == TcpStateMethod::kTracked) {
    out.push_back(
        {"track_tcp_states", "tp_btf", true, bpf_program__fd(skel.progs.track_tcp_states)});
    out.push_back({"count_syn_queues", "iter", true, bpf_program__fd(skel.progs.count_syn_queues)});
  } else {
    out.push_back({"tcp_states", "iter", true, bpf_program__fd(skel.progs.count_tcp_states)});
  }
  return out;
}

std::vector<BpfMapStatus> TcpStateCounter::map_status() const {
  std::vector<BpfMapStatus> out;
  if (!bpf_) return out;
  const bpf_map* map = method_ == TcpStateMethod::kTracked ? bpf_->skel->maps.live_counts
                                                           : bpf_->skel->maps.state_counts;
  out.push_back({bpf_map__name(map), bpf_map__fd(map), bpf_map__max_entries(map),
                 method_ == TcpStateMethod::kTracked ? bpf_->skel->bss->track_errors : 0});
  return out;
}

Result<TcpStateCounts> TcpStateCounter::count() {
  switch (method_) {
    case TcpStateMethod::kTracked:
      return count_tracked();
    case TcpStateMethod::kIterator:
      return count_with_iterator();
    case TcpStateMethod::kSockDiag:
      break;
  }
  return diag_->count_states();
}

Result<TcpStateCounts> TcpStateCounter::count_tracked() {
  tcp_states_bpf& skel = *bpf_->skel;
  TcpStateCounts counts{};
  // Full sockets: 11 per-CPU lookups, whatever the number of connections.
  const MapRef live_counts = MapRef::of(skel.maps.live_counts);
  for (uint32_t state = 1; state <= kTcpMaxState; ++state) {
    // Signed: a socket counted on one CPU may leave its state on another.
    Result<std::vector<int64_t>> per_cpu = lookup_percpu<int64_t>(live_counts, &state);
    if (!per_cpu) return per_cpu.status();
    int64_t sum = 0;
    for (int64_t v : *per_cpu) sum += v;
    counts[state] = sum > 0 ? static_cast<uint64_t>(sum) : 0;
  }
  // Request sockets: the listeners' SYN queues (a walk of the listening
  // table only).
  skel.bss->syn_queue = 0;
  Status walked = run_iterator(bpf_link__fd(bpf_->syn.get()), true);
  if (!walked) return walked;
  counts[kTcpSynRecv] += skel.bss->syn_queue;
  // Timewait sockets: the namespace's own counter. sock_diag shows a
  // timewait socket standing in for an orphaned FIN_WAIT2 connection as
  // FIN_WAIT2; the counter cannot tell them apart, so they are time_wait.
  char buffer[4096];
  ssize_t n = ::pread(sockstat_.get(), buffer, sizeof buffer - 1, 0);
  if (n < 0) return errno_status("reading /proc/net/sockstat", errno);
  std::optional<uint64_t> tw =
      parse_sockstat_timewait(std::string_view(buffer, static_cast<size_t>(n)));
  if (!tw) return Status::error("/proc/net/sockstat has no \"TCP: ... tw N\" line");
  counts[kTcpTimeWait] = *tw;
  return counts;
}

Status TcpStateCounter::run_iterator(int link_fd, bool stop_on_eagain) {
  // The walk covers the namespace current when the iterator fd is created:
  // create it on a thread that joined the watched namespace.
  int iter_fd = -1;
  int error = 0;
  int ns_error = in_namespace(netns_, [&] {
    iter_fd = bpf_iter_create(link_fd);
    if (iter_fd < 0) error = errno;
  });
  if (ns_error != 0) error = ns_error;
  if (iter_fd < 0) return errno_status("creating a tcp iterator", error);
  UniqueFd fd(iter_fd);
  char buffer[64];
  // The programs write nothing: read() returns 0 once every socket was seen.
  for (int attempt = 0;; ++attempt) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EAGAIN && stop_on_eagain) break;
    if (attempt > 1000000) return Status::error("the tcp iterator did not finish");
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return errno_status("reading the tcp iterator", errno);
    }
  }
  return Status::ok();
}

Result<TcpStateCounts> TcpStateCounter::count_with_iterator() {
  const int map_fd = bpf_map__fd(bpf_->skel->maps.state_counts);
  TcpStateCounts counts{};
  for (uint32_t state = 0; state < counts.size(); ++state) {
    const uint64_t zero = 0;
    if (bpf_map_update_elem(map_fd, &state, &zero, BPF_ANY) != 0) {
      return errno_status("resetting BPF map state_counts", errno);
    }
  }
  Status walked = run_iterator(bpf_link__fd(bpf_->count.get()), false);
  if (!walked) return walked;
  const MapRef state_counts = MapRef::of(bpf_->skel->maps.state_counts);
  for (uint32_t state = 0; state < counts.size(); ++state) {
    Status read = lookup_value(state_counts, &state, &counts[state]);
    if (!read) return read;
  }
  return counts;
}

}  // namespace netobs
