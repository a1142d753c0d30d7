#include "collectors/snmp/stats_format.h"

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <unordered_map>

namespace netobs {
namespace {

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return buffer;
}

std::string fixed(double value, int decimals) { return printf_string("%.*f", decimals, value); }

std::string percent(double ratio, int decimals) { return fixed(ratio * 100, decimals) + " %"; }

std::string signed_percent(double ratio, int decimals) {
  return printf_string("%+.*f %%", decimals, ratio * 100);
}

// Words around each ratio for --ratios; `check` names the verdict it feeds.
struct RatioWords {
  std::string_view name;
  std::string_view label;
  std::string_view suffix;
  int decimals;
  std::string_view none;
  std::string_view check;
};
constexpr RatioWords kRatioWords[] = {
    {"retransmission", "retransmission ratio", "", 2, "no segments sent", "retransmission_ratio"},
    {"tlp_share", "TLP share", " of retransmissions", 1, "no retransmissions", "tlp_share"},
    {"fast_retransmit_share", "fast-retransmit share", " of retransmissions", 1,
     "no retransmissions", ""},
    {"rto_share", "RTO share", " of retransmissions", 1, "no retransmissions", ""},
    {"syn_retransmit_share", "SYN-retransmit share", " of retransmissions", 1, "no retransmissions",
     ""},
    {"tcp_input_error", "TCP input error ratio", "", 2, "no segments received", ""},
    {"udp_receive_buffer_error", "UDP receive-buffer error ratio", "", 2, "no datagrams received",
     ""},
};

std::string verdict_words(const CheckResult& check) {
  switch (check.verdict) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kWarning:
      return "high: " + std::string(check.advice);
    case Verdict::kCritical:
      return "critical: " + std::string(check.advice);
  }
  return "unknown";
}

const CheckResult* find_check(const std::vector<CheckResult>& checks, std::string_view name) {
  for (const CheckResult& check : checks) {
    if (check.check == name) return &check;
  }
  return nullptr;
}

// Out of line: inlined, GCC 12 -O2 warns maybe-uninitialized on the optional.
[[gnu::noinline]] std::string json_optional(const std::optional<double>& value) {
  return value.has_value() ? json_number(value.value()) : "null";
}

}  // namespace

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  // Whole numbers as integers ("1000000", not "1e+06") while exact in a double.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[64];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "null";
  return std::string(buffer, ptr);
}

bool RowFilter::matches(const StatsRow& row) const {
  if (!pattern) return true;
  return std::regex_search(row.name(), *pattern) ||
         std::regex_search(row.group + row.field, *pattern);
}

std::vector<StatsRow> delta_rows(const MibSnapshot& before, const MibSnapshot& after) {
  std::unordered_map<std::string, const MibEntry*> previous;
  previous.reserve(before.parsed.entries.size() * 2);
  for (const MibEntry& entry : before.parsed.entries) {
    previous.emplace(entry.group + "." + entry.field, &entry);
  }
  std::vector<StatsRow> rows;
  rows.reserve(after.parsed.entries.size());
  for (const MibEntry& entry : after.parsed.entries) {
    StatsRow row{entry.group, entry.field, mib_field_type(entry.group, entry.field), entry.value};
    auto it = previous.find(row.name());
    const MibEntry* prior = it == previous.end() ? nullptr : it->second;
    if (row.type == MibType::kGauge) {
      row.changed = prior == nullptr || !(prior->value == entry.value);
    } else {
      uint64_t base = prior != nullptr && !prior->value.negative ? prior->value.bits : 0;
      row.increase = counter_increase(base, entry.value.bits);
      row.reset = entry.value.bits < base;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<StatsRow> absolute_rows(const MibSnapshot& snapshot) {
  std::vector<StatsRow> rows;
  rows.reserve(snapshot.parsed.entries.size());
  for (const MibEntry& entry : snapshot.parsed.entries) {
    rows.push_back(
        {entry.group, entry.field, mib_field_type(entry.group, entry.field), entry.value});
  }
  return rows;
}

IncreaseLookup row_increases(const std::vector<StatsRow>& rows, bool absolute) {
  return [&rows, absolute](const MibKey& key) -> std::optional<uint64_t> {
    for (const StatsRow& row : rows) {
      if (row.group == key.group && row.field == key.field) {
        if (row.type != MibType::kCounter) return std::nullopt;
        return absolute ? row.value.bits : row.increase;
      }
    }
    return std::nullopt;
  };
}

void print_delta_table(const std::vector<StatsRow>& rows, double seconds, const RowFilter& filter,
                       std::ostream& out) {
  out << printf_string("%-40s %16s %14s\n",
                       ("# increments over " + fixed(seconds, 1) + " s").c_str(), "increase",
                       "per second");
  for (const StatsRow& row : rows) {
    if (!filter.matches(row)) continue;
    if (row.type == MibType::kGauge) {
      if (!filter.include_zero && !row.changed) continue;
      out << printf_string("%-40s %16s %14s\n", row.name().c_str(), row.value.to_string().c_str(),
                           "gauge");
      continue;
    }
    if (!filter.include_zero && row.increase == 0) continue;
    double rate = seconds > 0 ? static_cast<double>(row.increase) / seconds : 0;
    out << printf_string("%-40s %16llu %14s%s\n", row.name().c_str(),
                         static_cast<unsigned long long>(row.increase), fixed(rate, 1).c_str(),
                         row.reset ? " (reset)" : "");
  }
}

void print_absolute_table(const std::vector<StatsRow>& rows, const RowFilter& filter,
                          std::ostream& out) {
  out << printf_string("%-40s %20s\n", "# totals since boot", "value");
  for (const StatsRow& row : rows) {
    if (!filter.matches(row)) continue;
    if (!filter.include_zero && row.value.bits == 0) continue;
    out << printf_string("%-40s %20s%s\n", row.name().c_str(), row.value.to_string().c_str(),
                         row.type == MibType::kGauge ? " (gauge)" : "");
  }
}

void print_rows_json(const std::vector<StatsRow>& rows, std::optional<double> seconds,
                     const RowFilter& filter, std::ostream& out) {
  out << "{\"mode\":\"" << (seconds ? "increments" : "absolute") << "\"";
  if (seconds) out << ",\"seconds\":" << json_number(*seconds);
  out << ",\"fields\":[";
  bool first = true;
  for (const StatsRow& row : rows) {
    if (!filter.matches(row)) continue;
    bool zero = seconds ? (row.type == MibType::kGauge ? !row.changed : row.increase == 0)
                        : row.value.bits == 0;
    if (!filter.include_zero && zero) continue;
    out << (first ? "" : ",") << "{\"name\":\"" << json_escape(row.name()) << "\",\"group\":\""
        << json_escape(row.group) << "\",\"field\":\"" << json_escape(row.field) << "\",\"type\":\""
        << (row.type == MibType::kGauge ? "gauge" : "counter")
        << "\",\"value\":" << row.value.to_string();
    if (seconds && row.type == MibType::kCounter) {
      out << ",\"increase\":" << row.increase << ",\"per_second\":"
          << json_number(*seconds > 0 ? static_cast<double>(row.increase) / *seconds : 0);
      if (row.reset) out << ",\"reset\":true";
    }
    out << "}";
    first = false;
  }
  out << "]}\n";
}

void print_ratios(const IncreaseLookup& increase, std::optional<double> seconds,
                  std::string_view span_words, const SnmpThresholds& thresholds,
                  std::ostream& out) {
  std::vector<CheckResult> checks = evaluate_checks(increase, seconds.value_or(0), thresholds);
  out << "# ratios " << span_words << "\n";
  for (const RatioWords& words : kRatioWords) {
    const RatioDefinition* definition = nullptr;
    for (const RatioDefinition& d : ratio_definitions()) {
      if (d.name == words.name) definition = &d;
    }
    if (definition == nullptr) continue;
    std::optional<double> value = compute_ratio(*definition, increase);
    out << words.label << " ";
    if (value) {
      out << percent(*value, words.decimals) << words.suffix;
    } else {
      out << "n/a (" << words.none << ")";
    }
    if (const CheckResult* check = find_check(checks, words.check)) {
      out << " — " << verdict_words(*check);
    }
    out << "\n";
  }
  if (const CheckResult* check = find_check(checks, "listen_drops")) {
    std::optional<uint64_t> drops = increase(MibKey{"TcpExt", "ListenDrops"});
    out << "listen drops ";
    if (drops) {
      out << *drops;
      if (check->value) out << " (" << fixed(*check->value, 2) << "/s)";
    } else {
      out << "n/a (no TcpExt ListenDrops)";
    }
    out << " — " << verdict_words(*check) << "\n";
  }
}

void print_ratios_json(const IncreaseLookup& increase, std::optional<double> seconds,
                       const SnmpThresholds& thresholds, std::ostream& out) {
  out << "{\"seconds\":" << json_optional(seconds) << ",\"ratios\":[";
  bool first = true;
  for (const RatioDefinition& definition : ratio_definitions()) {
    out << (first ? "" : ",") << "{\"ratio\":\"" << definition.name
        << "\",\"value\":" << json_optional(compute_ratio(definition, increase)) << "}";
    first = false;
  }
  out << "],\"checks\":[";
  first = true;
  for (const CheckResult& check : evaluate_checks(increase, seconds.value_or(0), thresholds)) {
    out << (first ? "" : ",") << "{\"check\":\"" << check.check
        << "\",\"value\":" << json_optional(check.value) << ",\"verdict\":\""
        << verdict_name(check.verdict) << "\",\"level\":" << static_cast<int>(check.verdict)
        << ",\"advice\":\"" << json_escape(check.advice) << "\"}";
    first = false;
  }
  out << "]}\n";
}

std::string format_baseline(const MibSnapshot& snapshot, double saved_at_unix_seconds) {
  std::string text = "# netobs stats baseline\n";
  text += "# saved_at_unix_seconds " + fixed(saved_at_unix_seconds, 3) + "\n";
  for (const MibEntry& entry : snapshot.parsed.entries) {
    text += entry.group + "." + entry.field + " " + entry.value.to_string() + "\n";
  }
  return text;
}

Result<Baseline> parse_baseline(std::string_view text, std::string_view source) {
  constexpr std::string_view kMagic = "# netobs stats baseline";
  if (text.substr(0, kMagic.size()) != kMagic) {
    return Status::error(std::string(source) +
                         ": not a netobs stats baseline (write one with `netobs stats --save`)");
  }
  Baseline baseline;
  int line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (line.empty()) continue;
    if (line.front() == '#') {
      constexpr std::string_view kSaved = "# saved_at_unix_seconds ";
      if (line.substr(0, kSaved.size()) == kSaved) {
        std::string_view number = line.substr(kSaved.size());
        std::from_chars(number.data(), number.data() + number.size(),
                        baseline.saved_at_unix_seconds);
      }
      continue;
    }
    size_t space = line.find(' ');
    std::string where = std::string(source) + ":" + std::to_string(line_number) + ": ";
    if (space == std::string_view::npos) {
      return Status::error(where + "expected \"Group.Field value\"");
    }
    Result<MibKey> key = parse_mib_key(line.substr(0, space));
    if (!key) return Status::error(where + key.message());
    MibValue value;
    bool out_of_range = false;
    if (!parse_mib_value(line.substr(space + 1), value, out_of_range)) {
      return Status::error(where + "bad value \"" + std::string(line.substr(space + 1)) + "\"");
    }
    baseline.entries.push_back({key->group, key->field, value, ProcNetFile::kSnmp});
  }
  return baseline;
}

std::vector<BaselineChange> baseline_changes(const Baseline& baseline, const MibSnapshot& now,
                                             bool include_unchanged) {
  std::unordered_map<std::string, const MibEntry*> before;
  for (const MibEntry& entry : baseline.entries) {
    before.emplace(entry.group + "." + entry.field, &entry);
  }
  std::vector<BaselineChange> changes;
  for (const MibEntry& entry : now.parsed.entries) {
    BaselineChange change;
    change.name = entry.group + "." + entry.field;
    change.type = mib_field_type(entry.group, entry.field);
    change.after = entry.value;
    auto it = before.find(change.name);
    if (it != before.end()) change.before = it->second->value;
    if (change.type == MibType::kCounter) {
      uint64_t base = change.before && !change.before->negative ? change.before->bits : 0;
      change.change = static_cast<double>(counter_increase(base, entry.value.bits));
      change.reset = entry.value.bits < base;
    } else {
      change.change = entry.value.as_double() - (change.before ? change.before->as_double() : 0);
    }
    if (change.change == 0 && change.before && !include_unchanged) continue;
    double base = change.before ? std::fabs(change.before->as_double()) : 0;
    if (base > 0) {
      change.relative = change.change / base;
    } else {
      change.relative = change.change == 0 ? 0 : std::numeric_limits<double>::infinity();
    }
    changes.push_back(std::move(change));
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const BaselineChange& a, const BaselineChange& b) {
                     double ra = std::fabs(a.relative);
                     double rb = std::fabs(b.relative);
                     if (ra != rb) return ra > rb;
                     if (std::fabs(a.change) != std::fabs(b.change)) {
                       return std::fabs(a.change) > std::fabs(b.change);
                     }
                     return a.name < b.name;
                   });
  return changes;
}

namespace {

bool change_matches(const BaselineChange& change, const RowFilter& filter) {
  if (!filter.pattern) return true;
  std::string nstat_name = change.name;
  nstat_name.erase(std::remove(nstat_name.begin(), nstat_name.end(), '.'), nstat_name.end());
  return std::regex_search(change.name, *filter.pattern) ||
         std::regex_search(nstat_name, *filter.pattern);
}

std::string change_text(const BaselineChange& change) {
  std::string text = printf_string("%+.0f", change.change);
  if (change.reset) text += " (reset)";
  return text;
}

std::string relative_text(const BaselineChange& change) {
  if (!change.before) return "new field";
  if (std::isinf(change.relative)) return "from 0";
  return printf_string("%+.3g %%", change.relative * 100);
}

}  // namespace

void print_baseline_changes(const std::vector<BaselineChange>& changes, std::string_view source,
                            double elapsed_seconds, const RowFilter& filter, std::ostream& out) {
  out << "# changes since baseline " << source << " (saved " << fixed(elapsed_seconds, 1)
      << " s ago), biggest relative change first\n";
  out << printf_string("%-40s %20s %20s %18s %14s\n", "name", "baseline", "now", "change",
                       "relative");
  for (const BaselineChange& change : changes) {
    if (!change_matches(change, filter)) continue;
    out << printf_string("%-40s %20s %20s %18s %14s\n", change.name.c_str(),
                         change.before ? change.before->to_string().c_str() : "-",
                         change.after.to_string().c_str(), change_text(change).c_str(),
                         relative_text(change).c_str());
  }
}

void print_baseline_changes_json(const std::vector<BaselineChange>& changes, double elapsed_seconds,
                                 const RowFilter& filter, std::ostream& out) {
  out << "{\"elapsed_seconds\":" << json_number(elapsed_seconds) << ",\"changes\":[";
  bool first = true;
  for (const BaselineChange& change : changes) {
    if (!change_matches(change, filter)) continue;
    out << (first ? "" : ",") << "{\"name\":\"" << json_escape(change.name) << "\",\"type\":\""
        << (change.type == MibType::kGauge ? "gauge" : "counter")
        << "\",\"baseline\":" << (change.before ? change.before->to_string() : "null")
        << ",\"now\":" << change.after.to_string() << ",\"change\":" << json_number(change.change)
        << ",\"relative\":" << json_number(change.relative)
        << (change.reset ? ",\"reset\":true" : "") << "}";
    first = false;
  }
  out << "]}\n";
}

namespace {

std::string trend_change(std::optional<double> recent, std::optional<double> longer) {
  if (!recent || !longer) return "n/a";
  if (*longer == 0) return *recent == 0 ? "+0.0 %" : "new";
  return signed_percent((*recent - *longer) / *longer, 1);
}

}  // namespace

void print_trend(const TrendTable& table, std::ostream& out) {
  out << "# key rates per second over " << table.windows_seconds.size() << " windows, from "
      << table.source << "\n";
  std::string header = printf_string("%-32s", "name");
  for (double window : table.windows_seconds) {
    header += printf_string(" %12s", window_label(window).c_str());
  }
  for (size_t i = 1; i < table.windows_seconds.size(); ++i) {
    header += printf_string(" %12s", (window_label(table.windows_seconds[0]) + " vs " +
                                      window_label(table.windows_seconds[i]))
                                         .c_str());
  }
  out << header << "\n";
  for (const auto& [key, rates] : table.rates) {
    std::string line = printf_string("%-32s", key.to_string().c_str());
    for (size_t i = 0; i < table.windows_seconds.size(); ++i) {
      std::optional<double> rate = i < rates.size() ? rates[i] : std::nullopt;
      line += printf_string(" %12s", rate ? fixed(*rate, 2).c_str() : "n/a");
    }
    for (size_t i = 1; i < table.windows_seconds.size(); ++i) {
      std::optional<double> recent = rates.empty() ? std::nullopt : rates[0];
      std::optional<double> longer = i < rates.size() ? rates[i] : std::nullopt;
      line += printf_string(" %12s", trend_change(recent, longer).c_str());
    }
    out << line << "\n";
  }
  // Say so when a window is not full yet: its rate covers less time than its name.
  std::string partial;
  for (size_t i = 0; i < table.windows_seconds.size() && i < table.covered_seconds.size(); ++i) {
    std::optional<double> covered = table.covered_seconds[i];
    if (!covered || *covered + 0.5 < table.windows_seconds[i]) {
      partial += (partial.empty() ? "" : ", ") + window_label(table.windows_seconds[i]) + " " +
                 (covered ? fixed(*covered, 0) + " s" : std::string("no data"));
    }
  }
  if (!partial.empty()) out << "# windows not yet full (history covered): " << partial << "\n";
}

void print_trend_json(const TrendTable& table, std::ostream& out) {
  out << "{\"source\":\"" << json_escape(table.source) << "\",\"windows\":[";
  for (size_t i = 0; i < table.windows_seconds.size(); ++i) {
    std::optional<double> covered =
        i < table.covered_seconds.size() ? table.covered_seconds[i] : std::nullopt;
    out << (i ? "," : "") << "{\"window\":\"" << window_label(table.windows_seconds[i])
        << "\",\"seconds\":" << json_number(table.windows_seconds[i])
        << ",\"covered_seconds\":" << json_optional(covered) << "}";
  }
  out << "],\"rates\":[";
  bool first = true;
  for (const auto& [key, rates] : table.rates) {
    out << (first ? "" : ",") << "{\"name\":\"" << json_escape(key.to_string())
        << "\",\"per_second\":[";
    for (size_t i = 0; i < table.windows_seconds.size(); ++i) {
      out << (i ? "," : "") << json_optional(i < rates.size() ? rates[i] : std::nullopt);
    }
    out << "]}";
    first = false;
  }
  out << "]}\n";
}

namespace {

// One sample line of the text exposition format: name, labels, value.
struct ExpositionSample {
  std::string_view name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

bool parse_exposition_line(std::string_view line, ExpositionSample& sample) {
  sample.labels.clear();
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
        return false;
      }
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      while (j < line.size() && line[j] != '"') {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
        ++j;
      }
      if (j >= line.size()) return false;
      sample.labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::string_view rest = line.substr(i);
  size_t space = rest.find(' ');  // an optional timestamp follows
  std::string number(rest.substr(0, space));
  if (number.empty()) return false;
  char* end = nullptr;
  sample.value = std::strtod(number.c_str(), &end);
  return end != nullptr && *end == '\0';
}

}  // namespace

Result<TrendTable> trend_from_exposition(std::string_view text, std::string source) {
  constexpr std::string_view kRate = "netobs_snmp_mib_rate_per_second";
  constexpr std::string_view kCovered = "netobs_snmp_window_covered_seconds";
  TrendTable table;
  table.source = std::move(source);
  std::map<double, std::optional<double>> covered;
  std::vector<std::pair<MibKey, std::map<double, double>>> rates;
  ExpositionSample sample;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, kRate.size()) != kRate && line.substr(0, kCovered.size()) != kCovered) {
      continue;
    }
    if (!parse_exposition_line(line, sample)) continue;
    std::optional<double> window = parse_window(sample.labels["window"]);
    if (!window) continue;
    if (sample.name == kCovered) {
      covered[*window] = sample.value;
      continue;
    }
    if (sample.name != kRate) continue;
    MibKey key{sample.labels["group"], sample.labels["field"]};
    auto it =
        std::find_if(rates.begin(), rates.end(), [&](const auto& r) { return r.first == key; });
    if (it == rates.end()) {
      rates.push_back({key, {}});
      it = rates.end() - 1;
    }
    it->second[*window] = sample.value;
    covered.try_emplace(*window, std::nullopt);
  }
  if (rates.empty()) {
    return Status::error(table.source + " has no " + std::string(kRate) +
                         " series: is it a netobs exporter with the snmp collector on, running "
                         "for at least one sample interval?");
  }
  for (const auto& [window, seconds] : covered) {
    table.windows_seconds.push_back(window);
    table.covered_seconds.push_back(seconds);
  }
  for (const auto& [key, by_window] : rates) {
    std::vector<std::optional<double>> row;
    for (double window : table.windows_seconds) {
      auto it = by_window.find(window);
      row.push_back(it == by_window.end() ? std::nullopt : std::optional<double>(it->second));
    }
    table.rates.push_back({key, std::move(row)});
  }
  return table;
}

std::vector<std::pair<std::string, double>> drop_reasons_from_exposition(std::string_view text) {
  constexpr std::string_view kSeries = "netobs_drops_total{";
  constexpr std::string_view kReason = "reason=\"";
  std::map<std::string, double> sums;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.substr(0, kSeries.size()) != kSeries) continue;
    const size_t reason = line.find(kReason);
    const size_t close = line.rfind('}');
    if (reason == std::string_view::npos || close == std::string_view::npos) continue;
    const size_t value_start = reason + kReason.size();
    const size_t value_end = line.find('"', value_start);
    if (value_end == std::string_view::npos) continue;
    const std::string number(line.substr(close + 1));
    char* parsed_end = nullptr;
    const double value = std::strtod(number.c_str(), &parsed_end);
    if (parsed_end == number.c_str()) continue;
    sums[std::string(line.substr(value_start, value_end - value_start))] += value;
  }
  std::vector<std::pair<std::string, double>> reasons;
  for (const auto& [name, value] : sums) {
    if (value > 0) reasons.emplace_back(name, value);
  }
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return reasons;
}

void print_drop_reasons(const std::vector<std::pair<std::string, double>>& reasons,
                        std::string_view source, std::ostream& out) {
  // The ratios each reason explains.
  static const std::map<std::string, std::string, std::less<>> kExplains = {
      {"TCP_LISTEN_OVERFLOW", "accept queue full: ListenOverflows"},
      {"SOCKET_BACKLOG", "socket backlog full"},
      {"SOCKET_RCVBUFF", "receive buffer full: RcvbufErrors"},
      {"TCP_OFOMERGE", "out-of-order queue"},
      {"NO_SOCKET", "no listener: NoPorts, OutRsts"},
      {"NETFILTER_DROP", "firewall rule"},
      {"QDISC_DROP", "egress queue full"},
  };
  out << "\nKernel drop reasons (from " << source << ", since the exporter started):\n";
  constexpr size_t kTop = 10;
  for (size_t i = 0; i < reasons.size() && i < kTop; ++i) {
    const auto& [name, value] = reasons[i];
    char line[160];
    std::snprintf(line, sizeof line, "  %-28s %14.0f", name.c_str(), value);
    out << line;
    if (auto it = kExplains.find(name); it != kExplains.end()) out << "  " << it->second;
    out << "\n";
  }
  if (reasons.size() > kTop) out << "  (" << reasons.size() - kTop << " more)\n";
}

}  // namespace netobs
