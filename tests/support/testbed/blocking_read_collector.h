// blocking_read: a test-only collector whose collect reads a FIFO (the path in
// NETOBS_TESTBED_BLOCKING_READ) that the test keeps open and never writes:
// the scrape's collection blocks inside the kernel (pipe_read) for good, so
// the test can prove SIGTERM still ends the process within its bound.
#pragma once

#include <string>

#include "exporter/collector.h"

namespace netobs {

class BlockingReadCollector final : public Collector {
 public:
  static constexpr std::string_view kName = "blocking_read";
  static constexpr const char* kPathVariable = "NETOBS_TESTBED_BLOCKING_READ";
  explicit BlockingReadCollector(std::string path);
  ~BlockingReadCollector() override;

 protected:
  Status start_impl(const CollectorContext& context) override;
  Status collect_impl(std::vector<prometheus::MetricFamily>& out) override;
  void stop_impl() override {}

 private:
  std::string path_;
};

}  // namespace netobs
