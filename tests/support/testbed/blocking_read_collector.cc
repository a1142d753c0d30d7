#include "tests/support/testbed/blocking_read_collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netobs {

BlockingReadCollector::BlockingReadCollector(std::string path)
    : Collector(std::string(kName)), path_(std::move(path)) {}
BlockingReadCollector::~BlockingReadCollector() { stop(); }

Status BlockingReadCollector::start_impl(const CollectorContext&) { return Status::ok(); }

Status BlockingReadCollector::collect_impl(std::vector<prometheus::MetricFamily>&) {
  // Blocking on purpose: no O_NONBLOCK, no timeout.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error("open " + path_ + ": " + std::strerror(errno));
  char byte = 0;
  const ssize_t n = ::read(fd, &byte, 1);
  ::close(fd);
  return n < 0 ? Status::error("read " + path_ + ": " + std::strerror(errno)) : Status::ok();
}

}  // namespace netobs
