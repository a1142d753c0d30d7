// Loads and validates the netobs YAML config (config/netobs.yaml is the
// reference) against the global sections plus the collectors' sections it is
// given. Pure functions, no logging: errors and warnings are returned. The
// exporter and the CLI load through exporter/builtin_config.h, which passes
// the sections of every built-in collector.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_section.h"

namespace netobs {

// One problem found in a config file, with its 1-based position and the key
// path as written by the user (e.g. "agent.network.tcp.sample_rate").
struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when there is no position (unreadable file)
  int column = 0;  // 1-based
  std::string key_path;
  std::string message;

  // "file:line:column: key.path: message"; parts that are empty are left out.
  std::string to_string() const;
};

// The outcome of a load: the config (defaults where a value was bad), every
// error found, and warnings (e.g. keys accepted but ignored).
// A config file larger than this is refused before it is read: real ones are
// a few KiB, and parsing a huge one costs memory and time.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;
// Errors kept (and printed) for one load; further ones are only counted.
inline constexpr size_t kMaxConfigErrors = 20;

struct ConfigLoadResult {
  Config config;
  std::vector<ConfigError> errors;  // the first kMaxConfigErrors
  size_t more_errors = 0;           // found beyond those
  std::vector<std::string> warnings;

  bool ok() const { return errors.empty(); }
  // One line per error, "\n"-separated, no trailing newline; "and K more
  // errors" last when there were more than kMaxConfigErrors.
  std::string format_errors() const;
  // The "and K more errors (fix the ones above first)" line; empty if none.
  std::string more_errors_line() const;
};

// Every global section and every collector's section at its defaults: what
// an empty file gives.
Config default_config(const CollectorConfigSections& sections);
// Parses and validates `yaml`; `source_name` is used as the file in errors.
ConfigLoadResult load_config_string(std::string_view yaml, std::string_view source_name,
                                    const CollectorConfigSections& sections);
// Reads `path`; a missing or unreadable file is one error naming the path,
// and so is a file that is not a regular file, is larger than
// kMaxConfigFileBytes or has no settings at all (an empty file is a mistake:
// running without --config.file is how to get the defaults).
ConfigLoadResult load_config_file(const std::string& path, const CollectorConfigSections& sections);
// The compiled-in config/netobs.yaml, with source "<built-in>".
ConfigLoadResult load_default_config(const CollectorConfigSections& sections);
// The text of config/netobs.yaml as compiled in (generated default_config.cc).
std::string_view default_config_yaml();

}  // namespace netobs
