// DnsCollector: DNS queries, responses, latency histograms and unanswered
// queries from BPF programs on tc ingress/egress of every interface, or a
// socket filter on an AF_PACKET socket as the fallback (bpf/dns.bpf.c), plus
// optional DNS events (exchanges as rows for the event sinks).
// Owned by the CollectorManager (or by `netobs trace`); start/stop on the
// main thread, collect on HTTP workers, a sweeper thread expires unanswered
// queries, a ring-buffer reader thread decodes events and samples.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "collectors/dns/dns_events.h"
#include "collectors/dns/dns_metrics.h"
#include "collectors/dns/dns_config.h"
#include "config/config.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/attribution/attribution.h"
#include "exporter/attribution/label_slot_table.h"
#include "exporter/collector.h"
#include "exporter/net/interface_selector.h"

namespace netobs {

class EventSink;
class RingBufferReader;

class DnsCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "dns";
  // Process attribution (sock:sock_send_length), loaded only when events are
  // on; the packet programs are attached by InterfaceAttachments (not a ladder).
  static const HookLadder& process_ladder();

  // Receives every DNS event (answered and unanswered exchanges) on the
  // ring-buffer reader or sweeper thread, one call at a time.
  using ExchangeHandler = std::function<void(const DnsExchange&)>;

  struct Options {
    // Set by `netobs trace --collector dns`: events (rows of
    // dns_event_schema()) go here instead of the sink configured by
    // events.output_dir.
    std::shared_ptr<EventSink> event_sink;
    // Tests: every exchange, decoded, before it becomes a row (takes
    // precedence over event_sink).
    ExchangeHandler on_exchange;
    // false: load and verify the programs but attach nothing (tests).
    bool attach_socket = true;
    // true: skip tc, one packet socket with the socket filter on every
    // interface (as NETOBS_DNS_SOCKET_FILTER=1 does).
    bool socket_filter = false;
    // true: start no sweeper thread; tests call sweep_now() and set the clock.
    bool manual_sweep = false;
    // false: count both copies of loopback packets (BPF_PROG_TEST_RUN runs
    // packets on the loopback device as PACKET_HOST).
    bool loopback_dedupe = true;
  };

  DnsCollector();
  explicit DnsCollector(Options options);
  ~DnsCollector() override;

  // One timeout sweep: expires queries older than the timeout at
  // `now_monotonic_ns` (0: now), counts them unanswered, derives evictions.
  void sweep_now(uint64_t now_monotonic_ns = 0);
  // Map and user-space counts as the next scrape would render them.
  Result<DnsSnapshot> snapshot() const;
  // Program fds for BPF_PROG_TEST_RUN (tests, benchmarks): -1 when not loaded.
  int filter_prog_fd() const;
  // dns_tc_ingress / dns_tc_egress.
  int tc_prog_fd(bool egress) const;
  // Interface name -> how the programs are attached there (tcx, tc_clsact,
  // socket_filter); empty with the one packet socket of the socket-filter mode.
  std::map<std::string, std::string> attached_interfaces() const;
  // The correlation map (tests): -1 when not loaded.
  int pending_map_fd() const;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;

 private:
  struct Loaded;

  Status open_event_sink(const Config& config);
  Status attach_programs();
  void sweeper_loop(std::stop_token stop);
  void on_record(const void* data, size_t size);
  void count_domain(const std::string& name);
  void reclaim_idle_domains();
  void reclaim_idle_cgroups();
  void reclaim_idle_servers();
  void deliver(const DnsExchange& exchange);
  uint64_t read_counter(uint32_t index) const;
  std::string server_label(uint8_t family, const uint8_t* address) const;

  Options options_;
  DnsConfig config_;
  InterfaceSelector interfaces_;  // network.interfaces / exclude_interfaces
  DnsEventOptions event_options_;
  bool events_on_ = false;
  int64_t unix_offset_ns_ = 0;  // Unix time minus CLOCK_MONOTONIC
  std::unique_ptr<Loaded> loaded_;
  std::shared_ptr<EventSink> sink_;
  std::unique_ptr<RingBufferReader> reader_;
  std::mutex deliver_mutex_;

  // Counted in user space; guarded by counts_mutex_.
  mutable std::mutex counts_mutex_;
  std::map<std::pair<uint8_t, uint16_t>, uint64_t> unanswered_;
  std::map<std::string, uint64_t> server_unanswered_;
  uint64_t expired_ = 0;
  uint64_t evictions_ = 0;
  uint64_t outstanding_ = 0;
  std::map<std::string, uint64_t> domains_;
  // Which names hold the top_domains series; names idle for
  // attribution.label_idle_time give theirs back (reclaim_idle_domains).
  std::unique_ptr<LabelSlotTable> domain_slots_;
  uint64_t domains_folded_ = 0;
  uint64_t samples_undecodable_ = 0;
  std::atomic<uint64_t> sink_errors_{0};

  // collectors.dns.attribution: cgroup (see reclaim_idle_cgroups); the
  // activity map is touched by collect only (serialized by the base).
  struct CgroupActivity {
    uint64_t total = 0;
    std::chrono::steady_clock::time_point last_change;
  };
  std::shared_ptr<Attribution> attribution_;
  std::chrono::steady_clock::duration label_idle_{};
  std::chrono::steady_clock::duration gone_after_{};
  std::map<uint64_t, CgroupActivity> cgroup_activity_;

  std::mutex sweep_mutex_;  // one sweep at a time (thread and tests)
  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::jthread sweeper_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (dns_descriptor.cc).
CollectorDescriptor dns_descriptor();

}  // namespace netobs
