// Command-line flags of netobs_exporter, parsed into
// overrides that are applied on top of the loaded config, at start and again
// after every SIGHUP reload, so flags always win over the file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/status.h"

namespace netobs {

struct Flags {
  std::optional<std::string> config_file;
  std::optional<std::string> listen_address;
  std::optional<std::string> telemetry_path;
  std::optional<int> max_requests;
  std::optional<int> max_connections;
  std::string web_config_file;  // --web.config.file; "" = plain HTTP, no auth
  std::optional<std::string> procfs;
  std::optional<std::string> log_level;
  bool disable_defaults = false;
  std::map<std::string, bool> collectors;  // --collector.X (true) / --no-collector.X (false)
  bool show_version = false;
  bool show_help = false;
};

// Parses argv-style arguments (without the program name). Unknown flags and
// bad values give an error naming the flag; the caller prints usage, exits 2.
Result<Flags> parse_exporter_flags(const std::vector<std::string>& args,
                                   const std::vector<std::string>& collector_names);

// Applies the overrides to a loaded config.
Status apply_flags(const Flags& flags, Config& config);

std::string exporter_usage(const std::vector<std::string>& collector_names);

}  // namespace netobs
