#include "exporter/collector.h"

#include <exception>

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
  Status status;
  try {
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

Status Collector::collect(std::vector<prometheus::MetricFamily>& out) {
  CollectorState state = this->state();
  if (state != CollectorState::kActive) {
    return Status::error("collector " + name_ + " is " + std::string(collector_state_name(state)) +
                         (last_error().empty() ? "" : ": " + last_error()));
  }
  std::lock_guard<std::mutex> lock(collect_mutex_);
  // Families go to a scratch vector first so a failing collect adds nothing partial.
  std::vector<prometheus::MetricFamily> scratch;
  Status status;
  try {
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
  std::lock_guard<std::mutex> collect_lock(collect_mutex_);
  try {
    stop_impl();
  } catch (const std::exception& e) {
    log_error("stop failed", {{"collector", name_}, {"err", e.what()}});
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  state_ = CollectorState::kStopped;
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
  try {
    return bpf_status_impl();
  } catch (...) {
    return {};
  }
}

}  // namespace netobs
