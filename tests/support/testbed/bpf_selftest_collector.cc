#include "tests/support/testbed/bpf_selftest_collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdlib>

#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/map_reader.h"
#include "exporter/metric_builder.h"
#include "ladder_test.skel.h"

namespace netobs {

struct BpfSelftestCollector::Loaded {
  LoadedSkeleton<ladder_test_bpf> skeleton;
};

namespace {

const HookLadder kSendLadder{"sock_send",
                             {{AttachKind::kTpBtf, "on_send_btf", "sock/sock_send_length"},
                              {AttachKind::kRawTp, "on_send_raw", "sock/sock_send_length"},
                              {AttachKind::kTracepoint, "on_send_tp", "sock/sock_send_length"}}};

}  // namespace

BpfSelftestCollector::BpfSelftestCollector() : Collector(std::string(kName)) {}
BpfSelftestCollector::~BpfSelftestCollector() { stop(); }

Status BpfSelftestCollector::start_impl(const CollectorContext& context) {
  const char* tgid = std::getenv("NETOBS_SELFTEST_TGID");
  const __u32 target = tgid != nullptr ? static_cast<__u32>(std::strtoul(tgid, nullptr, 10)) : 0;
  LadderLoadOptions options;
  options.collector = name();
  auto loaded = load_skeleton_with_ladders<ladder_test_bpf>(
      {kSendLadder}, context.preflight, options, [target](ladder_test_bpf& skel) {
        skel.rodata->target_tgid = target;
        // Programs outside the ladder stay unloaded.
        bpf_program__set_autoload(skel.progs.on_send_btf_rejected, false);
        bpf_program__set_autoload(skel.progs.on_tcp_sendmsg_fentry, false);
        bpf_program__set_autoload(skel.progs.on_tcp_sendmsg_kprobe, false);
        return Status::ok();
      });
  if (!loaded) return loaded.status();
  loaded_ = std::make_unique<Loaded>(Loaded{std::move(*loaded)});
  return Status::ok();
}

Status BpfSelftestCollector::collect_impl(std::vector<prometheus::MetricFamily>& out) {
  Result<uint64_t> bytes = sum_percpu_u64(MapRef::of(loaded_->skeleton.skel->maps.send_totals), 0);
  if (!bytes) return bytes.status();
  FamilyBuilder("netobs_selftest_sent_bytes_total",
                "Bytes sent by the process NETOBS_SELFTEST_TGID names (test collector).",
                prometheus::MetricType::Counter)
      .counter({}, static_cast<double>(*bytes))
      .append_to(out);
  return Status::ok();
}

void BpfSelftestCollector::stop_impl() { loaded_.reset(); }

BpfStatus BpfSelftestCollector::bpf_status_impl() const {
  BpfStatus status;
  if (!loaded_) return status;
  status.programs = loaded_->skeleton.attachment.programs;
  const bpf_map* map = loaded_->skeleton.skel->maps.send_totals;
  status.maps.push_back({"send_totals", bpf_map__fd(map), bpf_map__max_entries(map), 0});
  return status;
}

}  // namespace netobs
