#include "collectors/snmp/snmp_collector.h"

#include <algorithm>
#include <chrono>

#include "collectors/snmp/field_types.h"
#include "collectors/snmp/snmp_metrics.h"
#include "exporter/bounded_file.h"
#include "exporter/log.h"

namespace netobs {

SnmpCollector::SnmpCollector() : SnmpCollector(TestHooks{}) {}

SnmpCollector::SnmpCollector(TestHooks hooks)
    : Collector(std::string(kName)), hooks_(std::move(hooks)) {}

SnmpCollector::~SnmpCollector() {
  // stop() normally ran already; never leave the thread running past us.
  sampler_.request_stop();
  if (sampler_.joinable()) sampler_.join();
}

double SnmpCollector::now() const {
  if (hooks_.clock) return hooks_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Status SnmpCollector::start_impl(const CollectorContext& context) {
  config_ = context.config.collector<SnmpConfig>();
  procfs_ = context.config.exporter.procfs.empty() ? "/proc" : context.config.exporter.procfs;
  if (!(config_.sample_interval_seconds > 0)) {
    return Status::error("snmp.sample_interval must be positive, got " +
                         std::to_string(config_.sample_interval_seconds));
  }
  double max_window = 0;
  for (double window : config_.windows_seconds) {
    if (!(window > 0)) {
      return Status::error("snmp.windows: every window must be positive, got " +
                           std::to_string(window));
    }
    max_window = std::max(max_window, window);
  }

  rate_keys_.clear();
  for (const std::string& name : config_.rate_counters) {
    Result<MibKey> key = parse_mib_key(name);
    if (!key) return Status::error("snmp.rate_counters: " + key.message());
    if (mib_field_type(key->group, key->field) == MibType::kGauge) {
      log_warn("rate_counters entry is not a counter, no rate exported",
               {{"collector", "snmp"}, {"counter", name}});
      continue;
    }
    if (std::find(rate_keys_.begin(), rate_keys_.end(), *key) == rate_keys_.end()) {
      rate_keys_.push_back(*key);
    }
  }
  std::vector<MibKey> tracked = rate_keys_;
  for (const MibKey& key : derived_input_keys()) {
    if (std::find(tracked.begin(), tracked.end(), key) == tracked.end()) tracked.push_back(key);
  }
  {
    std::lock_guard<std::mutex> lock(history_mutex_);
    history_ = std::make_unique<RateHistory>(std::move(tracked), max_window,
                                             config_.sample_interval_seconds);
  }

  // Fail early with a clear reason when the files are not there at all.
  std::string probe;
  std::string snmp_path = procfs_ + "/net/snmp";
  if (Status read = read_proc_file(snmp_path, probe); !read.is_ok()) {
    return Status::error("cannot read " + read.message() +
                         (read.message().find("--path.procfs") == std::string::npos
                              ? " (is --path.procfs pointing at a mounted procfs?)"
                              : ""));
  }
  scrape_reader_ = std::make_unique<ProcNetReader>(procfs_);
  {
    std::lock_guard<std::mutex> lock(sample_mutex_);
    sample_reader_ = std::make_unique<ProcNetReader>(procfs_);
  }
  if (hooks_.run_sampler) {
    sampler_ = std::jthread([this](std::stop_token stop) { sampler_loop(std::move(stop)); });
  }
  return Status::ok();
}

void SnmpCollector::stop_impl() {
  sampler_.request_stop();
  wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
}

void SnmpCollector::sampler_loop(std::stop_token stop) {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(config_.sample_interval_seconds));
  auto next = Clock::now();
  while (!stop.stop_requested()) {
    try {
      sample_now();
    } catch (const std::exception& e) {
      log_error("snmp sample failed", {{"collector", "snmp"}, {"err", e.what()}});
    }
    next += interval;
    auto current = Clock::now();
    if (next < current) next = current + interval;  // fell behind: don't burst
    std::unique_lock<std::mutex> lock(wake_mutex_);
    wake_.wait_until(lock, stop, next, [] { return false; });
  }
}

void SnmpCollector::sample_now() {
  MibSnapshot snapshot;
  {
    std::lock_guard<std::mutex> lock(sample_mutex_);
    snapshot = sample_reader_ ? sample_reader_->read() : read_mib_snapshot(procfs_);
  }
  double time = now();
  note_errors(snapshot, /*count=*/false);
  if (!checked_rate_keys_.exchange(true)) warn_missing_rate_keys(snapshot);
  std::lock_guard<std::mutex> lock(history_mutex_);
  if (!history_) return;
  history_->add(time, snapshot.parsed.entries);
  summaries_.clear();
  for (double window : config_.windows_seconds) summaries_.push_back(history_->summarize(window));
}

void SnmpCollector::warn_missing_rate_keys(const MibSnapshot& snapshot) {
  for (const MibKey& key : rate_keys_) {
    bool found = std::any_of(
        snapshot.parsed.entries.begin(), snapshot.parsed.entries.end(),
        [&](const MibEntry& e) { return e.group == key.group && e.field == key.field; });
    if (!found) {
      log_warn("rate counter not found in /proc/net files (typo, or not in this kernel)",
               {{"collector", "snmp"}, {"counter", key.to_string()}});
    }
  }
}

void SnmpCollector::note_errors(const MibSnapshot& snapshot, bool count) {
  if (count) {
    for (size_t i = 0; i < parse_errors_.size(); ++i) {
      parse_errors_[i].fetch_add(snapshot.errors_per_file[i], std::memory_order_relaxed);
    }
  }
  if (snapshot.parsed.errors.empty()) return;
  std::lock_guard<std::mutex> lock(logged_mutex_);
  for (const ParseError& error : snapshot.parsed.errors) {
    auto key = std::make_pair(static_cast<int>(error.file), static_cast<int>(error.kind));
    if (!logged_.insert(key).second) continue;
    log_warn("cannot parse SNMP counters, line skipped (logged once per file and reason)",
             {{"collector", "snmp"},
              {"file", procfs_ + "/net/" + std::string(proc_net_file_name(error.file))},
              {"line", std::to_string(error.line)},
              {"reason", std::string(parse_error_kind_name(error.kind))},
              {"detail", error.detail}});
  }
}

Status SnmpCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  // Fresh values on every scrape; the sampler only feeds the rates.
  MibSnapshot snapshot = scrape_reader_->read();
  note_errors(snapshot, /*count=*/true);
  // Not procfs at all (a FIFO, a device, a huge or garbage file): fail the
  // scrape with the reason rather than serve a partial set.
  if (!snapshot.refused.empty()) return Status::error(snapshot.refused);
  if (snapshot.parsed.entries.empty()) {
    return Status::error("no SNMP counter could be parsed from " + procfs_ +
                         "/net/{snmp,netstat,snmp6} (see the parse errors logged): "
                         "--path.procfs must point at a mounted procfs (default /proc)");
  }
  append_mib_families(snapshot.parsed.entries, out);

  std::array<uint64_t, 3> errors{};
  for (size_t i = 0; i < errors.size(); ++i) {
    errors[i] = parse_errors_[i].load(std::memory_order_relaxed);
  }
  append_parse_error_family(errors, out);

  SnmpHistoryView view;
  view.rate_keys = rate_keys_;
  view.windows_seconds = config_.windows_seconds;
  view.thresholds = config_.thresholds;
  if (!config_.windows_seconds.empty()) {
    view.verdict_window_seconds =
        *std::min_element(config_.windows_seconds.begin(), config_.windows_seconds.end());
  }
  std::lock_guard<std::mutex> lock(history_mutex_);
  view.history = history_.get();
  view.summaries = summaries_;
  append_history_families(view, out);
  return Status::ok();
}

}  // namespace netobs
