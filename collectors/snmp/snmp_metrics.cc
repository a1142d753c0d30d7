#include "collectors/snmp/snmp_metrics.h"

#include <initializer_list>
#include <string_view>
#include <type_traits>
#include <utility>

#include "collectors/snmp/field_types.h"
#include "exporter/metric_builder.h"

namespace netobs {

namespace {

// One series labelled {field, group} (the order FamilyBuilder's sorted map
// would give), built in place: this family has ~400 series per scrape.
// Entry is const (copies the names) or not (moves them: half the field
// names are longer than the small-string buffer, one allocation each).
template <typename Entry>
prometheus::ClientMetric& add_field_series(prometheus::MetricFamily& family, Entry& entry) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label.reserve(2);
  if constexpr (std::is_const_v<Entry>) {
    metric.label.push_back({"field", entry.field});
    metric.label.push_back({"group", entry.group});
  } else {
    metric.label.push_back({"field", std::move(entry.field)});
    metric.label.push_back({"group", std::move(entry.group)});
  }
  return metric;
}

template <typename Entries>
void append_families(Entries& entries, std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily counters;
  counters.name = kSnmpCounterMetric;
  counters.help =
      "Linux SNMP MIB counters from /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6, by "
      "group (e.g. Tcp, TcpExt, Ip6) and field (e.g. RetransSegs); units differ per field.";
  counters.type = prometheus::MetricType::Counter;
  counters.metric.reserve(entries.size());
  prometheus::MetricFamily gauges;
  gauges.name = kSnmpGaugeMetric;
  gauges.help =
      "Linux SNMP MIB fields that are settings or current levels, not counters (e.g. Tcp "
      "CurrEstab, Tcp MaxConn = -1 for no limit).";
  gauges.type = prometheus::MetricType::Gauge;
  for (auto& entry : entries) {
    // The type is looked up before add_field_series may move the names away.
    if (mib_field_type(entry.group, entry.field) == MibType::kGauge) {
      const double value = entry.value.as_double();
      add_field_series(gauges, entry).gauge.value = value;
    } else if (!entry.value.negative) {
      const double value = entry.value.as_double();
      add_field_series(counters, entry).counter.value = value;
    }
  }
  if (!counters.metric.empty()) out.push_back(std::move(counters));
  if (!gauges.metric.empty()) out.push_back(std::move(gauges));
}

// A gauge family of the history, built in place: the rates alone are ~70
// series per scrape, and a Labels map per series cost more than the rest.
prometheus::MetricFamily make_family(std::string_view name, std::string_view help) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  return family;
}

// Labels in name order (the order a Labels map gives them).
void add_gauge(prometheus::MetricFamily& family,
               std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
               double value) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  metric.label.reserve(labels.size());
  for (const auto& [name, label_value] : labels) {
    metric.label.push_back({std::string(name), std::string(label_value)});
  }
  metric.gauge.value = value;
}

}  // namespace

void append_mib_families(const std::vector<MibEntry>& entries,
                         std::vector<prometheus::MetricFamily>& out) {
  append_families(entries, out);
}

void append_mib_families(std::vector<MibEntry>&& entries,
                         std::vector<prometheus::MetricFamily>& out) {
  append_families(entries, out);
}

void append_parse_error_family(const std::array<uint64_t, 3>& totals,
                               std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder errors(std::string(kSnmpParseErrorsMetric),
                       "Lines of /proc/net/{snmp,netstat,snmp6} that could not be parsed "
                       "(or a file that could not be read); the rest is still exported.",
                       prometheus::MetricType::Counter);
  for (ProcNetFile file : kProcNetFiles) {
    errors.counter({{"file", std::string(proc_net_file_name(file))}},
                   static_cast<double>(totals[static_cast<size_t>(file)]));
  }
  std::move(errors).append_to(out);
}

void append_history_families(const SnmpHistoryView& view,
                             std::vector<prometheus::MetricFamily>& out) {
  prometheus::MetricFamily rates = make_family(
      kSnmpRateMetric,
      "Per-second increase of key SNMP counters over each window, computed by the exporter's own "
      "sampler (counter resets count from zero).");
  prometheus::MetricFamily ratios = make_family(
      kSnmpRatioMetric,
      "Derived ratios of counter increases over each window (e.g. retransmission = RetransSegs / "
      "OutSegs); absent when the denominator did not move.");
  prometheus::MetricFamily covered = make_family(
      kSnmpWindowMetric,
      "Seconds of sampler history each window actually spans (less than the window until the "
      "exporter has run that long).");
  prometheus::MetricFamily verdicts = make_family(
      kSnmpVerdictMetric, "TCP health checks on the shortest window: 0 ok, 1 warning, 2 critical.");
  prometheus::MetricFamily thresholds = make_family(
      kSnmpThresholdMetric,
      "Configured verdict thresholds, in the unit of the check (ratio 0-1, or per second for "
      "listen_drops).");

  const RateHistory* history = view.history;
  const WindowSummary* verdict_summary = nullptr;
  rates.metric.reserve(view.rate_keys.size() * view.windows_seconds.size());
  for (size_t w = 0; w < view.windows_seconds.size() && w < view.summaries.size(); ++w) {
    if (!view.summaries[w] || history == nullptr) continue;
    const WindowSummary& summary = *view.summaries[w];
    const std::string window = window_label(view.windows_seconds[w]);
    add_gauge(covered, {{"window", window}}, summary.covered_seconds);
    for (const MibKey& key : view.rate_keys) {
      std::optional<size_t> index = history->index_of(key);
      if (!index) continue;
      std::optional<double> rate = summary.rate(*index);
      if (!rate) continue;
      add_gauge(rates, {{"field", key.field}, {"group", key.group}, {"window", window}}, *rate);
    }
    for (const RatioDefinition& definition : ratio_definitions()) {
      std::optional<double> ratio = history->ratio(summary, definition);
      if (ratio) add_gauge(ratios, {{"ratio", definition.name}, {"window", window}}, *ratio);
    }
    if (view.windows_seconds[w] == view.verdict_window_seconds) verdict_summary = &summary;
  }
  if (verdict_summary != nullptr) {
    for (const CheckResult& check : history->checks(*verdict_summary, view.thresholds)) {
      add_gauge(verdicts, {{"check", check.check}},
                static_cast<double>(static_cast<int>(check.verdict)));
    }
  }
  const SnmpThresholds& t = view.thresholds;
  add_gauge(thresholds, {{"check", "retransmission_ratio"}, {"level", "warning"}},
            t.retrans_ratio_warning);
  add_gauge(thresholds, {{"check", "retransmission_ratio"}, {"level", "critical"}},
            t.retrans_ratio_critical);
  add_gauge(thresholds, {{"check", "tlp_share"}, {"level", "warning"}}, t.tlp_share_warning);
  add_gauge(thresholds, {{"check", "tlp_share"}, {"level", "critical"}}, t.tlp_share_critical);
  add_gauge(thresholds, {{"check", "listen_drops"}, {"level", "warning"}},
            t.listen_drops_per_second_warning);
  add_gauge(thresholds, {{"check", "listen_drops"}, {"level", "critical"}},
            t.listen_drops_per_second_critical);

  for (prometheus::MetricFamily* family : {&rates, &ratios, &covered, &verdicts, &thresholds}) {
    if (!family->metric.empty()) out.push_back(std::move(*family));
  }
}

}  // namespace netobs
