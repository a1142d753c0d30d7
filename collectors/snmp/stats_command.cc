#include "collectors/snmp/stats_command.h"
#include "exporter/subcommand.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "collectors/snmp/http_fetch.h"
#include "collectors/snmp/rate_history.h"
#include "collectors/snmp/stats_format.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

constexpr std::string_view kDefaultExporterUrl = "http://127.0.0.1:9723/metrics";

struct StatsOptions {
  std::optional<double> interval;
  std::optional<long> count;
  bool absolute = false;
  bool zero = false;
  bool json = false;
  bool ratios = false;
  bool trend = false;
  std::optional<std::string> filter;
  std::optional<std::string> save;
  std::optional<std::string> baseline;
  std::optional<std::string> from;
  std::optional<std::string> config_file;
  std::optional<std::string> procfs;
  std::optional<double> sample_interval;
  std::optional<std::vector<double>> windows;
};

std::vector<double> parse_windows(const std::string& text) {
  std::vector<double> windows;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    std::optional<double> window = parse_window(part);
    if (!window) throw UsageError("--windows: \"" + part + "\" is not a duration like 1m or 90s");
    windows.push_back(*window);
  }
  if (windows.empty()) throw UsageError("--windows: give at least one window, e.g. 1m,5m,15m");
  return windows;
}

StatsOptions parse_options(const ParsedFlags& flags) {
  StatsOptions options;
  for (const auto& [flag, text] : flags.entries()) {
    const std::string& arg = flag->name;
    auto value = [&text] { return text; };
    if (arg == "--absolute") {
      options.absolute = true;
    } else if (arg == "--zero") {
      options.zero = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--ratios") {
      options.ratios = true;
    } else if (arg == "--trend") {
      options.trend = true;
    } else if (arg == "--interval") {
      options.interval = parse_seconds_flag(arg, value());
    } else if (arg == "--count") {
      options.count = static_cast<long>(parse_whole_flag(arg, value(), 1, LONG_MAX));
    } else if (arg == "--filter") {
      options.filter = value();
    } else if (arg == "--save") {
      options.save = value();
    } else if (arg == "--baseline") {
      options.baseline = value();
    } else if (arg == "--from") {
      options.from = value();
    } else if (arg == "--config.file") {
      options.config_file = value();
    } else if (arg == "--path.procfs") {
      options.procfs = value();
    } else if (arg == "--sample-interval") {
      options.sample_interval = parse_seconds_flag(arg, value());
    } else if (arg == "--windows") {
      options.windows = parse_windows(value());
    }
  }
  int modes = (options.save ? 1 : 0) + (options.baseline ? 1 : 0) + (options.trend ? 1 : 0);
  if (modes > 1) throw UsageError("--save, --baseline and --trend cannot be combined");
  if (options.ratios && (options.save || options.baseline || options.trend)) {
    throw UsageError("--ratios goes with the counter views, not --save/--baseline/--trend");
  }
  return options;
}

// Runs one invocation; holds what every view shares.
class StatsRun {
 public:
  StatsRun(const StatsOptions& options, const SnmpConfig& snmp, std::string procfs,
           std::ostream& out, std::ostream& err, StatsEnvironment& env)
      : options_(options),
        snmp_(snmp),
        procfs_(std::move(procfs)),
        out_(out),
        err_(err),
        env_(env) {
    filter_.include_zero = options.zero;
  }

  int run() {
    if (options_.filter) {
      try {
        filter_.pattern.emplace(*options_.filter, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        err_ << "netobs stats: --filter: invalid regular expression \"" << *options_.filter
             << "\": " << e.what() << "\n";
        return 2;
      }
    }
    if (options_.save) return save();
    if (options_.baseline) return compare_with_baseline();
    if (options_.trend) return trend();
    return options_.absolute ? absolute() : increments();
  }

 private:
  // Reads the files; warns once per (file, reason) about bad lines.
  std::optional<MibSnapshot> read() {
    MibSnapshot snapshot = env_.read(procfs_);
    for (const ParseError& error : snapshot.parsed.errors) {
      auto key = std::make_pair(static_cast<int>(error.file), static_cast<int>(error.kind));
      if (!warned_.insert(key).second) continue;
      err_ << "netobs stats: warning: " << procfs_ << "/net/" << proc_net_file_name(error.file);
      if (error.line > 0) err_ << " line " << error.line;
      err_ << ": " << parse_error_kind_name(error.kind) << ": " << error.detail << "\n";
    }
    if (snapshot.parsed.entries.empty()) {
      err_ << "netobs stats: no counters could be read from " << procfs_
           << "/net/{snmp,netstat,snmp6}\n";
      return std::nullopt;
    }
    return snapshot;
  }

  long report_count() const {
    if (options_.count) return *options_.count;
    return options_.interval ? std::numeric_limits<long>::max() : 1;
  }

  // Sleeps until `start + step * interval` on the monotonic clock (no drift).
  void sleep_until_step(double start, long step, double interval) {
    double wait = start + static_cast<double>(step) * interval - env_.monotonic_seconds();
    if (wait > 0) env_.sleep_for(wait);
  }

  void separate(long report) {
    if (report > 0 && !options_.json) out_ << "\n";
  }

  int increments() {
    double interval = options_.interval.value_or(1.0);
    std::optional<MibSnapshot> previous = read();
    if (!previous) return 1;
    double start = env_.monotonic_seconds();
    double previous_time = start;
    for (long report = 0; report < report_count(); ++report) {
      sleep_until_step(start, report + 1, interval);
      std::optional<MibSnapshot> current = read();
      if (!current) return 1;
      double now = env_.monotonic_seconds();
      double seconds = now - previous_time;
      std::vector<StatsRow> rows = delta_rows(*previous, *current);
      separate(report);
      if (options_.ratios) {
        IncreaseLookup lookup = row_increases(rows, false);
        if (options_.json) {
          print_ratios_json(lookup, seconds, snmp_.thresholds, out_);
        } else {
          std::ostringstream span;
          span << "over " << std::fixed;
          span.precision(1);
          span << seconds << " s";
          print_ratios(lookup, seconds, span.str(), snmp_.thresholds, out_);
          quote_drop_reasons();
        }
      } else if (options_.json) {
        print_rows_json(rows, seconds, filter_, out_);
      } else {
        print_delta_table(rows, seconds, filter_, out_);
      }
      out_.flush();
      previous = std::move(current);
      previous_time = now;
    }
    return 0;
  }

  // With an exporter running here, the kernel's drop reasons it counted
  // (drops collector) go under the ratios they explain; nothing otherwise.
  void quote_drop_reasons() {
    const std::string url(kDefaultExporterUrl);
    Result<std::string> body = env_.http_get(url, 1.0);
    if (!body) return;
    const auto reasons = drop_reasons_from_exposition(*body);
    if (!reasons.empty()) print_drop_reasons(reasons, url, out_);
  }

  int absolute() {
    double interval = options_.interval.value_or(1.0);
    double start = env_.monotonic_seconds();
    for (long report = 0; report < report_count(); ++report) {
      if (report > 0) sleep_until_step(start, report, interval);
      std::optional<MibSnapshot> snapshot = read();
      if (!snapshot) return 1;
      std::vector<StatsRow> rows = absolute_rows(*snapshot);
      separate(report);
      if (options_.ratios) {
        std::optional<double> uptime = env_.uptime_seconds(procfs_);
        IncreaseLookup lookup = row_increases(rows, true);
        if (options_.json) {
          print_ratios_json(lookup, uptime, snmp_.thresholds, out_);
        } else {
          std::string span = "since boot";
          if (uptime) span += " (up " + std::to_string(static_cast<long long>(*uptime)) + " s)";
          print_ratios(lookup, uptime, span, snmp_.thresholds, out_);
          quote_drop_reasons();
        }
      } else if (options_.json) {
        print_rows_json(rows, std::nullopt, filter_, out_);
      } else {
        print_absolute_table(rows, filter_, out_);
      }
      out_.flush();
    }
    return 0;
  }

  int save() {
    std::optional<MibSnapshot> snapshot = read();
    if (!snapshot) return 1;
    Status status =
        env_.write_file(*options_.save, format_baseline(*snapshot, env_.unix_seconds()));
    if (!status) {
      err_ << "netobs stats: " << status.message() << "\n";
      return 1;
    }
    out_ << "saved " << snapshot->parsed.entries.size() << " fields to " << *options_.save << "\n";
    return 0;
  }

  int compare_with_baseline() {
    Result<std::string> text = env_.read_file(*options_.baseline);
    if (!text) {
      err_ << "netobs stats: " << text.message() << "\n";
      return 1;
    }
    Result<Baseline> baseline = parse_baseline(*text, *options_.baseline);
    if (!baseline) {
      err_ << "netobs stats: " << baseline.message() << "\n";
      return 1;
    }
    std::optional<MibSnapshot> now = read();
    if (!now) return 1;
    double elapsed = env_.unix_seconds() - baseline->saved_at_unix_seconds;
    std::vector<BaselineChange> changes = baseline_changes(*baseline, *now, options_.zero);
    if (options_.json) {
      print_baseline_changes_json(changes, elapsed, filter_, out_);
    } else {
      print_baseline_changes(changes, *options_.baseline, elapsed, filter_, out_);
    }
    return 0;
  }

  void print_table(const TrendTable& table) {
    if (options_.json) {
      print_trend_json(table, out_);
    } else {
      print_trend(table, out_);
    }
    out_.flush();
  }

  int trend() {
    if (options_.from && *options_.from != "self") {
      std::string url = metrics_url(*options_.from);
      Result<std::string> body = env_.http_get(url, 5.0);
      if (!body) {
        err_ << "netobs stats: --trend: " << body.message() << "\n";
        return 1;
      }
      Result<TrendTable> table = trend_from_exposition(*body, url);
      if (!table) {
        err_ << "netobs stats: --trend: " << table.message() << "\n";
        return 1;
      }
      print_table(*table);
      return 0;
    }
    if (!options_.from) {
      // A local exporter already has up to 15 minutes of history: use it.
      std::string url(kDefaultExporterUrl);
      Result<std::string> body = env_.http_get(url, 1.0);
      if (body) {
        Result<TrendTable> table = trend_from_exposition(*body, url);
        if (table) {
          print_table(*table);
          return 0;
        }
      }
    }
    return trend_from_own_samples();
  }

  int trend_from_own_samples() {
    std::vector<double> windows = options_.windows.value_or(snmp_.windows_seconds);
    std::sort(windows.begin(), windows.end());
    windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
    if (windows.empty()) {
      err_ << "netobs stats: --trend: no windows configured\n";
      return 2;
    }
    double sample_interval = options_.sample_interval.value_or(snmp_.sample_interval_seconds);
    double print_every = options_.interval.value_or(std::min(60.0, windows.back()));
    long tables = options_.count.value_or(
        std::max<long>(1, static_cast<long>(std::ceil(windows.back() / print_every - 1e-9))));
    std::vector<MibKey> keys;
    for (const std::string& name : snmp_.rate_counters) {
      Result<MibKey> key = parse_mib_key(name);
      if (!key) {
        err_ << "netobs stats: rate_counters: " << key.message() << "\n";
        return 2;
      }
      keys.push_back(*key);
    }
    err_ << "netobs stats: no exporter to ask; sampling " << procfs_ << "/net every "
         << sample_interval << " s, a table every " << print_every << " s (" << tables
         << " tables)\n";
    RateHistory history(keys, windows.back(), sample_interval);
    double start = env_.monotonic_seconds();
    std::optional<MibSnapshot> first = read();
    if (!first) return 1;
    history.add(0, first->parsed.entries);
    long step = 0;
    double next_print = print_every;
    for (long printed = 0; printed < tables;) {
      ++step;
      sleep_until_step(start, step, sample_interval);
      std::optional<MibSnapshot> snapshot = read();
      if (!snapshot) return 1;
      double elapsed = env_.monotonic_seconds() - start;
      history.add(elapsed, snapshot->parsed.entries);
      if (elapsed + 1e-6 < next_print) continue;
      next_print += print_every;
      TrendTable table;
      table.source = "own samples every " + json_number(sample_interval) + " s";
      table.windows_seconds = windows;
      std::vector<std::optional<WindowSummary>> summaries;
      for (double window : windows) {
        summaries.push_back(history.summarize(window));
        table.covered_seconds.push_back(
            summaries.back() ? std::optional<double>(summaries.back()->covered_seconds)
                             : std::nullopt);
      }
      for (size_t k = 0; k < keys.size(); ++k) {
        std::vector<std::optional<double>> rates;
        for (const auto& summary : summaries) {
          rates.push_back(summary ? summary->rate(k) : std::nullopt);
        }
        table.rates.push_back({keys[k], std::move(rates)});
      }
      if (printed > 0 && !options_.json) out_ << "\n";
      print_table(table);
      ++printed;
    }
    return 0;
  }

  const StatsOptions& options_;
  const SnmpConfig& snmp_;
  std::string procfs_;
  std::ostream& out_;
  std::ostream& err_;
  StatsEnvironment& env_;
  RowFilter filter_;
  std::set<std::pair<int, int>> warned_;
};

int run_stats(const StatsOptions& options, std::ostream& out, std::ostream& err,
              StatsEnvironment& env);

}  // namespace

Subcommand stats_subcommand(StatsEnvironment& env) {
  Subcommand command;
  command.name = "stats";
  command.summary = "system TCP/UDP/IP counters with deltas, rates and ratios";
  command.description = R"(Prints the kernel's SNMP counters (/proc/net/snmp, /proc/net/netstat,
/proc/net/snmp6) like nstat: by default the increase of every non-zero
counter over one interval, with per-second rates.
)";
  command.flag_groups = {
      {"views (default: increments over --interval, 1 s by default, per second):",
       {{"--absolute", "-a", "", "totals since boot instead of increments"},
        {"--ratios", "", "",
         "derived ratios and verdicts in words\n"
         "(retransmission ratio, TLP/fast-retransmit/RTO/SYN\n"
         "shares, input and UDP buffer error ratios, listen drops);\n"
         "with an exporter on 127.0.0.1:9723, also the kernel's\n"
         "drop reasons it counted"},
        {"--save", "", "FILE", "store the current totals as a baseline"},
        {"--baseline", "", "FILE", "what changed since FILE, biggest relative change first"},
        {"--trend", "", "",
         "key rates over 1, 5 and 15 minutes and their change,\n"
         "from a running exporter (--from URL; without --from,\n"
         "http://127.0.0.1:9723 if one answers) or own samples"}}},
      {"options:",
       {{"--interval", "-i", "N",
         "seconds between reports; repeats every N seconds\n"
         "(with --trend: seconds between tables, default 60)"},
        {"--count", "-c", "K", "stop after K reports (default: 1, or forever with -i)"},
        {"--zero", "-z", "", "include counters that are zero / did not change"},
        {"--filter", "", "REGEX",
         "only fields whose name matches (Tcp.RetransSegs or\nTcpRetransSegs form)"},
        {"--json", "", "", "one JSON object per report"},
        {"--from", "", "URL", "exporter to read the trend from; \"self\" samples here"},
        {"--sample-interval", "", "S", "own sampling step for --trend (default 5)"},
        {"--windows", "", "LIST", "windows for --trend, e.g. 1m,5m,15m"},
        {"--config.file", "", "FILE", "netobs.yaml for thresholds, windows and rate counters"},
        {"--path.procfs", "", "DIR", "procfs mount point (default /proc)"}}}};
  command.epilog = R"(examples:
  netobs stats                          what moved in the last second
  netobs stats -i 5 -c 3 --filter Retrans
  netobs stats --ratios -a              ratios since boot, with verdicts
  netobs stats --save /tmp/base; ...; netobs stats --baseline /tmp/base
  netobs stats --trend --from http://host:9723
)";
  command.run = [&env](const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
    return run_stats(parse_options(flags), out, err, env);
  };
  return command;
}

std::string stats_usage() {
  SystemStatsEnvironment env;
  return subcommand_usage(stats_subcommand(env));
}

MibSnapshot SystemStatsEnvironment::read(const std::string& procfs) {
  return read_mib_snapshot(procfs);
}

double SystemStatsEnvironment::monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double SystemStatsEnvironment::unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void SystemStatsEnvironment::sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

std::optional<double> SystemStatsEnvironment::uptime_seconds(const std::string& procfs) {
  std::string text;
  if (!read_small_file(procfs + "/uptime", text)) return std::nullopt;
  char* end = nullptr;
  double uptime = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(uptime > 0)) return std::nullopt;
  return uptime;
}

Result<std::string> SystemStatsEnvironment::http_get(const std::string& url,
                                                     double timeout_seconds) {
  return netobs::http_get(url, timeout_seconds);
}

Result<std::string> SystemStatsEnvironment::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("cannot read " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

Status SystemStatsEnvironment::write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return Status::error("cannot write " + path);
  return Status::ok();
}

std::vector<Subcommand> snmp_subcommands() {
  static SystemStatsEnvironment env;  // the real machine; stateless
  return {stats_subcommand(env)};
}

int run_stats_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  SystemStatsEnvironment env;
  return run_stats_command(args, out, err, env);
}

int run_stats_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      StatsEnvironment& env) {
  return run_subcommand(stats_subcommand(env), args, out, err);
}

namespace {

int run_stats(const StatsOptions& options, std::ostream& out, std::ostream& err,
              StatsEnvironment& env) {
  Config config = default_config();
  if (options.config_file) {
    ConfigLoadResult loaded = load_config_file(*options.config_file);
    if (!loaded.ok()) {
      err << "netobs stats: " << loaded.format_errors() << "\n";
      return 2;
    }
    config = std::move(loaded.config);
  }
  std::string procfs = options.procfs.value_or(config.exporter.procfs);
  if (procfs.empty()) procfs = "/proc";
  try {
    StatsRun run(options, config.collector<SnmpConfig>(), procfs, out, err, env);
    return run.run();
  } catch (const std::exception& e) {
    err << "netobs stats: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

}  // namespace netobs
