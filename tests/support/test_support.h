// Shared helpers for netobs tests: root checks that fail under CI, free
// ports, a tiny HTTP client, temp dirs and child processes with timeouts.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netobs::testing {

bool running_as_root();
bool running_in_ci();  // CI=true in the environment

// Privileged tests: skip when not root on a developer machine, fail in CI.
#define NETOBS_REQUIRE_ROOT()                                                         \
  do {                                                                                \
    if (!::netobs::testing::running_as_root()) {                                      \
      if (::netobs::testing::running_in_ci()) {                                       \
        FAIL() << "CI=true: privileged test needs root but runs as uid " << getuid(); \
      }                                                                               \
      GTEST_SKIP() << "needs root (set CI=true to make this a failure)";              \
    }                                                                                 \
  } while (0)

std::string source_dir();
std::string binary_dir();
std::string exporter_binary();  // <build>/exporter/netobs_exporter
std::string cli_binary();       // <build>/exporter/netobs

int free_tcp_port();

struct HttpResponse {
  int status = 0;
  std::string headers;  // raw header block, lower-cased names not guaranteed
  std::string body;
};
// GET (or another method) over plain HTTP/1.1; nullopt on connect/IO error.
std::optional<HttpResponse> http_request(const std::string& host, int port, const std::string& path,
                                         const std::map<std::string, std::string>& headers = {},
                                         double timeout_seconds = 10,
                                         const std::string& method = "GET");
// Polls GET `path` until it answers 200 or the timeout passes.
bool wait_for_http(int port, const std::string& path, double timeout_seconds);

// Sample value of the series `name{labels}` in Prometheus text; labels are
// given as in the exposition (`collector="snmp"`), empty for none.
std::optional<double> metric_value(const std::string& text, const std::string& name,
                                   const std::string& labels = "");

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

// A child process with stdout+stderr to a log file; killed at destruction.
class Subprocess {
 public:
  explicit Subprocess(std::vector<std::string> argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait(double timeout_seconds);
  std::string output() const;  // what it has written so far

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// Runs a command to completion (bounded by timeout); returns exit code and output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv, double timeout_seconds = 60);

}  // namespace netobs::testing
