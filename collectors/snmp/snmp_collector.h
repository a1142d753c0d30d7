// SnmpCollector: exports every field of /proc/net/{snmp,netstat,snmp6},
// typed, plus per-window rates, derived ratios and verdicts from an
// internal sampler. Owned by the CollectorManager; start/stop on the main
// thread, collect on HTTP workers, sampling on its own thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/rate_history.h"
#include "collectors/snmp/snmp_config.h"
#include "config/config.h"
#include "exporter/collector.h"

namespace netobs {

class SnmpCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "snmp";

  // For tests: a fake monotonic clock in seconds, and no sampler thread
  // (the test calls sample_now()).
  struct TestHooks {
    std::function<double()> clock;
    bool run_sampler = true;
  };

  SnmpCollector();
  explicit SnmpCollector(TestHooks hooks);
  ~SnmpCollector() override;

  // Reads the files once into the rate history (the sampler thread's step).
  void sample_now();

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;

 private:
  void sampler_loop(std::stop_token stop);
  // Logs each (file, kind) of parse error once; `count` adds them to the counter.
  void note_errors(const MibSnapshot& snapshot, bool count);
  void warn_missing_rate_keys(const MibSnapshot& snapshot);
  double now() const;

  TestHooks hooks_;
  std::string procfs_;
  // Files kept open between reads (proc_net_parser.h): one reader for
  // scrapes (serialized by Collector::collect), one for the sampler.
  std::unique_ptr<ProcNetReader> scrape_reader_;
  std::mutex sample_mutex_;
  std::unique_ptr<ProcNetReader> sample_reader_;  // guarded by sample_mutex_
  SnmpConfig config_;
  std::vector<MibKey> rate_keys_;  // exported rates

  mutable std::mutex history_mutex_;
  std::unique_ptr<RateHistory> history_;  // guarded by history_mutex_
  // One per configured window, recomputed after each sample (not per scrape).
  std::vector<std::optional<WindowSummary>> summaries_;  // guarded by history_mutex_

  std::array<std::atomic<uint64_t>, 3> parse_errors_{};  // by ProcNetFile, scrapes only
  std::mutex logged_mutex_;
  std::set<std::pair<int, int>> logged_;  // (file, kind) already logged
  std::atomic<bool> checked_rate_keys_{false};

  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::jthread sampler_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (snmp_descriptor.cc).
CollectorDescriptor snmp_descriptor();

}  // namespace netobs
