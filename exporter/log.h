// Process-wide logger: one line per record, key=value, to stderr.
// Thread-safe; any thread may log.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace netobs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view log_level_name(LogLevel level);

void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

using LogField = std::pair<std::string_view, std::string>;

// Writes `level=info msg="..." k=v ...`; values with spaces or quotes are
// quoted, and control characters are escaped (\n, \t, \xNN) so a value read
// from a file or a peer can never forge or garble a log line.
void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

inline void log_debug(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kDebug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kInfo, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kWarn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<LogField> f = {}) {
  log(LogLevel::kError, m, f);
}

// Lets a repeating record through at most once per interval per key (a
// collector overrunning every scrape must not write hundreds of MB of log).
class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogLimiter(Clock::duration interval = std::chrono::minutes(1)) : interval_(interval) {}
  // The number of records suppressed for `key` since the last one let
  // through, or nullopt when this one is to be suppressed.
  std::optional<uint64_t> admit(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Slot {
    Clock::time_point last;
    uint64_t suppressed = 0;
  };
  const Clock::duration interval_;
  std::mutex mutex_;
  std::map<std::string, Slot> slots_;
};

// Redirects records into a string instead of stderr (tests); empty restores stderr.
void capture_log_for_test(std::string* sink);

}  // namespace netobs
