// Text and JSON output of `netobs stats`: nstat-like counter tables, ratios
// and verdicts in words, baseline diffs and rate trends. Pure functions over
// snapshots, so every output format is tested against exact expected text.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/snmp/field_types.h"
#include "collectors/snmp/proc_net_parser.h"
#include "exporter/json_writer.h"
#include "collectors/snmp/rate_history.h"
#include "collectors/snmp/snmp_config.h"
#include "config/config.h"
#include "exporter/status.h"

namespace netobs {

// One field as `netobs stats` shows it.
struct StatsRow {
  std::string group;
  std::string field;
  MibType type = MibType::kCounter;
  MibValue value;         // now
  uint64_t increase = 0;  // counters: since the previous sample (0 in absolute mode)
  bool changed = false;   // gauges: differs from the previous sample
  bool reset = false;     // counters: went down since the previous sample

  std::string name() const { return group + "." + field; }
};

// Which rows to print: --zero and --filter.
struct RowFilter {
  bool include_zero = false;
  std::optional<std::regex> pattern;  // matched against "Tcp.RetransSegs" and "TcpRetransSegs"

  bool matches(const StatsRow& row) const;
};

// Rows of `after`, with increases from `before` (a field missing in `before`
// counts from 0). Order is /proc order.
std::vector<StatsRow> delta_rows(const MibSnapshot& before, const MibSnapshot& after);
std::vector<StatsRow> absolute_rows(const MibSnapshot& snapshot);

// Increase lookup over rows (absolute rows: the value since boot).
IncreaseLookup row_increases(const std::vector<StatsRow>& rows, bool absolute);

void print_delta_table(const std::vector<StatsRow>& rows, double seconds, const RowFilter& filter,
                       std::ostream& out);
void print_absolute_table(const std::vector<StatsRow>& rows, const RowFilter& filter,
                          std::ostream& out);
void print_rows_json(const std::vector<StatsRow>& rows, std::optional<double> seconds,
                     const RowFilter& filter, std::ostream& out);

// Ratios and checks in words ("retransmission ratio 0.03 % — ok"). `seconds`
// is the span the increases cover (uptime in absolute mode; nullopt if unknown).
void print_ratios(const IncreaseLookup& increase, std::optional<double> seconds,
                  std::string_view span_words, const SnmpThresholds& thresholds, std::ostream& out);
void print_ratios_json(const IncreaseLookup& increase, std::optional<double> seconds,
                       const SnmpThresholds& thresholds, std::ostream& out);

// Packets per kernel drop reason in an exporter's /metrics text
// (netobs_drops_total summed over its other labels), largest first, zeros left out.
std::vector<std::pair<std::string, double>> drop_reasons_from_exposition(std::string_view text);
// "Kernel drop reasons ..." under the ratios: the top reasons with a pointer
// to the ratio each one explains.
void print_drop_reasons(const std::vector<std::pair<std::string, double>>& reasons,
                        std::string_view source, std::ostream& out);

// Baseline files: "# netobs stats baseline", "# saved_at_unix_seconds T", then
// one "Group.Field value" line per field.
std::string format_baseline(const MibSnapshot& snapshot, double saved_at_unix_seconds);
struct Baseline {
  double saved_at_unix_seconds = 0;
  std::vector<MibEntry> entries;
};
Result<Baseline> parse_baseline(std::string_view text, std::string_view source);

// One changed field since a baseline.
struct BaselineChange {
  std::string name;
  MibType type = MibType::kCounter;
  std::optional<MibValue> before;  // nullopt: a field the baseline did not have
  MibValue after;
  double change = 0;    // counters: increase (reset-aware); gauges: signed difference
  double relative = 0;  // change / |before|; +inf when before is 0 or missing
  bool reset = false;
};
// Changes sorted biggest relative change first (then biggest change, then name).
std::vector<BaselineChange> baseline_changes(const Baseline& baseline, const MibSnapshot& now,
                                             bool include_unchanged);
void print_baseline_changes(const std::vector<BaselineChange>& changes, std::string_view source,
                            double elapsed_seconds, const RowFilter& filter, std::ostream& out);
void print_baseline_changes_json(const std::vector<BaselineChange>& changes, double elapsed_seconds,
                                 const RowFilter& filter, std::ostream& out);

// Key rates over several windows; `rates[key][i]` is for windows_seconds[i].
struct TrendTable {
  std::string source;  // "http://host:9723/metrics" or "own samples"
  std::vector<double> windows_seconds;
  std::vector<std::optional<double>> covered_seconds;  // parallel to windows_seconds
  std::vector<std::pair<MibKey, std::vector<std::optional<double>>>> rates;
};
void print_trend(const TrendTable& table, std::ostream& out);
void print_trend_json(const TrendTable& table, std::ostream& out);
// Builds a trend table from netobs exporter text output (the rate and
// window-coverage gauges); an error when it has no rate series at all.
Result<TrendTable> trend_from_exposition(std::string_view text, std::string source);

// Formatting helper shared with the tests (strings go through json_escape).
std::string json_number(double value);  // shortest round-trip form; null for NaN/Inf

}  // namespace netobs
