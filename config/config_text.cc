#include "config/config_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace netobs {
namespace {
constexpr size_t kMaxQuotedLength = 40;  // longer scalars are cut in messages
}  // namespace

std::string format_number(double value) {
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) {
    return std::to_string(static_cast<int64_t>(value));  // 1000000, not 1e+06
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// 3600 -> "1h", 90 -> "90s", 0.25 -> "250ms": the way a user would write it.
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return format_number(seconds) + "s";
  const double millis = seconds * 1000;
  const auto whole = static_cast<int64_t>(std::llround(millis));
  if (std::fabs(millis - static_cast<double>(whole)) > 1e-6) return format_number(seconds) + "s";
  if (whole == 0) return "0s";
  if (whole % 3600000 == 0) return std::to_string(whole / 3600000) + "h";
  if (whole % 60000 == 0) return std::to_string(whole / 60000) + "m";
  if (whole % 1000 == 0) return std::to_string(whole / 1000) + "s";
  return std::to_string(whole) + "ms";
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxQuotedLength) {
      out += "...";
      break;
    }
    out += text[i] == '\n' ? std::string("\\n") : std::string(1, text[i]);
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

std::string position(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Optimal string alignment distance (Levenshtein plus transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace netobs
