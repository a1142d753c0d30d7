// A netobs_exporter (or the testbed exporter) the test starts on a free
// port with its own config, scrapes and stops; killed at destruction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace netobs::testing {

struct ExporterOptions {
  // Only these collectors run (--collector.disable-defaults --collector.NAME...).
  std::vector<std::string> collectors;
  // Written to netobs.yaml in the exporter's temp dir and passed as
  // --config.file; with config_file set instead, that file is passed.
  std::string config_yaml;
  std::string config_file;
  // Runs inside this network namespace (ip netns exec); HTTP then goes
  // through curl inside it too.
  std::string netns;
  // Scrapes through curl, a separate process, so the scrape's own request is
  // not counted as this test process's traffic.
  bool scrape_with_curl = false;
  std::string binary;  // empty: exporter_binary()
  std::vector<std::string> extra_args;
};

class ExporterProcess {
 public:
  explicit ExporterProcess(ExporterOptions options);

  int port() const { return port_; }
  const std::string& config_path() const { return config_path_; }

  // Polls `path` until it answers 200, at most `seconds`.
  bool wait_ready(const std::string& path = "/metrics", double seconds = 20);
  // The body of a 200 answer; nullopt otherwise.
  std::optional<std::string> get(const std::string& path);
  // /metrics, or "" when it did not answer 200.
  std::string scrape();
  // Scrapes until metric{labels} == want (counts may still be settling), at
  // most `seconds`; returns the last scrape.
  std::string scrape_until(const std::string& name, const std::string& labels, double want,
                           double seconds = 5);

  std::string output() const { return process_->output(); }
  Subprocess& process() { return *process_; }
  // SIGTERM, then waits; the exit code, nullopt on timeout.
  std::optional<int> terminate(double seconds = 30);

 private:
  ExporterOptions options_;
  int port_;
  TempDir dir_;
  std::string config_path_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace netobs::testing
