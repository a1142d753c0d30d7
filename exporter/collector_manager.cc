#include "exporter/collector_manager.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "exporter/bpf/preflight.h"
#include "exporter/log.h"
#include "exporter/self_metrics.h"

namespace netobs {

namespace {

// A persistent thread that runs one collector's collect() calls, so a scrape
// does not start a thread per collector. The thread shares its state, so an
// Entry (and this worker) can go away while a stuck collect() still runs: the
// thread is then detached and exits when that call returns.
class CollectWorker {
 public:
  CollectWorker() : state_(std::make_shared<State>()), thread_(&CollectWorker::run, state_) {}
  ~CollectWorker() {
    bool idle;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->stopping = true;
      idle = !state_->running && !state_->job;
    }
    state_->wake.notify_one();
    // Never wait for a stuck collector (or for ourselves, when the last
    // reference to the entry was dropped by a job on this very thread).
    if (idle && thread_.get_id() != std::this_thread::get_id()) {
      thread_.join();
    } else {
      thread_.detach();
    }
  }
  CollectWorker(const CollectWorker&) = delete;
  CollectWorker& operator=(const CollectWorker&) = delete;

  // Queues `job`; the caller guarantees one job at a time (Entry::busy).
  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->job = std::move(job);
    }
    state_->wake.notify_one();
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    std::function<void()> job;
    bool running = false;
    bool stopping = false;
  };

  static void run(std::shared_ptr<State> state) {
    std::unique_lock<std::mutex> lock(state->mutex);
    while (true) {
      state->wake.wait(lock, [&] { return state->stopping || state->job; });
      if (!state->job) return;
      std::function<void()> job = std::move(state->job);
      state->job = nullptr;
      state->running = true;
      lock.unlock();
      job();
      job = nullptr;  // its captures may hold the last reference to the entry
      lock.lock();
      state->running = false;
    }
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace

struct CollectorManager::ScrapeResult {
  bool success = false;
  double seconds = 0;
  std::vector<prometheus::MetricFamily> families;
};

struct CollectorManager::Entry {
  const CollectorDescriptor* descriptor = nullptr;
  bool enabled = false;
  std::shared_ptr<Collector> collector;  // shared with in-flight scrapes
  std::string failure;                   // why it is not running, when it is not

  // The collect() running now, if any: scrapes that overlap it wait for its
  // result (each gets a complete answer) instead of starting a second one.
  struct Waiter {
    std::weak_ptr<ScrapeState> scrape;  // gone once that scrape has answered
    size_t index;                       // this entry's place in that scrape
  };
  std::mutex in_flight_mutex;
  bool in_flight = false;       // guarded by in_flight_mutex
  std::vector<Waiter> waiters;  // guarded by in_flight_mutex

  // Created on first use: a scrape of one collector runs it inline and never
  // needs a worker.
  CollectWorker& worker() {
    std::call_once(worker_once_, [this] { worker_ = std::make_unique<CollectWorker>(); });
    return *worker_;
  }

 private:
  std::once_flag worker_once_;
  std::unique_ptr<CollectWorker> worker_;
};

// One scrape in flight, shared by the scraping thread, the collector workers
// and the watchdog (any of them may outlive the others).
struct CollectorManager::ScrapeState {
  std::vector<std::shared_ptr<Entry>> entries;
  Clock::time_point start;
  const Deliver* deliver = nullptr;  // valid until delivered is true

  std::mutex mutex;
  std::condition_variable changed;  // a result arrived, or delivery finished
  std::vector<ScrapeResult> results;
  std::vector<bool> done;
  size_t pending = 0;                // collectors still running
  bool claimed = false;              // someone builds and delivers the families
  bool delivered = false;            // deliver() has returned
  bool waiting_for_results = false;  // the scraping thread waits on `changed`
  bool waiting_for_delivery = false;

  void record(size_t i, ScrapeResult&& result) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!claimed) results[i] = std::move(result);
    done[i] = true;
    --pending;
    if (waiting_for_results) changed.notify_all();
  }

  // Joins entry i's running collect(), or starts one (true: the caller must
  // run it, with run_collection).
  static bool join_or_start(const std::shared_ptr<ScrapeState>& state, size_t i) {
    Entry& entry = *state->entries[i];
    std::lock_guard<std::mutex> lock(entry.in_flight_mutex);
    entry.waiters.push_back({state, i});
    return !std::exchange(entry.in_flight, true);
  }

  // Runs the entry's collect() (any thread) and hands the result to every
  // scrape that waits for it.
  static void run_collection(Entry& entry) {
    ScrapeResult result;
    const auto begin = Clock::now();
    Status status = entry.collector->collect(result.families);
    result.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    result.success = status.is_ok();
    if (!status.is_ok()) {
      // Every scrape may fail the same way: say why, but not on every scrape.
      static LogLimiter failure_log;
      if (std::optional<uint64_t> suppressed = failure_log.admit(entry.descriptor->name)) {
        log_warn(
            "collect failed; the collector reports netobs_scrape_collector_success 0 "
            "(logged at most once a minute per collector)",
            {{"collector", entry.descriptor->name},
             {"err", status.message()},
             {"suppressed_since_last", std::to_string(*suppressed)}});
      }
      result.families.clear();
    }
    std::vector<Entry::Waiter> waiters;
    {
      std::lock_guard<std::mutex> lock(entry.in_flight_mutex);
      waiters = std::move(entry.waiters);
      entry.waiters.clear();
      entry.in_flight = false;
    }
    std::vector<std::shared_ptr<ScrapeState>> alive;
    for (const auto& waiter : waiters) alive.push_back(waiter.scrape.lock());
    size_t last = alive.size();
    for (size_t k = 0; k < alive.size(); ++k) {
      if (alive[k]) last = k;
    }
    for (size_t k = 0; k < alive.size(); ++k) {
      if (!alive[k]) continue;
      // The last one gets the families themselves, the others a copy.
      alive[k]->record(waiters[k].index, k == last ? std::move(result) : ScrapeResult(result));
    }
  }
};

// Delivers a scrape at its deadline when the scraping thread is stuck in a
// collector. One thread per manager, started on first use. Arming a deadline
// later than the one the thread already sleeps until does not wake it, so
// back-to-back scrapes cost it no wake-ups at all.
class CollectorManager::Watchdog {
 public:
  using Fire = std::function<void()>;
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  uint64_t arm(Clock::time_point deadline, Fire fire) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    const uint64_t id = ++last_id_;
    armed_.push_back({id, deadline, std::move(fire)});
    if (deadline < sleeping_until_) wake_.notify_one();
    return id;
  }

  void cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(armed_, [id](const Armed& a) { return a.id == id; });
  }

 private:
  struct Armed {
    uint64_t id;
    Clock::time_point deadline;
    Fire fire;
  };

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      const auto now = Clock::now();
      std::vector<Fire> due;
      sleeping_until_ = Clock::time_point::max();
      for (auto it = armed_.begin(); it != armed_.end();) {
        if (it->deadline <= now) {
          due.push_back(std::move(it->fire));
          it = armed_.erase(it);
        } else {
          sleeping_until_ = std::min(sleeping_until_, it->deadline);
          ++it;
        }
      }
      if (!due.empty()) {
        lock.unlock();
        for (Fire& fire : due) fire();
        due.clear();
        lock.lock();
        continue;
      }
      if (sleeping_until_ == Clock::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, sleeping_until_);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Armed> armed_;
  Clock::time_point sleeping_until_ = Clock::time_point::min();  // not started yet: wake
  uint64_t last_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

namespace {

bool is_required(const Config& config, std::string_view name) {
  const CollectorCommon* common = config.collector_common(name);
  return common != nullptr && common->required;
}

}  // namespace

CollectorManager::CollectorManager(const CollectorRegistry& registry,
                                   const PreflightReport& preflight)
    : registry_(registry), preflight_(preflight), watchdog_(std::make_unique<Watchdog>()) {}

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
  scrape_timeout_seconds_.store(config.exporter.scrape_timeout_seconds);
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
  // Scrapes already running finish (at the latest at their deadline) with
  // the collectors they started on, and new ones wait until the reload is
  // done: no scrape sees a collector that a reload stopped under it.
  std::unique_lock<std::mutex> gate(gate_mutex_);
  reloading_ = true;
  gate_changed_.wait(gate, [this] { return active_scrapes_ == 0; });
  gate.unlock();
  struct Reopen {
    CollectorManager& manager;
    ~Reopen() {
      std::lock_guard<std::mutex> lock(manager.gate_mutex_);
      manager.reloading_ = false;
      manager.gate_changed_.notify_all();
    }
  } reopen{*this};
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : entries_) {
    const std::string& name = entry->descriptor->name;
    const bool want = collector_enabled(config, name);
    const bool changed = registry_.restart_needed(name, config_, config);
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
    } else if (want && entry->collector) {
      entry->collector->reloaded();  // kept running: may re-read its files
    }
  }
  config_ = config;
  scrape_timeout_seconds_.store(config.exporter.scrape_timeout_seconds);
  return Status::ok();
}

void CollectorManager::stop_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : entries_) {
    if (entry->collector) entry->collector->stop();
  }
}

std::vector<prometheus::MetricFamily> CollectorManager::Collect() const {
  return collect_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(scrape_timeout_seconds())));
}

std::vector<prometheus::MetricFamily> CollectorManager::collect_until(
    Clock::time_point deadline) const {
  std::vector<prometheus::MetricFamily> out;
  run_scrape(
      deadline, /*run_one_here=*/false,
      [&out](std::vector<prometheus::MetricFamily>&& families) { out = std::move(families); });
  return out;
}

void CollectorManager::scrape(Clock::time_point deadline, const Deliver& deliver) const {
  run_scrape(deadline, /*run_one_here=*/true, deliver);
}

void CollectorManager::run_scrape(Clock::time_point deadline, bool run_one_here,
                                  const Deliver& deliver) const {
  auto state = std::make_shared<ScrapeState>();
  {
    std::unique_lock<std::mutex> gate(gate_mutex_);
    gate_changed_.wait(gate, [this] { return !reloading_; });
    ++active_scrapes_;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : entries_) {
      if (entry->enabled) state->entries.push_back(entry);
    }
  }
  const size_t count = state->entries.size();
  state->start = Clock::now();
  state->deliver = &deliver;
  state->results.resize(count);
  state->done.assign(count, false);

  // Start every collector that is not running yet; join the collect() of
  // those an overlapping scrape already runs (its result is ours too).
  std::vector<size_t> active;
  for (size_t i = 0; i < count; ++i) {
    Entry& entry = *state->entries[i];
    if (entry.collector && entry.collector->state() == CollectorState::kActive) {
      active.push_back(i);
    } else {
      state->done[i] = true;
    }
  }
  // From here on, collections this scrape joined may record results: state
  // is only touched under its mutex.
  state->pending = active.size();
  std::vector<size_t> runnable;
  for (size_t i : active) {
    if (ScrapeState::join_or_start(state, i)) runnable.push_back(i);
  }

  // Keep the last one for this thread; the others run on their workers, in
  // parallel with it.
  std::optional<size_t> here;
  if (run_one_here && !runnable.empty()) {
    here = runnable.back();
    runnable.pop_back();
  }
  for (size_t i : runnable) {
    std::shared_ptr<Entry> entry = state->entries[i];
    entry->worker().post([entry] { ScrapeState::run_collection(*entry); });
  }

  // Whoever claims the scrape first (this thread, or the watchdog at the
  // deadline) builds and delivers the families; false when already claimed.
  auto claim_and_deliver = [this](ScrapeState& s) {
    std::optional<std::vector<prometheus::MetricFamily>> families = finish_scrape(s);
    if (!families) return false;
    (*s.deliver)(std::move(*families));
    std::lock_guard<std::mutex> lock(s.mutex);
    s.delivered = true;
    if (s.waiting_for_delivery) s.changed.notify_all();
    return true;
  };

  if (here) {
    // Nothing can interrupt the collector on this thread: the watchdog answers
    // the scrape at the deadline if it overruns.
    uint64_t armed =
        watchdog_->arm(deadline, [state, claim_and_deliver] { claim_and_deliver(*state); });
    ScrapeState::run_collection(*state->entries[*here]);
    watchdog_->cancel(armed);
  }

  {
    std::unique_lock<std::mutex> lock(state->mutex);
    if (state->pending > 0 && !state->claimed) {
      state->waiting_for_results = true;
      state->changed.wait_until(lock, deadline,
                                [&] { return state->pending == 0 || state->claimed; });
      state->waiting_for_results = false;
    }
  }
  if (claim_and_deliver(*state)) return;
  // The watchdog claimed it: return only when its delivery is complete (the
  // caller's connection must stay valid until then).
  std::unique_lock<std::mutex> lock(state->mutex);
  state->waiting_for_delivery = true;
  state->changed.wait(lock, [&] { return state->delivered; });
}

std::optional<std::vector<prometheus::MetricFamily>> CollectorManager::finish_scrape(
    ScrapeState& state) const {
  std::vector<ScrapeResult> results(state.entries.size());
  std::vector<bool> done;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.claimed) return std::nullopt;
    state.claimed = true;
    done = state.done;
    for (size_t i = 0; i < state.entries.size(); ++i) {
      if (done[i]) results[i] = std::move(state.results[i]);
    }
  }
  {
    // Answered: a reload may go ahead (a collect still running past the
    // deadline holds its collector's stop() back by itself).
    std::lock_guard<std::mutex> gate(gate_mutex_);
    if (--active_scrapes_ == 0) gate_changed_.notify_all();
  }
  for (size_t i = 0; i < state.entries.size(); ++i) {
    if (done[i]) continue;
    results[i].seconds = std::chrono::duration<double>(Clock::now() - state.start).count();
    const std::string& name = state.entries[i]->descriptor->name;
    if (std::optional<uint64_t> suppressed = overrun_log_.admit(name)) {
      log_warn(
          "collector overran the scrape timeout; reporting failure (logged at most once a "
          "minute per collector)",
          {{"collector", name}, {"suppressed_since_last", std::to_string(*suppressed)}});
    }
  }

  std::vector<prometheus::MetricFamily> families = self_metrics(state.entries, results);
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

std::optional<CollectorManager::JsonAnswer> CollectorManager::json_endpoint(
    std::string_view path) const {
  std::shared_ptr<Entry> owner;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& entry : entries_) {
      const auto& paths = entry->descriptor->json_endpoints;
      if (std::find(paths.begin(), paths.end(), path) != paths.end()) owner = entry;
    }
  }
  if (!owner) return std::nullopt;
  const std::string& name = owner->descriptor->name;
  if (!owner->enabled || !owner->collector) {
    return JsonAnswer{503, "collector " + name + " is not running; enable it with collectors." +
                               name + ".enabled: true or --collector." + name + "\n"};
  }
  Result<std::string> body = owner->collector->json_endpoint(path);
  if (!body) return JsonAnswer{503, "collector " + name + ": " + body.status().message() + "\n"};
  return JsonAnswer{200, std::move(*body)};
}

std::vector<std::string> CollectorManager::costs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return configuration_costs(registry_, config_);
}

Config CollectorManager::config() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_;
}

double CollectorManager::scrape_timeout_seconds() const { return scrape_timeout_seconds_.load(); }

void CollectorManager::record_reload(bool success) {
  last_reload_ok_.store(success);
  if (!success) return;
  last_reload_time_.store(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace netobs
