// Text helpers for config error messages: values shown the way a user would
// write them, key paths, positions and "did you mean" distances.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace netobs {

// 1000000, not 1e+06; 0.25 as "0.25".
std::string format_number(double value);
// 3600 -> "1h", 90 -> "90s", 0.25 -> "250ms".
std::string format_duration(double seconds);
// "text" in double quotes, newlines escaped, cut after 40 characters.
std::string quote(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// "line 3, column 5" (1-based).
std::string position(const YAML::Mark& mark);
// "parent.key", or "key" at the top level.
std::string child_path(const std::string& parent, const std::string& key);
// Optimal string alignment distance (Levenshtein plus transpositions).
size_t edit_distance(std::string_view a, std::string_view b);
std::string lowercase(std::string text);

}  // namespace netobs
