#include "collectors/snmp/snmp_config.h"

#include <cmath>
#include <regex>

#include "config/config_text.h"
#include "config/schema.h"

namespace netobs {
namespace {

using namespace schema;

std::string check_counter_name(const Value& v) {
  static const std::regex kCounter("[A-Za-z0-9]+\\.[A-Za-z0-9_]+");
  if (std::regex_match(v.text, kCounter)) return "";
  return "invalid counter name " + quote(v.text) +
         ": use \"Group.Field\" as in /proc/net/snmp or /proc/net/netstat, e.g. "
         "\"Tcp.RetransSegs\"";
}

// Windowed rates are sums of whole samples, so each window must hold a whole
// number of sample intervals.
void check_windows(ConfigChecker& checker) {
  const SnmpConfig& snmp = checker.config().collector<SnmpConfig>();
  const FieldOrigin* windows = checker.origin("collectors.snmp.windows");
  const FieldOrigin* interval = checker.origin("collectors.snmp.sample_interval");
  if (!windows && !interval) return;
  if (checker.failed("collectors.snmp.windows") ||
      checker.failed("collectors.snmp.sample_interval")) {
    return;
  }
  const int64_t interval_ms = std::llround(snmp.sample_interval_seconds * 1000);
  const std::string interval_text = format_duration(snmp.sample_interval_seconds);
  for (size_t i = 0; i < snmp.windows_seconds.size(); ++i) {
    const int64_t window_ms = std::llround(snmp.windows_seconds[i] * 1000);
    const std::string window_text = format_duration(snmp.windows_seconds[i]);
    std::string problem;
    if (window_ms < interval_ms) {
      problem = "window " + window_text + " is shorter than sample_interval " + interval_text +
                "; each window must be at least one sample_interval";
    } else if (window_ms % interval_ms != 0) {
      const int64_t below = window_ms / interval_ms * interval_ms;
      problem = "window " + window_text + " is not a multiple of sample_interval " + interval_text +
                "; use e.g. " + format_duration(static_cast<double>(below) / 1000) + " or " +
                format_duration(static_cast<double>(below + interval_ms) / 1000);
    }
    if (problem.empty()) continue;
    if (windows) {
      checker.error(windows->item_marks[i], windows->path + "[" + std::to_string(i) + "]", problem);
    } else {
      // Default windows: one error at sample_interval is enough.
      checker.error(interval->mark, interval->path,
                    problem + " (the default windows are 1m, 5m, 15m; set windows to match)");
      return;
    }
  }
}

void check_thresholds(ConfigChecker& checker, const std::string& name, double warning,
                      double critical) {
  if (warning <= critical) return;
  const std::string prefix = "collectors.snmp.thresholds." + name;
  if (checker.failed(prefix + "_warning") || checker.failed(prefix + "_critical")) {
    return;
  }
  const FieldOrigin* where = checker.origin(prefix + "_warning");
  if (!where) where = checker.origin(prefix + "_critical");
  if (!where) return;
  checker.error(where->mark, where->path,
                name + "_warning " + format_number(warning) + " is greater than " + name +
                    "_critical " + format_number(critical) +
                    "; the warning threshold must be <= the critical one");
}

void check_snmp(ConfigChecker& checker) {
  check_windows(checker);
  const SnmpThresholds& t = checker.config().collector<SnmpConfig>().thresholds;
  check_thresholds(checker, "retrans_ratio", t.retrans_ratio_warning, t.retrans_ratio_critical);
  check_thresholds(checker, "tlp_share", t.tlp_share_warning, t.tlp_share_critical);
  check_thresholds(checker, "listen_drops_per_second", t.listen_drops_per_second_warning,
                   t.listen_drops_per_second_critical);
}

}  // namespace

CollectorConfigSection snmp_config_section() {
  SchemaPtr thresholds = section({
      {"retrans_ratio_warning",
       bind_to(number(0, 1), NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.retrans_ratio_warning))},
      {"retrans_ratio_critical",
       bind_to(number(0, 1),
               NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.retrans_ratio_critical))},
      {"tlp_share_warning",
       bind_to(number(0, 1), NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.tlp_share_warning))},
      {"tlp_share_critical",
       bind_to(number(0, 1), NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.tlp_share_critical))},
      {"listen_drops_per_second_warning",
       bind_to(number(0, 1e9),
               NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.listen_drops_per_second_warning))},
      {"listen_drops_per_second_critical",
       bind_to(number(0, 1e9),
               NETOBS_COLLECTOR_FIELD(SnmpConfig, thresholds.listen_drops_per_second_critical))},
  });
  return {.name = "snmp",
          .make_default = [] { return std::make_unique<SnmpConfig>(); },
          .fields =
              {
                  {"sample_interval",
                   bind_to(duration(0.1, 3600),
                           NETOBS_COLLECTOR_FIELD(SnmpConfig, sample_interval_seconds))},
                  {"windows", bind_to(list_of(duration(1, 86400)),
                                      NETOBS_COLLECTOR_FIELD(SnmpConfig, windows_seconds))},
                  {"rate_counters", bind_to(list_of(with_check(text(), check_counter_name)),
                                            NETOBS_COLLECTOR_FIELD(SnmpConfig, rate_counters))},
                  {"thresholds", thresholds},
              },
          .aliases = {},
          .check = check_snmp};
}

}  // namespace netobs
