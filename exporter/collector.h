// Collector: the one interface every netobs collector implements.
//
// The public lifecycle (start, collect, stop) is non-virtual and guards the
// state machine uninitialized -> active -> stopped | error; subclasses fill in
// the *_impl hooks. Owned by the CollectorManager; start/stop run on the main
// thread, collect on HTTP worker threads (serialized per collector here).
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace netobs {

struct Config;
struct PreflightReport;

enum class CollectorState { kUninitialized, kActive, kStopped, kError };
std::string_view collector_state_name(CollectorState state);

// The collectors inside start, collect or stop right now, as "name (phase)":
// what a shutdown that does not finish is waiting for (the forced exit on
// SIGTERM names them).
std::vector<std::string> collectors_busy();

// One BPF program as the self-metrics and the landing page describe it.
struct BpfProgramStatus {
  std::string program;  // the program's name in its .bpf.c
  std::string attach;  // tp_btf | raw_tp | tracepoint | fentry | kprobe | xdp | socket_filter | ...
  bool attached = false;
  int prog_fd = -1;  // for run-time stats; -1 when not loaded
};

// One BPF map, for entries/capacity and update-error self-metrics.
struct BpfMapStatus {
  std::string map;
  int map_fd = -1;
  uint32_t capacity = 0;
  uint64_t update_errors = 0;  // counted by the collector (usually in-kernel)
};

struct BpfStatus {
  std::vector<BpfProgramStatus> programs;
  std::vector<BpfMapStatus> maps;
  bool has_event_stream = false;  // exports netobs_events_lost_total when true
  uint64_t events_lost = 0;
};

// What a collector gets at start: the whole validated config and what the
// machine offers. Both outlive the collector's start() call only.
struct CollectorContext {
  const Config& config;
  const PreflightReport& preflight;
};

class Collector {
 public:
  explicit Collector(std::string name);
  virtual ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  const std::string& name() const { return name_; }

  // Starts the collector once; a second call is refused.
  Status start(const CollectorContext& context);
  // Appends this collector's metric families, built fresh from a snapshot.
  // Never throws: an exception from collect_impl becomes an error Status.
  Status collect(std::vector<prometheus::MetricFamily>& out);
  // Releases every kernel object. Safe to call in any state, more than once.
  void stop();
  // Tells a running collector that SIGHUP reloaded the config without
  // restarting it (its settings did not change): a chance to re-read files
  // it was pointed to. Main thread; ignored unless active.
  void reloaded();

  CollectorState state() const;
  std::string last_error() const;
  // BPF programs and maps this collector owns; empty for /proc-only collectors.
  BpfStatus bpf_status() const;
  // The JSON document this collector serves at `path`, one of the paths its
  // descriptor lists in `json_endpoints` (e.g. flows: /topology).
  Result<std::string> json_endpoint(std::string_view path);

 protected:
  virtual Status start_impl(const CollectorContext& context) = 0;
  virtual Status collect_impl(std::vector<prometheus::MetricFamily>& out) = 0;
  virtual void stop_impl() = 0;
  virtual BpfStatus bpf_status_impl() const { return {}; }
  virtual void reloaded_impl() {}
  virtual Result<std::string> json_endpoint_impl(std::string_view path);

 private:
  Status inactive_error() const;

  const std::string name_;
  mutable std::mutex state_mutex_;
  mutable std::shared_mutex lifecycle_mutex_;  // exclusive: start/stop; shared: collect, bpf_status
  std::mutex collect_mutex_;                   // one collect_impl at a time
  std::atomic<bool> stopping_ = false;         // set by stop(): no new collect starts
  CollectorState state_ = CollectorState::kUninitialized;
  std::string last_error_;
};

}  // namespace netobs
