#include "exporter/bpf/libbpf_logging.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <vector>

namespace netobs {

void capture_libbpf_warning(std::string_view record);

namespace {

thread_local LibbpfCapture* t_capture = nullptr;

std::string format_record(const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  char small[512];
  int n = std::vsnprintf(small, sizeof(small), format, copy);
  va_end(copy);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof(small)) return std::string(small, static_cast<size_t>(n));
  // Verifier logs are long: format again into an exact-size buffer.
  std::vector<char> big(static_cast<size_t>(n) + 1);
  std::vsnprintf(big.data(), big.size(), format, args);
  return std::string(big.data(), static_cast<size_t>(n));
}

int print_to_logger(libbpf_print_level level, const char* format, va_list args) {
  const int saved_errno = errno;  // callers read errno after printing
  LogLevel target = libbpf_log_level(level);
  const bool captured = level == LIBBPF_WARN && t_capture != nullptr;
  if (captured) target = LogLevel::kDebug;
  if (!captured && !log_enabled(target)) {
    errno = saved_errno;
    return 0;
  }
  std::string record = format_record(format, args);
  std::string_view text = trim_libbpf_record(record);
  if (captured) capture_libbpf_warning(text);
  if (!text.empty() && log_enabled(target)) log(target, text, {{"source", "libbpf"}});
  errno = saved_errno;
  return static_cast<int>(record.size());
}

}  // namespace

void capture_libbpf_warning(std::string_view record) {
  if (t_capture == nullptr || record.empty()) return;
  t_capture->text_.append(record);
  t_capture->text_.push_back('\n');
}

void install_libbpf_logger() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(print_to_logger); });
}

LogLevel libbpf_log_level(libbpf_print_level level) {
  return level == LIBBPF_WARN ? LogLevel::kWarn : LogLevel::kDebug;
}

std::string_view trim_libbpf_record(std::string_view record) {
  constexpr std::string_view kPrefix = "libbpf: ";
  if (record.substr(0, kPrefix.size()) == kPrefix) record.remove_prefix(kPrefix.size());
  while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) {
    record.remove_suffix(1);
  }
  return record;
}

LibbpfCapture::LibbpfCapture() : previous_(t_capture) { t_capture = this; }

LibbpfCapture::~LibbpfCapture() { t_capture = previous_; }

}  // namespace netobs
