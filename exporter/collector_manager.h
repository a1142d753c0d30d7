// CollectorManager: owns the running collectors and is the
// prometheus::Collectable the HTTP server scrapes. Created and started on the
// main thread; scrapes run on HTTP worker threads, each collector on a
// persistent worker thread of its own (or inline, see scrape()); reload() on
// the main thread (SIGHUP). One collector failing or overrunning never breaks
// the scrape of the others.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/collector.h"
#include "exporter/collector_registry.h"
#include "exporter/log.h"
#include "exporter/status.h"

namespace netobs {

struct PreflightReport;

// What the landing page and `netobs check` show per collector.
struct CollectorSummary {
  std::string name;
  std::string description;
  bool enabled = false;
  std::string state;  // collector_state_name(), or "disabled"
  std::string last_error;
  BpfStatus bpf;
};

class CollectorManager : public prometheus::Collectable {
 public:
  using Clock = std::chrono::steady_clock;

  CollectorManager(const CollectorRegistry& registry, const PreflightReport& preflight);
  ~CollectorManager() override;

  // Starts every enabled collector. A collector that cannot start is logged
  // once and reports success 0; an error is returned only when one marked
  // `required` fails.
  Status start(const Config& config);
  // Applies a new, already validated config: restarts only the collectors
  // whose settings changed, starts newly enabled ones, stops disabled ones.
  Status reload(const Config& config);
  // Stops every collector (detaches all BPF programs).
  void stop_all();

  // prometheus::Collectable: a scrape with the configured default timeout.
  std::vector<prometheus::MetricFamily> Collect() const override;
  // A scrape that gives up on collectors still running at `deadline`. Every
  // collector runs on its persistent worker thread; the caller only waits.
  std::vector<prometheus::MetricFamily> collect_until(Clock::time_point deadline) const;

  // The scrape the HTTP server uses. One collector runs on the calling thread
  // (no thread hand-off: that was a third of a small scrape's latency), the
  // others on their workers. `deliver` gets the families exactly once: on the
  // calling thread, or, if the collector running there overruns `deadline`,
  // on the manager's watchdog thread at the deadline. scrape() returns once
  // `deliver` has returned and the calling thread's collector has finished.
  using Deliver = std::function<void(std::vector<prometheus::MetricFamily>&& families)>;
  void scrape(Clock::time_point deadline, const Deliver& deliver) const;

  std::vector<CollectorSummary> summaries() const;
  // A JSON document a collector serves at `path` (its descriptor's
  // json_endpoints); nullopt when no registered collector claims the path.
  struct JsonAnswer {
    int status = 200;  // 503 when the collector is disabled or not running
    std::string body;  // the document, or a one-line error
  };
  std::optional<JsonAnswer> json_endpoint(std::string_view path) const;
  // configuration_costs() of the running config.
  std::vector<std::string> costs() const;
  Config config() const;
  // exporter.scrape_timeout_seconds without copying the whole config.
  double scrape_timeout_seconds() const;
  void record_reload(bool success);

 private:
  struct Entry;
  struct ScrapeResult;
  struct ScrapeState;
  class Watchdog;

  Status start_entry(Entry& entry, const Config& config);
  void run_scrape(Clock::time_point deadline, bool run_one_here, const Deliver& deliver) const;
  // Claims the scrape and builds its families; nullopt when already claimed.
  std::optional<std::vector<prometheus::MetricFamily>> finish_scrape(ScrapeState& state) const;
  std::vector<prometheus::MetricFamily> self_metrics(
      const std::vector<std::shared_ptr<Entry>>& entries,
      const std::vector<ScrapeResult>& results) const;

  const CollectorRegistry& registry_;
  const PreflightReport& preflight_;
  mutable std::mutex mutex_;  // guards entries_ and config_
  std::vector<std::shared_ptr<Entry>> entries_;
  Config config_;
  std::atomic<bool> last_reload_ok_{true};
  std::atomic<double> last_reload_time_{0};
  std::atomic<double> scrape_timeout_seconds_{0};
  std::unique_ptr<Watchdog> watchdog_;  // answers scrapes whose inline collector overran
  mutable LogLimiter overrun_log_;
  // Reload waits for running scrapes to answer; scrapes wait for a reload.
  mutable std::mutex gate_mutex_;
  mutable std::condition_variable gate_changed_;
  mutable int active_scrapes_ = 0;
  bool reloading_ = false;
};

}  // namespace netobs
