// Routes libbpf's diagnostics into netobs's logger, one record per line.
// install_libbpf_logger() is process-wide and idempotent; any thread may call
// it, and libbpf may print from any thread.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <string_view>

#include "exporter/log.h"

namespace netobs {

// libbpf warn -> warn, info -> debug, debug -> debug (formatted only when the
// log level is debug). Verifier logs stay one record with escaped newlines.
void install_libbpf_logger();

// The level a libbpf record is logged at.
LogLevel libbpf_log_level(libbpf_print_level level);

// Drops libbpf's "libbpf: " prefix and trailing newlines from a record.
std::string_view trim_libbpf_record(std::string_view record);

// While alive, libbpf warnings printed on this thread are collected here and
// logged at debug instead of warn: the attach ladder expects some rungs to
// fail and reports them itself. Nests; the innermost capture collects.
class LibbpfCapture {
 public:
  LibbpfCapture();
  ~LibbpfCapture();
  LibbpfCapture(const LibbpfCapture&) = delete;
  LibbpfCapture& operator=(const LibbpfCapture&) = delete;

  // Captured warnings, one per line (without the libbpf prefix).
  const std::string& text() const { return text_; }
  void clear() { text_.clear(); }

 private:
  friend void capture_libbpf_warning(std::string_view record);
  std::string text_;
  LibbpfCapture* previous_;
};

}  // namespace netobs
