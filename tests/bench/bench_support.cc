#include "bench_support.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace netobs::bench {

int run(const std::string& command) { return std::system(command.c_str()); }

BenchNetns::BenchNetns(const std::string& prefix, const std::string& setup)
    : name_(prefix + std::to_string(getpid())) {
  run("ip netns del " + name_ + " 2>/dev/null");
  if (run("ip netns add " + name_) != 0) return;
  int fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
  ok_ = fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0 && run("ip link set lo up") == 0 &&
        (setup.empty() || run(setup) == 0);
  if (fd >= 0) ::close(fd);
}

BenchNetns::~BenchNetns() { run("ip netns del " + name_ + " 2>/dev/null"); }

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int listen_loopback(uint16_t port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in addr = loopback(port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in addr = loopback(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint64_t runs_between(const ProgramRuntime& before, const ProgramRuntime& after) {
  return after.run_cnt - before.run_cnt;
}

double ns_per_run(const ProgramRuntime& before, const ProgramRuntime& after) {
  const uint64_t runs = runs_between(before, after);
  return runs ? static_cast<double>(after.run_time_ns - before.run_time_ns) / runs : 0.0;
}

std::vector<ProgramRuntime> read_runtimes(const std::vector<int>& prog_fds) {
  std::vector<ProgramRuntime> out;
  for (int fd : prog_fds) {
    Result<ProgramRuntime> r = read_program_runtime(fd);
    out.push_back(r ? *r : ProgramRuntime{});
  }
  return out;
}

void report_pairs(benchmark::State& state, const std::vector<HookPair>& pairs,
                  const std::vector<ProgramRuntime>& before,
                  const std::vector<ProgramRuntime>& after) {
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double real_ns = ns_per_run(before[2 * i], after[2 * i]);
    const double empty_ns = ns_per_run(before[2 * i + 1], after[2 * i + 1]);
    state.counters[pairs[i].real + "_ns"] = real_ns;
    state.counters[pairs[i].empty + "_ns"] = empty_ns;
    state.counters[pairs[i].real + "_ratio"] = empty_ns > 0 ? real_ns / empty_ns : 0;
    state.counters[pairs[i].real + "_events"] =
        static_cast<double>(runs_between(before[2 * i], after[2 * i]));
  }
}

}  // namespace netobs::bench
