// The exporter's metrics about itself, as Prometheus exporters publish them:
// build info, per-collector scrape success and duration, per BPF program
// attach state and kernel run-time stats, map fill, lost events.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "exporter/collector.h"

namespace netobs {

struct CollectorScrape {
  std::string collector;
  bool success = false;
  double duration_seconds = 0;
  BpfStatus bpf;
};

struct SelfMetricsInput {
  std::vector<CollectorScrape> collectors;
  bool last_reload_successful = true;
  double last_reload_timestamp_seconds = 0;
};

std::vector<prometheus::MetricFamily> build_self_metrics(const SelfMetricsInput& input);

}  // namespace netobs
