// Loading netobs.yaml with the sections of every built-in collector: what the
// CLI subcommands and the tests use. (The exporter passes its own registry's
// sections to config/config_loader.h directly.)
#pragma once

#include <string>
#include <string_view>

#include "config/config_loader.h"

namespace netobs {

// The sections of the collectors register_builtin_collectors() adds.
const CollectorConfigSections& builtin_config_sections();

// Every section at its defaults, as an empty file gives.
Config default_config();
ConfigLoadResult load_config_string(std::string_view yaml, std::string_view source_name);
ConfigLoadResult load_config_file(const std::string& path);
ConfigLoadResult load_default_config();

}  // namespace netobs
