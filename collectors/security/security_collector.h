// SecurityCollector: suspicious connections matched in the kernel (CIDR
// blocklists in LPM tries, suspicious peer ports in a hash, external
// addresses against the internal ranges) on outbound connect and inbound
// accept (sock:inet_sock_set_state); each detection becomes one JSON alert
// (rate-limited per type and peer) on the event sinks and the optional
// webhook, and counts in netobs_security_detections_total. Owned by the
// CollectorManager: start/stop/reloaded on the main thread, collect on HTTP
// workers, events and blocklist re-reads on its ring-buffer reader thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/security/security_event.h"
#include "collectors/security/security_metrics.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"

namespace netobs {

class EventSink;

struct SecurityCollectorOptions {
  // Alerts also go here (tests, `netobs` subcommands); nullptr: only the
  // configured sinks.
  std::shared_ptr<EventSink> event_sink;
  // Adds attributes (k8s.pod.name, container.id...) from the task's cgroup
  // and pid; called on the reader thread. Unset: none.
  std::function<void(uint64_t cgroup_id, uint32_t pid, Detection& detection)> attribute;
  std::optional<AttachKind> force_kind;  // one rung only (tests, benchmarks)
  // DNS answers: tc ingress (tcx where the kernel has it), or forced to
  // clsact filters or to the socket-filter rung (tests, benchmarks).
  enum class DnsHook { kTc, kTcClsact, kSocketFilter };
  DnsHook dns_hook = DnsHook::kTc;
};

class SecurityCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "security";
  static const std::vector<HookLadder>& ladders();
  // Who sent DNS queries (sock_send_length), loaded with the DNS-answer
  // filter; not required: without it DNS detections carry no process.
  static const HookLadder& dns_client_ladder();

  explicit SecurityCollector(SecurityCollectorOptions options = {});
  ~SecurityCollector() override;

  SecuritySnapshot snapshot() const;
  std::string attach_kind() const;
  // The DNS-answer program, socket filter or tc (benchmarks, tests:
  // BPF_PROG_TEST_RUN); -1 when off.
  int dns_answer_prog_fd(bool tc = false) const;
  // Interface name -> how the DNS-answer check is attached there (tcx,
  // tc_clsact, socket_filter, "" when nothing could); empty with one packet
  // socket on every interface, or when off.
  std::map<std::string, std::string> dns_answer_interfaces() const;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override;
  BpfStatus bpf_status_impl() const override;
  void reloaded_impl() override;

 private:
  struct Loaded;
  SecurityCollectorOptions options_;
  std::unique_ptr<Loaded> loaded_;
};

struct CollectorDescriptor;
// What netobs knows about this collector (security_descriptor.cc).
CollectorDescriptor security_descriptor();

}  // namespace netobs
