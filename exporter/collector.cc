#include "exporter/collector.h"

#include <exception>
#include <iterator>
#include <mutex>
#include <set>

#include "exporter/log.h"

namespace netobs {

std::string_view collector_state_name(CollectorState state) {
  switch (state) {
    case CollectorState::kUninitialized:
      return "uninitialized";
    case CollectorState::kActive:
      return "active";
    case CollectorState::kStopped:
      return "stopped";
    case CollectorState::kError:
      return "error";
  }
  return "unknown";
}

namespace {

// Never freed: read by the signal thread, which may outlive main's objects.
std::mutex& busy_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::multiset<std::string>& busy_calls() {
  static auto* calls = new std::multiset<std::string>;
  return *calls;
}

// Marks one collector call for collectors_busy() while it runs.
class BusyMark {
 public:
  BusyMark(const std::string& name, const char* phase) : entry_(name + " (" + phase + ")") {
    std::lock_guard<std::mutex> lock(busy_mutex());
    busy_calls().insert(entry_);
  }
  ~BusyMark() {
    std::lock_guard<std::mutex> lock(busy_mutex());
    busy_calls().erase(busy_calls().find(entry_));
  }
  BusyMark(const BusyMark&) = delete;
  BusyMark& operator=(const BusyMark&) = delete;

 private:
  std::string entry_;
};

}  // namespace

std::vector<std::string> collectors_busy() {
  std::lock_guard<std::mutex> lock(busy_mutex());
  std::set<std::string> unique(busy_calls().begin(), busy_calls().end());
  return {unique.begin(), unique.end()};
}

Collector::Collector(std::string name) : name_(std::move(name)) {}

Collector::~Collector() = default;

Status Collector::start(const CollectorContext& context) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (state_ != CollectorState::kUninitialized) {
      return Status::error("collector " + name_ + " was already started (state " +
                           std::string(collector_state_name(state_)) +
                           "): create a new instance to start it again");
    }
  }
  // start_impl and stop_impl run alone; collect_impl and bpf_status_impl
  // hold lifecycle_mutex_ shared, so they never see a half-started or
  // stopped collector.
  std::unique_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  Status status;
  try {
    BusyMark busy(name_, "start");
    status = start_impl(context);
  } catch (const std::exception& e) {
    status = Status::error(std::string("start threw: ") + e.what());
  }
  if (!status.is_ok()) {
    // Release whatever start_impl got before failing.
    try {
      stop_impl();
    } catch (...) {
    }
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  state_ = status.is_ok() ? CollectorState::kActive : CollectorState::kError;
  last_error_ = status.message();
  return status;
}

Status Collector::inactive_error() const {
  const CollectorState state = this->state();
  const std::string error = last_error();
  return Status::error("collector " + name_ + " is " + std::string(collector_state_name(state)) +
                       (error.empty() ? "" : ": " + error));
}

Status Collector::collect(std::vector<prometheus::MetricFamily>& out) {
  // Cheap refusal without waiting for a start or stop in progress (and no
  // new reader once stop() waits: scrapes in a row must not starve it)...
  if (stopping_.load() || state() != CollectorState::kActive) return inactive_error();
  std::shared_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  std::lock_guard<std::mutex> lock(collect_mutex_);
  // ...and the answer that counts, under the lock: a stop() that ran while
  // this scrape waited has released what collect_impl would read.
  if (state() != CollectorState::kActive) return inactive_error();
  // Families go to a scratch vector first so a failing collect adds nothing partial.
  std::vector<prometheus::MetricFamily> scratch;
  Status status;
  try {
    BusyMark busy(name_, "collect");
    status = collect_impl(scratch);
  } catch (const std::exception& e) {
    status = Status::error(std::string("collect threw: ") + e.what());
  } catch (...) {
    status = Status::error("collect threw a non-standard exception");
  }
  if (!status.is_ok()) return status;
  for (auto& family : scratch) out.push_back(std::move(family));
  return Status::ok();
}

void Collector::stop() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (state_ == CollectorState::kStopped || state_ == CollectorState::kUninitialized) {
      state_ = CollectorState::kStopped;
      return;
    }
  }
  stopping_.store(true);
  std::unique_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  try {
    BusyMark busy(name_, "stop");
    stop_impl();
  } catch (const std::exception& e) {
    log_error("stop failed", {{"collector", name_}, {"err", e.what()}});
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  state_ = CollectorState::kStopped;
}

void Collector::reloaded() {
  if (stopping_.load() || state() != CollectorState::kActive) return;
  std::shared_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  if (state() != CollectorState::kActive) return;
  try {
    reloaded_impl();
  } catch (const std::exception& e) {
    log_error("reload notification failed", {{"collector", name_}, {"err", e.what()}});
  }
}

CollectorState Collector::state() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return state_;
}

std::string Collector::last_error() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return last_error_;
}

BpfStatus Collector::bpf_status() const {
  // Starting (nothing to report yet) or stopping (do not hold stop() up).
  if (stopping_.load() || state() == CollectorState::kUninitialized) return {};
  std::shared_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  try {
    return bpf_status_impl();
  } catch (...) {
    return {};
  }
}

Result<std::string> Collector::json_endpoint(std::string_view path) {
  if (stopping_.load() || state() != CollectorState::kActive) return inactive_error();
  std::shared_lock<std::shared_mutex> lifecycle(lifecycle_mutex_);
  std::lock_guard<std::mutex> lock(collect_mutex_);
  if (state() != CollectorState::kActive) return inactive_error();
  try {
    return json_endpoint_impl(path);
  } catch (const std::exception& e) {
    return Status::error(std::string("endpoint threw: ") + e.what());
  }
}

Result<std::string> Collector::json_endpoint_impl(std::string_view path) {
  return Status::error("collector " + name_ + " serves nothing at " + std::string(path));
}

}  // namespace netobs
