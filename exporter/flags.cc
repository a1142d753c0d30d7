#include "exporter/flags.h"

#include <algorithm>
#include <charconv>

#include "exporter/log.h"
#include "exporter/subcommand.h"

namespace netobs {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool known_collector(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Result<Flags> parse_exporter_flags(const std::vector<std::string>& args,
                                   const std::vector<std::string>& collector_names) {
  Flags flags;
  const std::vector<std::string> valued = {
      "--config.file",     "--web.listen-address",  "--web.telemetry-path", "--web.max-requests",
      "--web.config.file", "--web.max-connections", "--path.procfs",        "--log.level"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      flags.show_help = true;
      continue;
    }
    if (arg == "--version") {
      flags.show_version = true;
      continue;
    }
    if (arg == "--collector.disable-defaults") {
      flags.disable_defaults = true;
      continue;
    }
    auto [name, value] = split_flag_arg(arg);
    if (starts_with(name, "--collector.") || starts_with(name, "--no-collector.")) {
      const bool enable = starts_with(name, "--collector.");
      std::string collector = name.substr(enable ? 12 : 15);
      if (!known_collector(collector_names, collector)) {
        return Status::error("unknown collector in " + name + ": known collectors are " +
                             joined(collector_names));
      }
      if (value) {
        return Status::error(name + " takes no value; use --collector." + collector +
                             " or --no-collector." + collector);
      }
      flags.collectors[collector] = enable;
      continue;
    }
    if (std::find(valued.begin(), valued.end(), name) == valued.end()) {
      return Status::error("unknown flag " + name + ": see --help for the list of flags");
    }
    if (!value) {
      if (i + 1 >= args.size()) return Status::error(name + " needs a value");
      value = args[++i];
    }
    if (name == "--config.file") {
      flags.config_file = *value;
    } else if (name == "--web.listen-address") {
      flags.listen_address = *value;
    } else if (name == "--web.telemetry-path") {
      if (value->empty() || (*value)[0] != '/' || *value == "/" || *value == "/healthz") {
        return Status::error(
            "--web.telemetry-path must start with / and not be / or /healthz, got \"" + *value +
            "\"");
      }
      flags.telemetry_path = *value;
    } else if (name == "--web.max-requests") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc() || ptr != value->data() + value->size() || n < 1 || n > 1000) {
        return Status::error("--web.max-requests must be an integer from 1 to 1000, got \"" +
                             *value + "\"");
      }
      flags.max_requests = n;
    } else if (name == "--web.max-connections") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc() || ptr != value->data() + value->size() || n < 8 || n > 1024) {
        return Status::error("--web.max-connections must be an integer from 8 to 1024, got \"" +
                             *value + "\"");
      }
      flags.max_connections = n;
    } else if (name == "--web.config.file") {
      if (value->empty()) return Status::error("--web.config.file needs a file name");
      flags.web_config_file = *value;
    } else if (name == "--path.procfs") {
      flags.procfs = *value;
    } else if (name == "--log.level") {
      if (!parse_log_level(*value)) {
        return Status::error("--log.level must be one of debug, info, warn, error, got \"" +
                             *value + "\"");
      }
      flags.log_level = *value;
    }
  }
  return flags;
}

Status apply_flags(const Flags& flags, Config& config) {
  if (flags.listen_address) config.exporter.listen_address = *flags.listen_address;
  if (flags.telemetry_path) config.exporter.telemetry_path = *flags.telemetry_path;
  if (flags.max_requests) config.exporter.max_requests = *flags.max_requests;
  if (flags.procfs) config.exporter.procfs = *flags.procfs;
  if (flags.log_level) config.exporter.log_level = *flags.log_level;
  for (const std::string& name : config.collectors.names()) {
    CollectorCommon* common = config.collector_common(name);
    if (common == nullptr) continue;
    auto it = flags.collectors.find(name);
    if (it != flags.collectors.end()) {
      common->enabled = it->second;
    } else if (flags.disable_defaults) {
      common->enabled = false;
    }
  }
  return Status::ok();
}

std::string exporter_usage(const std::vector<std::string>& collector_names) {
  std::string collectors;
  for (const auto& name : collector_names) {
    collectors += "  --[no-]collector." + name +
                  std::string(18 - std::min<size_t>(name.size(), 17), ' ') + "enable/disable the " +
                  name + " collector\n";
  }
  return "usage: netobs_exporter [flags]\n"
         "\n"
         "Linux network observability exporter: eBPF and /proc collectors on a Prometheus "
         "endpoint.\n"
         "\n"
         "flags (override the config file):\n"
         "  --config.file FILE              YAML config (default: the built-in config)\n"
         "  --web.listen-address ADDR       address to listen on (default :9723)\n"
         "  --web.telemetry-path PATH       path of the metrics (default /metrics)\n"
         "  --web.max-requests N            concurrent scrapes before 503 (default 40)\n"
         "  --web.max-connections N         connections served at once, idle ones included\n"
         "                                  (default 64: one thread each; a Prometheus\n"
         "                                  server keeps 1-2; more wait for a free slot)\n"
         "  --web.config.file FILE          TLS and basic auth config (Prometheus\n"
         "                                  exporter-toolkit format; re-read on change)\n"
         "  --path.procfs DIR               procfs mount point (default /proc)\n"
         "  --log.level LEVEL               debug, info, warn or error (default info)\n"
         "  --collector.disable-defaults    start only collectors enabled by flags\n" +
         collectors +
         "  --version                       print version and exit\n"
         "  -h, --help                      print this help and exit\n";
}

}  // namespace netobs
