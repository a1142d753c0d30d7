// An event sink that keeps the JSON lines it is given (security alerts,
// written on a collector's reader thread), for tests to read back.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/events/event_sink.h"

namespace netobs::testing {

class LineSink final : public EventSink {
 public:
  Status write(const EventRow&) override { return Status::ok(); }
  Status write_line(std::string_view line) override {
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
    return Status::ok();
  }
  Status flush(bool) override { return Status::ok(); }
  uint64_t rows_written() const override { return lines().size(); }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace netobs::testing
