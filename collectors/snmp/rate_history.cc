#include "collectors/snmp/rate_history.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace netobs {

Result<MibKey> parse_mib_key(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size() ||
      text.find('.', dot + 1) != std::string_view::npos) {
    return Status::error("\"" + std::string(text) +
                         "\" is not a counter name: write Group.Field, e.g. Tcp.RetransSegs");
  }
  return MibKey{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
}

uint64_t counter_increase(uint64_t before, uint64_t after) {
  return after >= before ? after - before : after;
}

std::string window_label(double seconds) {
  double rounded = std::round(seconds);
  if (std::fabs(seconds - rounded) < 1e-9 && rounded >= 1) {
    auto whole = static_cast<long long>(rounded);
    if (whole % 3600 == 0) return std::to_string(whole / 3600) + "h";
    if (whole % 60 == 0) return std::to_string(whole / 60) + "m";
    return std::to_string(whole) + "s";
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%gs", seconds);
  return buffer;
}

std::optional<double> parse_window(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double unit = 1;
  switch (text.back()) {
    case 's':
      text.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  if (!(value > 0) || !std::isfinite(value)) return std::nullopt;
  return value * unit;
}

const std::vector<RatioDefinition>& ratio_definitions() {
  static const std::vector<RatioDefinition> kRatios = {
      {"retransmission",
       "retransmission ratio (RetransSegs / OutSegs)",
       {"Tcp", "RetransSegs"},
       {{"Tcp", "OutSegs"}}},
      {"tlp_share",
       "TLP share of retransmissions (TCPLossProbes / RetransSegs)",
       {"TcpExt", "TCPLossProbes"},
       {{"Tcp", "RetransSegs"}}},
      {"fast_retransmit_share",
       "fast-retransmit share of retransmissions",
       {"TcpExt", "TCPFastRetrans"},
       {{"Tcp", "RetransSegs"}}},
      {"rto_share",
       "RTO (timeout) share of retransmissions",
       {"TcpExt", "TCPTimeouts"},
       {{"Tcp", "RetransSegs"}}},
      {"syn_retransmit_share",
       "SYN-retransmit share of retransmissions",
       {"TcpExt", "TCPSynRetrans"},
       {{"Tcp", "RetransSegs"}}},
      {"tcp_input_error",
       "TCP input error ratio (InErrs / InSegs)",
       {"Tcp", "InErrs"},
       {{"Tcp", "InSegs"}}},
      // InDatagrams counts only delivered datagrams; adding the drops keeps it 0..1.
      {"udp_receive_buffer_error",
       "UDP receive-buffer error ratio (RcvbufErrors / (InDatagrams + RcvbufErrors))",
       {"Udp", "RcvbufErrors"},
       {{"Udp", "InDatagrams"}, {"Udp", "RcvbufErrors"}}},
  };
  return kRatios;
}

namespace {

const MibKey kRetransSegs{"Tcp", "RetransSegs"};
const MibKey kListenDrops{"TcpExt", "ListenDrops"};

const RatioDefinition& ratio_named(std::string_view name) {
  for (const RatioDefinition& definition : ratio_definitions()) {
    if (definition.name == name) return definition;
  }
  return ratio_definitions().front();  // unreachable: names are fixed above
}

}  // namespace

std::vector<MibKey> derived_input_keys() {
  std::vector<MibKey> keys;
  auto add = [&keys](const MibKey& key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  };
  for (const RatioDefinition& definition : ratio_definitions()) {
    add(definition.numerator);
    for (const MibKey& key : definition.denominator) add(key);
  }
  add(kListenDrops);
  return keys;
}

std::optional<double> WindowSummary::rate(size_t index) const {
  if (index >= increases.size() || !increases[index] || !(covered_seconds > 0)) {
    return std::nullopt;
  }
  return static_cast<double>(*increases[index]) / covered_seconds;
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kWarning:
      return "warning";
    case Verdict::kCritical:
      return "critical";
  }
  return "unknown";
}

Verdict grade(double value, double warning, double critical) {
  if (value > critical) return Verdict::kCritical;
  if (value > warning) return Verdict::kWarning;
  return Verdict::kOk;
}

std::optional<double> compute_ratio(const RatioDefinition& definition,
                                    const IncreaseLookup& increase) {
  std::optional<uint64_t> numerator = increase(definition.numerator);
  if (!numerator) return std::nullopt;
  double denominator = 0;
  for (const MibKey& key : definition.denominator) {
    std::optional<uint64_t> part = increase(key);
    if (!part) return std::nullopt;
    denominator += static_cast<double>(*part);
  }
  if (!(denominator > 0)) return std::nullopt;
  return static_cast<double>(*numerator) / denominator;
}

std::vector<CheckResult> evaluate_checks(const IncreaseLookup& increase, double seconds,
                                         const SnmpThresholds& thresholds) {
  std::vector<CheckResult> results;
  {
    CheckResult check{"retransmission_ratio",
                      compute_ratio(ratio_named("retransmission"), increase)};
    if (check.value) {
      check.verdict =
          grade(*check.value, thresholds.retrans_ratio_warning, thresholds.retrans_ratio_critical);
    }
    if (check.verdict != Verdict::kOk) check.advice = "packet loss or congestion on the path";
    results.push_back(check);
  }
  {
    CheckResult check{"tlp_share", compute_ratio(ratio_named("tlp_share"), increase)};
    if (check.value) {
      check.verdict =
          grade(*check.value, thresholds.tlp_share_warning, thresholds.tlp_share_critical);
    }
    if (check.verdict != Verdict::kOk) check.advice = "receive window may be too small";
    results.push_back(check);
  }
  {
    CheckResult check{"listen_drops", std::nullopt};
    std::optional<uint64_t> drops = increase(kListenDrops);
    if (drops && seconds > 0) check.value = static_cast<double>(*drops) / seconds;
    if (check.value) {
      check.verdict = grade(*check.value, thresholds.listen_drops_per_second_warning,
                            thresholds.listen_drops_per_second_critical);
    }
    if (check.verdict != Verdict::kOk) {
      check.advice =
          "accept queue overflowing: the application accepts too slowly or the "
          "listen backlog (net.core.somaxconn) is too small";
    }
    results.push_back(check);
  }
  return results;
}

RateHistory::RateHistory(std::vector<MibKey> keys, double max_window_seconds,
                         double sample_interval_seconds)
    : keys_(std::move(keys)),
      max_window_seconds_(max_window_seconds > 0 ? max_window_seconds : 0),
      sample_interval_seconds_(sample_interval_seconds > 0 ? sample_interval_seconds : 1) {
  double per_window = std::ceil(max_window_seconds_ / sample_interval_seconds_);
  // Room for the window plus slack; also a hard cap should samples come faster.
  max_samples_ = static_cast<size_t>(std::min(per_window, 1e6)) * 2 + 8;
}

std::optional<size_t> RateHistory::index_of(const MibKey& key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return i;
  }
  return std::nullopt;
}

void RateHistory::add(double time_seconds, std::span<const MibEntry> entries) {
  std::vector<std::optional<uint64_t>> values(keys_.size());
  for (const MibEntry& entry : entries) {
    if (entry.value.negative) continue;  // not a counter value
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i].field == entry.field && keys_[i].group == entry.group) {
        values[i] = entry.value.bits;
        break;
      }
    }
  }
  add_values(time_seconds, std::move(values));
}

void RateHistory::add_values(double time_seconds, std::vector<std::optional<uint64_t>> values) {
  values.resize(keys_.size());
  // A clock that went backwards would give negative spans: start over.
  if (!samples_.empty() && time_seconds <= samples_.back().time) samples_.clear();
  samples_.push_back({time_seconds, std::move(values)});
  double oldest_needed = time_seconds - max_window_seconds_ - sample_interval_seconds_;
  while (samples_.size() > 2 &&
         (samples_[1].time <= oldest_needed || samples_.size() > max_samples_)) {
    samples_.pop_front();
  }
}

std::optional<WindowSummary> RateHistory::summarize(double window_seconds) const {
  if (samples_.size() < 2) return std::nullopt;
  double newest = samples_.back().time;
  double cutoff = newest - window_seconds - sample_interval_seconds_ / 2;
  size_t first = samples_.size() - 2;  // always at least the last pair
  while (first > 0 && samples_[first - 1].time >= cutoff) --first;

  WindowSummary summary;
  summary.window_seconds = window_seconds;
  summary.covered_seconds = newest - samples_[first].time;
  summary.increases.assign(keys_.size(), std::nullopt);
  // Per key, step from the last sample that had it, so a sample missing a value
  // (a failed read) loses nothing and a reset across the gap is still seen.
  for (size_t k = 0; k < keys_.size(); ++k) {
    std::optional<uint64_t> last = samples_[first].values[k];
    for (size_t i = first + 1; i < samples_.size(); ++i) {
      const std::optional<uint64_t>& value = samples_[i].values[k];
      if (!value) continue;
      if (last) {
        summary.increases[k] = summary.increases[k].value_or(0) + counter_increase(*last, *value);
      }
      last = value;
    }
  }
  return summary;
}

std::optional<uint64_t> RateHistory::increase_of(const WindowSummary& summary,
                                                 const MibKey& key) const {
  std::optional<size_t> index = index_of(key);
  if (!index || *index >= summary.increases.size()) return std::nullopt;
  return summary.increases[*index];
}

std::optional<double> RateHistory::ratio(const WindowSummary& summary,
                                         const RatioDefinition& definition) const {
  return compute_ratio(definition, [&](const MibKey& key) { return increase_of(summary, key); });
}

std::vector<CheckResult> RateHistory::checks(const WindowSummary& summary,
                                             const SnmpThresholds& thresholds) const {
  return evaluate_checks([&](const MibKey& key) { return increase_of(summary, key); },
                         summary.covered_seconds, thresholds);
}

}  // namespace netobs
