// SocketCollector: every TCP/UDP send and receive (bytes, calls, errors,
// MSG_* flags, sizes, latency) aggregated in kernel maps, plus the
// network event capture through a BPF ring buffer into an EventSink.
// Owned by the CollectorManager (or `netobs trace`); start/stop on the main
// thread, collect on HTTP workers, events on the ring-buffer reader thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/socket/socket_metrics.h"
#include "collectors/socket/socket_config.h"
#include "config/config.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/attribution/attribution.h"
#include "exporter/attribution/label_slot_table.h"
#include "exporter/collector.h"
#include "exporter/events/event_sink.h"

namespace netobs {

class SocketCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "socket";

  struct Options {
    // Where events go instead of config.events.output_dir (netobs trace);
    // setting it turns events on.
    std::shared_ptr<EventSink> event_sink;
    // Which hooks to use: kAuto probes (sock_*_length tracepoints, else the
    // protocol-function fallback); the others force one set (tests).
    enum class Hooks { kAuto, kTracepoints, kFallback } hooks = Hooks::kAuto;
  };

  SocketCollector();
  explicit SocketCollector(Options options);
  ~SocketCollector() override;

  // sock:sock_send_length / sock_recv_length and the 12 syscall tracepoints.
  static const std::vector<HookLadder>& tracepoint_ladders();
  // tcp/udp/udpv6 sendmsg/recvmsg entry and exit (kernels before 6.3), plus
  // the syscall ladders.
  static const std::vector<HookLadder>& fallback_ladders();

  // Rows delivered to the event sink so far (0 when events are off).
  uint64_t events_written() const { return events_written_.load(); }

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  struct Loaded;
  Status load(const CollectorContext& context, const std::vector<HookLadder>& ladders,
              bool fallback);
  Status fill_filters(const Config& config);
  Status start_events(const Config& config);
  Status push_free_slots(const std::vector<uint32_t>& slots);
  void reclaim_idle_slots();
  void on_event(const void* data, size_t size);
  Result<SocketSnapshot> snapshot();

  Options options_;
  SocketConfig config_;
  bool events_enabled_ = false;
  bool syscall_tracepoints_ = false;  // see syscall_tracepoints() in socket_config.h
  std::unique_ptr<Loaded> loaded_;
  // Per-process labels: which comm or cgroup holds each slot, and since when
  // it is idle (see reclaim_idle_slots). cgroup_mode_: attribution: cgroup.
  bool cgroup_mode_ = false;
  std::shared_ptr<Attribution> attribution_;
  std::unique_ptr<LabelSlotTable> slot_table_;
  std::chrono::steady_clock::duration gone_after_{};
  std::shared_ptr<EventSink> sink_;
  std::atomic<uint64_t> events_written_{0};
  std::atomic<uint64_t> event_write_errors_{0};
  std::atomic<bool> write_error_logged_{false};
};

struct CollectorDescriptor;
// What netobs knows about this collector (socket_descriptor.cc).
CollectorDescriptor socket_descriptor();

}  // namespace netobs
