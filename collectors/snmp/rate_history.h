// Automatic deltas for the SNMP counters: a bounded ring of timestamped
// samples of a fixed set of counters, per-window increases and rates with
// counter-reset handling, the derived ratios and their verdicts.
// Pure logic, no clock and no I/O; not thread-safe (the owner locks).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/snmp_config.h"
#include "config/config.h"
#include "exporter/status.h"

namespace netobs {

// A "Group.Field" name such as "Tcp.RetransSegs".
struct MibKey {
  std::string group;
  std::string field;

  std::string to_string() const { return group + "." + field; }
  auto operator<=>(const MibKey&) const = default;
};

// Parses "Group.Field"; the error names the text and the expected shape.
Result<MibKey> parse_mib_key(std::string_view text);

// How much a counter went up from `before` to `after`. A value going down is
// a reset (module reload, namespace re-creation): the counter restarted at 0,
// so the increase is `after` itself, never negative.
uint64_t counter_increase(uint64_t before, uint64_t after);

// "1m", "5m", "15m", "90s", "1h": the `window` label of a window length.
std::string window_label(double seconds);
// Parses "15m", "90s", "1h", "30" (seconds); nullopt when malformed or <= 0.
std::optional<double> parse_window(std::string_view text);

// One derived ratio: numerator increase / sum of the denominators' increases.
struct RatioDefinition {
  std::string_view name;         // the `ratio` label, e.g. "retransmission"
  std::string_view description;  // words for `netobs stats --ratios`
  MibKey numerator;
  std::vector<MibKey> denominator;
};
const std::vector<RatioDefinition>& ratio_definitions();

// Counters and totals over one window, by index into the history's keys.
struct WindowSummary {
  double window_seconds = 0;
  double covered_seconds = 0;  // < window_seconds until the history is that long
  std::vector<std::optional<uint64_t>> increases;  // nullopt: no pair of samples had it

  // Increase per second; nullopt without data or when no time is covered.
  std::optional<double> rate(size_t index) const;
};

enum class Verdict { kOk = 0, kWarning = 1, kCritical = 2 };
std::string_view verdict_name(Verdict verdict);

// One health check evaluated on one window.
struct CheckResult {
  std::string_view check;       // "retransmission_ratio", "tlp_share", "listen_drops"
  std::optional<double> value;  // the ratio or rate checked; nullopt: no data (verdict ok)
  Verdict verdict = Verdict::kOk;
  std::string_view advice;  // what a non-ok verdict usually means; empty when ok
};

// The keys the ratios and checks read, to be tracked besides the rate counters.
std::vector<MibKey> derived_input_keys();

class RateHistory {
 public:
  // `keys` are the counters sampled; samples older than `max_window_seconds`
  // (plus slack) are dropped, so memory is bounded by window / interval.
  RateHistory(std::vector<MibKey> keys, double max_window_seconds, double sample_interval_seconds);

  const std::vector<MibKey>& keys() const { return keys_; }
  std::optional<size_t> index_of(const MibKey& key) const;
  size_t sample_count() const { return samples_.size(); }

  // Adds a sample taken at `time_seconds` (monotonic, increasing). Keys absent
  // from `entries`, or negative there, are missing from this sample.
  void add(double time_seconds, std::span<const MibEntry> entries);
  // Same with values already in key order (tests, the stats command).
  void add_values(double time_seconds, std::vector<std::optional<uint64_t>> values);

  // Increases over the samples no older than `window_seconds` before the newest
  // (with half an interval of slack for timer jitter). Needs >= 2 samples.
  std::optional<WindowSummary> summarize(double window_seconds) const;

  // The increase of `key` in `summary`; nullopt when it is not tracked or had no data.
  std::optional<uint64_t> increase_of(const WindowSummary& summary, const MibKey& key) const;
  // Ratio `definition` over `summary` (see compute_ratio).
  std::optional<double> ratio(const WindowSummary& summary,
                              const RatioDefinition& definition) const;
  // The health checks on one window.
  std::vector<CheckResult> checks(const WindowSummary& summary,
                                  const SnmpThresholds& thresholds) const;

 private:
  struct Sample {
    double time = 0;
    std::vector<std::optional<uint64_t>> values;
  };
  std::vector<MibKey> keys_;
  double max_window_seconds_;
  double sample_interval_seconds_;
  size_t max_samples_;
  std::deque<Sample> samples_;
};

// Evaluates a value against warning/critical thresholds: above critical is
// critical, above warning is a warning. Shared by the collector and the CLI.
Verdict grade(double value, double warning, double critical);

// The increase of a counter over some span, or nullopt when unknown.
using IncreaseLookup = std::function<std::optional<uint64_t>(const MibKey&)>;

// A ratio from increases: nullopt when an input is unknown or the denominator
// did not move (never NaN or Inf).
std::optional<double> compute_ratio(const RatioDefinition& definition,
                                    const IncreaseLookup& increase);
// The health checks over a span of `seconds` (the listen-drop check is a rate).
std::vector<CheckResult> evaluate_checks(const IncreaseLookup& increase, double seconds,
                                         const SnmpThresholds& thresholds);

}  // namespace netobs
