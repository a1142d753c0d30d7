#include "exporter/collector_manager.h"

#include <condition_variable>
#include <map>
#include <thread>

#include "exporter/bpf/preflight.h"
#include "exporter/log.h"
#include "exporter/self_metrics.h"

namespace netobs {

struct CollectorManager::Entry {
  const CollectorDescriptor* descriptor = nullptr;
  bool enabled = false;
  std::shared_ptr<Collector> collector;  // shared with in-flight collect threads
  std::string failure;                   // why it is not running, when it is not
  std::atomic<bool> busy{false};         // a collect is still running (overran a deadline)
};

struct CollectorManager::ScrapeResult {
  bool success = false;
  double seconds = 0;
  std::vector<prometheus::MetricFamily> families;
};

namespace {

// Whether the settings `name` depends on differ between two configs.
bool collector_settings_changed(std::string_view name, const Config& a, const Config& b) {
  const bool shared_changed = !(a.network == b.network) || !(a.events == b.events);
  if (name == "snmp") return !(a.snmp == b.snmp) || a.exporter.procfs != b.exporter.procfs;
  if (name == "socket") return !(a.socket == b.socket) || shared_changed;
  if (name == "tcp") return !(a.tcp == b.tcp) || shared_changed;
  if (name == "dns") return !(a.dns == b.dns) || shared_changed;
  if (name == "xdp") return !(a.xdp == b.xdp) || shared_changed;
  // Unknown to this table (test collectors): restart when anything changed.
  return !(a == b);
}

bool is_required(const Config& config, std::string_view name) {
  const CollectorCommon* common = config.collector_common(name);
  return common != nullptr && common->required;
}

}  // namespace

CollectorManager::CollectorManager(const CollectorRegistry& registry,
                                   const PreflightReport& preflight)
    : registry_(registry), preflight_(preflight) {}

CollectorManager::~CollectorManager() { stop_all(); }

Status CollectorManager::start_entry(Entry& entry, const Config& config) {
  const std::string& name = entry.descriptor->name;
  entry.collector = entry.descriptor->factory();
  entry.failure.clear();
  std::vector<std::string> missing = missing_requirements(preflight_, entry.descriptor->needs);
  Status status;
  if (!missing.empty()) {
    std::string reason;
    for (const auto& line : missing) reason += (reason.empty() ? "" : "; ") + line;
    status = Status::error(reason);
  } else {
    CollectorContext context{config, preflight_};
    status = entry.collector->start(context);
  }
  if (status.is_ok()) {
    log_info("collector started", {{"collector", name}});
    return status;
  }
  entry.failure = status.message();
  log_error("collector cannot start; it reports netobs_scrape_collector_success 0",
            {{"collector", name}, {"err", status.message()}});
  if (is_required(config, name)) {
    return Status::error("required collector " + name + " failed to start: " + status.message() +
                         " (set collectors." + name + ".required: false to run without it)");
  }
  return Status::ok();
}

Status CollectorManager::start(const Config& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  config_ = config;
  for (const auto& descriptor : registry_.all()) {
    auto entry = std::make_shared<Entry>();
    entry->descriptor = &descriptor;
    entry->enabled = collector_enabled(config, descriptor.name);
    if (entry->enabled) {
      Status status = start_entry(*entry, config);
      if (!status.is_ok()) {
        entries_.push_back(entry);
        return status;
      }
    }
    entries_.push_back(entry);
  }
  return Status::ok();
}

Status CollectorManager::reload(const Config& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : entries_) {
    const std::string& name = entry->descriptor->name;
    const bool want = collector_enabled(config, name);
    const bool changed = collector_settings_changed(name, config_, config);
    if (entry->enabled && (!want || changed)) {
      if (entry->collector) entry->collector->stop();
      log_info(want ? "collector restarting with new settings" : "collector disabled",
               {{"collector", name}});
      // In-flight scrapes keep the old instance alive until they finish.
      auto fresh = std::make_shared<Entry>();
      fresh->descriptor = entry->descriptor;
      entry = fresh;
    }
    if (want && !entry->enabled) {
      entry->enabled = true;
      Status status = start_entry(*entry, config);
      if (!status.is_ok()) return status;
    }
  }
  config_ = config;
  return Status::ok();
}

void CollectorManager::stop_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : entries_) {
    if (entry->collector) entry->collector->stop();
  }
}

std::vector<prometheus::MetricFamily> CollectorManager::Collect() const {
  double timeout;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    timeout = config_.exporter.scrape_timeout_seconds;
  }
  return collect_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(timeout)));
}

std::vector<prometheus::MetricFamily> CollectorManager::collect_until(
    Clock::time_point deadline) const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : entries_) {
      if (entry->enabled) entries.push_back(entry);
    }
  }

  // Each collector runs on its own short-lived thread so one that overruns
  // the deadline can be abandoned (it finishes in the background, then its
  // `busy` flag clears) while the others are served.
  struct Shared {
    std::mutex mutex;
    std::condition_variable done_cv;
    std::vector<ScrapeResult> results;
    std::vector<bool> done;
  };
  auto shared = std::make_shared<Shared>();
  shared->results.resize(entries.size());
  shared->done.assign(entries.size(), false);
  const auto scrape_start = Clock::now();

  for (size_t i = 0; i < entries.size(); ++i) {
    auto entry = entries[i];
    if (!entry->collector || entry->collector->state() != CollectorState::kActive ||
        entry->busy.exchange(true)) {
      if (entry->busy.load() && entry->collector &&
          entry->collector->state() == CollectorState::kActive) {
        log_warn("collector still busy with an earlier scrape; reporting failure",
                 {{"collector", entry->descriptor->name}});
      }
      shared->done[i] = true;
      continue;
    }
    std::thread([shared, entry, i] {
      ScrapeResult result;
      const auto start = Clock::now();
      Status status = entry->collector->collect(result.families);
      result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      result.success = status.is_ok();
      if (!status.is_ok()) {
        log_debug("collect failed",
                  {{"collector", entry->descriptor->name}, {"err", status.message()}});
        result.families.clear();
      }
      entry->busy.store(false);
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->results[i] = std::move(result);
      shared->done[i] = true;
      shared->done_cv.notify_all();
    }).detach();
  }

  std::vector<ScrapeResult> results(entries.size());
  {
    std::unique_lock<std::mutex> lock(shared->mutex);
    shared->done_cv.wait_until(lock, deadline, [&] {
      for (bool d : shared->done) {
        if (!d) return false;
      }
      return true;
    });
    for (size_t i = 0; i < entries.size(); ++i) {
      if (shared->done[i]) {
        results[i] = std::move(shared->results[i]);
      } else {
        results[i].seconds = std::chrono::duration<double>(Clock::now() - scrape_start).count();
        log_warn("collector overran the scrape timeout; reporting failure",
                 {{"collector", entries[i]->descriptor->name}});
      }
    }
  }

  std::vector<prometheus::MetricFamily> families = self_metrics(entries, results);
  // Families several collectors share (netobs_series_dropped_total, labelled
  // by collector) are merged: one name must appear once in a scrape.
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < families.size(); ++i) index_of.emplace(families[i].name, i);
  for (auto& result : results) {
    for (auto& family : result.families) {
      auto [it, inserted] = index_of.emplace(family.name, families.size());
      if (inserted) {
        families.push_back(std::move(family));
      } else {
        auto& into = families[it->second].metric;
        into.insert(into.end(), std::make_move_iterator(family.metric.begin()),
                    std::make_move_iterator(family.metric.end()));
      }
    }
  }
  return families;
}

std::vector<prometheus::MetricFamily> CollectorManager::self_metrics(
    const std::vector<std::shared_ptr<Entry>>& entries,
    const std::vector<ScrapeResult>& results) const {
  SelfMetricsInput input;
  input.last_reload_successful = last_reload_ok_.load();
  input.last_reload_timestamp_seconds = last_reload_time_.load();
  for (size_t i = 0; i < entries.size(); ++i) {
    CollectorScrape scrape;
    scrape.collector = entries[i]->descriptor->name;
    scrape.success = results[i].success;
    scrape.duration_seconds = results[i].seconds;
    if (entries[i]->collector) scrape.bpf = entries[i]->collector->bpf_status();
    input.collectors.push_back(std::move(scrape));
  }
  return build_self_metrics(input);
}

std::vector<CollectorSummary> CollectorManager::summaries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<CollectorSummary> out;
  for (const auto& entry : entries_) {
    CollectorSummary summary;
    summary.name = entry->descriptor->name;
    summary.description = entry->descriptor->description;
    summary.enabled = entry->enabled;
    if (!entry->enabled) {
      summary.state = "disabled";
    } else if (!entry->failure.empty() || !entry->collector) {
      summary.state = "error";
      summary.last_error = entry->failure;
    } else {
      summary.state = std::string(collector_state_name(entry->collector->state()));
      summary.last_error = entry->collector->last_error();
      summary.bpf = entry->collector->bpf_status();
    }
    out.push_back(std::move(summary));
  }
  return out;
}

Config CollectorManager::config() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_;
}

void CollectorManager::record_reload(bool success) {
  last_reload_ok_.store(success);
  if (!success) return;
  last_reload_time_.store(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace netobs
