// Fuzzes every parser of the snmp collector. The input is split at NUL bytes
// into /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 texts (a fourth
// part, if any, is read as a baseline file and as exporter text output); the
// parsed snapshot then goes through rates, ratios and metric rendering.
#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/rate_history.h"
#include "collectors/snmp/snmp_metrics.h"
#include "collectors/snmp/stats_format.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netobs;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < 3) {
    size_t nul = input.find('\0');
    parts.push_back(input.substr(0, nul));
    if (nul == std::string_view::npos) {
      input = {};
      break;
    }
    input.remove_prefix(nul + 1);
  }
  parts.resize(3);

  MibSnapshot snapshot = parse_mib_texts(parts[0], parts[1], parts[2]);
  uint64_t errors = 0;
  for (uint64_t n : snapshot.errors_per_file) errors += n;
  // Every error is counted; only the first few per file keep their text.
  check(errors >= snapshot.parsed.errors.size());
  for (const MibEntry& entry : snapshot.parsed.entries) {
    check(!entry.group.empty() && !entry.field.empty());
    MibValue again;
    bool out_of_range = false;
    check(parse_mib_value(entry.value.to_string(), again, out_of_range) && again == entry.value);
  }

  // Two samples of the same snapshot: every rate is 0, every ratio absent.
  std::vector<MibKey> keys = derived_input_keys();
  for (const MibEntry& entry : snapshot.parsed.entries) {
    if (keys.size() < 64) keys.push_back({entry.group, entry.field});
  }
  RateHistory history(keys, 60, 5);
  history.add(0, snapshot.parsed.entries);
  history.add(5, snapshot.parsed.entries);
  std::optional<WindowSummary> summary = history.summarize(60);
  check(summary.has_value());
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<double> rate = summary->rate(i);
    check(!rate || *rate == 0);
  }
  for (const RatioDefinition& definition : ratio_definitions()) {
    check(!history.ratio(*summary, definition));
  }

  std::vector<prometheus::MetricFamily> families;
  append_mib_families(snapshot.parsed.entries, families);
  append_parse_error_family(snapshot.errors_per_file, families);
  SnmpHistoryView view;
  view.history = &history;
  view.rate_keys = keys;
  view.windows_seconds = {60};
  view.summaries = {summary};
  view.verdict_window_seconds = 60;
  append_history_families(view, families);
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);

  // The rendered text must read back through the stats command's own reader.
  (void)trend_from_exposition(text.str(), "fuzz");
  if (!input.empty()) {
    (void)trend_from_exposition(input, "fuzz");
    (void)parse_baseline(input, "fuzz");
    (void)parse_window(input.substr(0, 32));
    (void)parse_mib_key(input.substr(0, 64));
  }
  Result<Baseline> baseline = parse_baseline(format_baseline(snapshot, 1), "fuzz");
  check(baseline.is_ok() && baseline->entries.size() == snapshot.parsed.entries.size());
  return 0;
}
