// `netobs stats`: system TCP health at a terminal. Prints the SNMP
// counters like nstat (increments with per-second rates, or totals), derived
// ratios and verdicts in words, changes since a saved baseline, and rate
// trends over 1/5/15 minutes from a running exporter or its own samples.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "exporter/status.h"
#include "exporter/subcommand.h"

namespace netobs {

// What the command needs from the outside world; tests replace it with
// fixture trees and a fake clock. Called on the command's thread only.
class StatsEnvironment {
 public:
  virtual ~StatsEnvironment() = default;
  virtual MibSnapshot read(const std::string& procfs) = 0;
  virtual double monotonic_seconds() = 0;
  virtual double unix_seconds() = 0;
  virtual void sleep_for(double seconds) = 0;
  // Seconds since boot from <procfs>/uptime; nullopt when unreadable.
  virtual std::optional<double> uptime_seconds(const std::string& procfs) = 0;
  virtual Result<std::string> http_get(const std::string& url, double timeout_seconds) = 0;
  virtual Result<std::string> read_file(const std::string& path) = 0;
  virtual Status write_file(const std::string& path, const std::string& contents) = 0;
};

// The real machine: files, clocks, sleeps and HTTP.
class SystemStatsEnvironment final : public StatsEnvironment {
 public:
  MibSnapshot read(const std::string& procfs) override;
  double monotonic_seconds() override;
  double unix_seconds() override;
  void sleep_for(double seconds) override;
  std::optional<double> uptime_seconds(const std::string& procfs) override;
  Result<std::string> http_get(const std::string& url, double timeout_seconds) override;
  Result<std::string> read_file(const std::string& path) override;
  Status write_file(const std::string& path, const std::string& contents) override;
};

// `netobs stats` over `env` (tests pass fixture trees and a fake clock).
Subcommand stats_subcommand(StatsEnvironment& env);
// The snmp collector's subcommands, on the real machine.
std::vector<Subcommand> snmp_subcommands();
std::string stats_usage();

// `args` are the arguments after `stats`. Returns the exit code: 0 ok,
// 1 runtime failure (unreadable files, unreachable --from), 2 usage error.
int run_stats_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_stats_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      StatsEnvironment& env);

}  // namespace netobs
