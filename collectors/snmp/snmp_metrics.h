// Renders SNMP snapshots and rate history into Prometheus metric families.
// Pure functions called at scrape time; the metric names are defined here and
// documented in collectors/snmp/README.md.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/rate_history.h"
#include "collectors/snmp/snmp_config.h"
#include "config/config.h"

namespace netobs {

inline constexpr std::string_view kSnmpCounterMetric = "netobs_snmp_mib_total";
inline constexpr std::string_view kSnmpGaugeMetric = "netobs_snmp_mib_current";
inline constexpr std::string_view kSnmpParseErrorsMetric = "netobs_snmp_parse_errors_total";
inline constexpr std::string_view kSnmpRateMetric = "netobs_snmp_mib_rate_per_second";
inline constexpr std::string_view kSnmpRatioMetric = "netobs_snmp_derived_ratio";
inline constexpr std::string_view kSnmpVerdictMetric = "netobs_snmp_verdict";
inline constexpr std::string_view kSnmpThresholdMetric = "netobs_snmp_verdict_threshold";
inline constexpr std::string_view kSnmpWindowMetric = "netobs_snmp_window_covered_seconds";

// Every field: counters in one family, non-counters (field_types.h) in another,
// both labelled {group, field}. Entries must come from a MibSnapshot
// (negative counters already removed); any left are skipped.
void append_mib_families(const std::vector<MibEntry>& entries,
                         std::vector<prometheus::MetricFamily>& out);
// The same, moving the entries' names into the series (a scrape's snapshot).
void append_mib_families(std::vector<MibEntry>&& entries,
                         std::vector<prometheus::MetricFamily>& out);

// netobs_snmp_parse_errors_total{file}, all three files, zeros included.
void append_parse_error_family(const std::array<uint64_t, 3>& totals,
                               std::vector<prometheus::MetricFamily>& out);

// What the history families are built from: one summary per configured
// window (nullopt until the sampler has two samples).
struct SnmpHistoryView {
  const RateHistory* history = nullptr;
  std::vector<MibKey> rate_keys;  // exported rates, in config order
  std::vector<double> windows_seconds;
  std::vector<std::optional<WindowSummary>> summaries;  // parallel to windows_seconds
  double verdict_window_seconds = 0;                    // the window the checks are graded on
  SnmpThresholds thresholds;
};

// Rates, ratios, window coverage, verdicts and thresholds.
void append_history_families(const SnmpHistoryView& view,
                             std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
