#include "tests/support/netns.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace netobs::testing {

void run_in_netns(const std::string& name, const std::function<void()>& fn) {
  const std::string path = "/run/netns/" + name;
  std::thread thread([&] {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
      return;
    }
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
      ADD_FAILURE() << "setns " << path << ": " << std::strerror(err);
      return;
    }
    fn();
  });
  thread.join();
}

Netns::Netns(std::string name) : name_(std::move(name)) {}

Netns::~Netns() {
  if (original_fd_ >= 0) {
    ::setns(original_fd_, CLONE_NEWNET);
    ::close(original_fd_);
  }
  if (created_) run_command({"ip", "netns", "del", name_}, 30);
}

std::string Netns::create() {
  run_command({"ip", "netns", "del", name_}, 30);  // a leftover of a killed run
  CommandResult add = run_command({"ip", "netns", "add", name_}, 30);
  if (add.exit_code != 0) return "ip netns add " + name_ + " failed: " + add.output;
  created_ = true;
  CommandResult up = run_command({"ip", "-n", name_, "link", "set", "lo", "up"}, 30);
  if (up.exit_code != 0) return "ip link set lo up failed: " + up.output;
  return "";
}

std::string Netns::enter() {
  if (std::string error = create(); !error.empty()) return error;
  original_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int ns_fd = ::open(path().c_str(), O_RDONLY | O_CLOEXEC);
  if (original_fd_ < 0 || ns_fd < 0) {
    if (ns_fd >= 0) ::close(ns_fd);
    return "cannot open the namespace files of " + name_;
  }
  const int rc = ::setns(ns_fd, CLONE_NEWNET);
  ::close(ns_fd);
  if (rc != 0) return std::string("setns ") + name_ + ": " + std::strerror(errno);
  return "";
}

CommandResult Netns::exec(const std::vector<std::string>& argv, double timeout_seconds) const {
  std::vector<std::string> full = {"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, timeout_seconds);
}

std::string Netns::nft(const std::string& script) const {
  const std::string file = "/tmp/" + name_ + ".nft";
  FILE* out = std::fopen(file.c_str(), "w");
  if (out == nullptr) return "cannot write " + file;
  std::fputs(script.c_str(), out);
  std::fclose(out);
  CommandResult r = exec({"nft", "-f", file});
  std::remove(file.c_str());
  return r.exit_code == 0 ? "" : "nft failed: " + r.output;
}

}  // namespace netobs::testing
