// Helpers for the tcp collector's live tests: a network namespace (the
// shared testing::Netns under the tcp tests' names), plain blocking TCP helpers, the
// namespace's own /proc/net counters, and scraping histograms.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>  // not <netinet/tcp.h>: its tcp_info is older and clashes
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "tests/support/netns.h"
#include "tests/support/test_support.h"

namespace netobs::tcptest {

// The tcp tests' network namespace: nobstcp<tag><pid>, lo up; deleted on
// destruction (also when the test fails or throws).
class Netns : public testing::Netns {
 public:
  explicit Netns(const std::string& tag)
      : testing::Netns("nobstcp" + tag + std::to_string(getpid())) {}
};

inline sockaddr_in ipv4(const char* ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip, &addr.sin_addr);
  return addr;
}

inline void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Listening socket on ip:port (must be called inside the namespace); -1 on error.
inline int listen_on(const char* ip, uint16_t port, int backlog = 1024) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = ipv4(ip, port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  set_timeouts(fd, 10);
  return fd;
}

// Blocking connect; returns the fd, or -errno.
inline int connect_to(const char* ip, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(fd, 10);
  sockaddr_in addr = ipv4(ip, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

inline bool send_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

inline bool recv_all(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = recv(fd, p, size, 0);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

inline tcp_info read_tcp_info(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
  return info;
}

// The calling thread's namespace counters ("Tcp.RetransSegs" -> value).
inline std::map<std::string, uint64_t> read_counters() {
  std::map<std::string, uint64_t> values;
  for (const MibEntry& e : read_mib_snapshot("/proc/thread-self").parsed.entries) {
    values[e.group + "." + e.field] = e.value.bits;
  }
  return values;
}

inline uint64_t delta(const std::map<std::string, uint64_t>& before,
                      const std::map<std::string, uint64_t>& after, const std::string& key) {
  auto b = before.find(key);
  auto a = after.find(key);
  if (a == after.end()) return 0;
  return a->second - (b == before.end() ? 0 : b->second);
}

// Buckets of histogram `name` (series with exactly `labels`, e.g. "" or
// `remote_group="x"`): (le, cumulative count), +Inf as infinity.
inline std::vector<std::pair<double, double>> histogram_buckets(const std::string& text,
                                                                const std::string& name,
                                                                const std::string& labels = "") {
  std::vector<std::pair<double, double>> buckets;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = name + "_bucket{" + (labels.empty() ? "" : labels + ",") + "le=\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t start = prefix.size();
    const std::string le = line.substr(start, line.find('"', start) - start);
    const double bound = le == "+Inf" ? HUGE_VAL : std::strtod(le.c_str(), nullptr);
    buckets.emplace_back(bound, std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr));
  }
  return buckets;
}

// Per-bucket (not cumulative) counts with each bucket's upper bound.
inline std::vector<std::pair<double, double>> bucket_counts(
    const std::vector<std::pair<double, double>>& cumulative) {
  std::vector<std::pair<double, double>> out;
  double previous = 0;
  for (const auto& [le, count] : cumulative) {
    out.emplace_back(le, count - previous);
    previous = count;
  }
  return out;
}

}  // namespace netobs::tcptest
