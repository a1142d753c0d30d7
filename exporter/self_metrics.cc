#include "exporter/self_metrics.h"

#include <sys/utsname.h>

#include "exporter/attribution/attribution.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/metric_builder.h"
#include "exporter/version.h"

namespace netobs {
namespace {

using prometheus::MetricType;

std::string kernel_release() {
  utsname names{};
  return uname(&names) == 0 ? names.release : "unknown";
}

void append_build_info(std::vector<prometheus::MetricFamily>& out) {
  static const std::string kKernel = kernel_release();
  FamilyBuilder("netobs_build_info",
                "A metric with a constant '1' value labelled by version, revision and the "
                "kernel netobs runs on.",
                MetricType::Gauge)
      .gauge({{"version", kVersion},
              {"revision", kRevision},
              {"kernel", kKernel},
              {"cxx_compiler", __VERSION__}},
             1)
      .append_to(out);
}

void append_bpf_metrics(const SelfMetricsInput& input, std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder attached("netobs_bpf_program_attached",
                         "Whether a BPF program is attached (1) or not (0), with the attach "
                         "type the ladder chose.",
                         MetricType::Gauge);
  FamilyBuilder run_time("netobs_bpf_program_run_time_seconds_total",
                         "Time the kernel spent running the program (0 unless exporter.bpf_stats "
                         "is true or kernel.bpf_stats_enabled is 1).",
                         MetricType::Counter);
  FamilyBuilder run_count(
      "netobs_bpf_program_run_count_total",
      "Times the kernel ran the program (0 unless exporter.bpf_stats is true or "
      "kernel.bpf_stats_enabled is 1).",
      MetricType::Counter);
  FamilyBuilder entries("netobs_bpf_map_entries", "Entries currently in a BPF map.",
                        MetricType::Gauge);
  FamilyBuilder capacity("netobs_bpf_map_capacity", "Maximum entries of a BPF map.",
                         MetricType::Gauge);
  FamilyBuilder update_errors("netobs_bpf_map_update_errors_total",
                              "Failed updates of a BPF map (full map or other error).",
                              MetricType::Counter);
  FamilyBuilder lost("netobs_events_lost_total", "Events dropped because the ring buffer was full.",
                     MetricType::Counter);
  for (const auto& scrape : input.collectors) {
    for (const auto& program : scrape.bpf.programs) {
      Labels labels{{"collector", scrape.collector}, {"program", program.program}};
      Labels attach_labels = labels;
      attach_labels["attach"] = program.attach.empty() ? "none" : program.attach;
      attached.gauge(attach_labels, program.attached ? 1 : 0);
      if (program.prog_fd < 0) continue;
      Result<ProgramRuntime> runtime = read_program_runtime(program.prog_fd);
      if (!runtime) continue;
      run_time.counter(labels, static_cast<double>(runtime->run_time_ns) * 1e-9);
      run_count.counter(labels, static_cast<double>(runtime->run_cnt));
    }
    for (const auto& map : scrape.bpf.maps) {
      Labels labels{{"collector", scrape.collector}, {"map", map.map}};
      capacity.gauge(labels, map.capacity);
      update_errors.counter(labels, static_cast<double>(map.update_errors));
      if (map.map_fd < 0) continue;
      Result<uint64_t> count = count_map_entries(map.map_fd);
      if (count) entries.gauge(labels, static_cast<double>(*count));
    }
    if (scrape.bpf.has_event_stream) {
      lost.counter({{"collector", scrape.collector}}, static_cast<double>(scrape.bpf.events_lost));
    }
  }
  for (FamilyBuilder* family :
       {&attached, &run_time, &run_count, &entries, &capacity, &update_errors, &lost}) {
    if (!family->empty()) std::move(*family).append_to(out);
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> build_self_metrics(const SelfMetricsInput& input) {
  std::vector<prometheus::MetricFamily> out;
  append_build_info(out);

  FamilyBuilder success("netobs_scrape_collector_success",
                        "Whether the collector succeeded in this scrape (1) or failed, could "
                        "not start or overran the scrape timeout (0).",
                        MetricType::Gauge);
  FamilyBuilder duration("netobs_scrape_collector_duration_seconds",
                         "How long the collector took in this scrape.", MetricType::Gauge);
  for (const auto& scrape : input.collectors) {
    success.gauge({{"collector", scrape.collector}}, scrape.success ? 1 : 0);
    duration.gauge({{"collector", scrape.collector}}, scrape.duration_seconds);
  }
  std::move(success).append_to(out);
  std::move(duration).append_to(out);

  FamilyBuilder("netobs_config_last_reload_successful",
                "Whether the last configuration reload (SIGHUP) succeeded.", MetricType::Gauge)
      .gauge({}, input.last_reload_successful ? 1 : 0)
      .append_to(out);
  FamilyBuilder("netobs_config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful configuration load.", MetricType::Gauge)
      .gauge({}, input.last_reload_timestamp_seconds)
      .append_to(out);

  append_bpf_metrics(input, out);
  append_attribution_metrics(out);
  return out;
}

}  // namespace netobs
