// What a collector tells the config loader about its `collectors.<name>`
// section: its defaults, its fields in the schema language, other key paths
// where the same section is accepted, and checks across its fields.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/schema.h"

namespace netobs {

// Where a field was set in the file, for cross-field errors.
struct FieldOrigin {
  std::string path;  // as the user wrote it, e.g. "agent.network.dns.ports"
  YAML::Mark mark;
  std::string repr;                    // canonical text of the value
  std::vector<YAML::Mark> item_marks;  // lists: one per item
  std::vector<std::string> item_reprs;
};

// What cross-field checks can see and report; implemented by the loader.
class ConfigChecker {
 public:
  virtual ~ConfigChecker() = default;
  virtual const Config& config() const = 0;
  // Where the field with canonical path `target` (e.g. "collectors.dns.ports")
  // was set, or nullptr when it kept its default.
  virtual const FieldOrigin* origin(const std::string& target) const = 0;
  // Whether the field was set to a value that failed its own checks (cross
  // checks on it would only repeat the error).
  virtual bool failed(const std::string& target) const = 0;
  virtual void error(const YAML::Mark& mark, const std::string& path, std::string message) = 0;
};

struct CollectorConfigSection {
  std::string name;  // the key under `collectors:`, also the collector's name
  std::function<std::unique_ptr<CollectorSettings>()> make_default;
  // The section's fields; `enabled` and `required` are added by the loader.
  schema::Fields fields;
  // Other key paths that accept the same section, e.g. "agent.network.dns".
  std::vector<std::string> aliases;
  // Checks across fields, run after the whole file was read; may be empty.
  std::function<void(ConfigChecker&)> check;
};

// The sections the loader knows: one per registered collector.
using CollectorConfigSections = std::vector<CollectorConfigSection>;

}  // namespace netobs
