// The exporter with the test-only bpf_selftest collector added, and
// blocking_read when NETOBS_TESTBED_BLOCKING_READ names a FIFO.
#include <cstdlib>

#include "exporter/exporter_app.h"
#include "exporter/log.h"
#include "tests/support/testbed/blocking_read_collector.h"
#include "tests/support/testbed/bpf_selftest_collector.h"

namespace {

void register_testbed_collectors(netobs::CollectorRegistry& registry) {
  netobs::register_builtin_collectors(registry);
  netobs::Status status = registry.add(
      {.name = std::string(netobs::BpfSelftestCollector::kName),
       .description = "test-only: bytes sent by one process, through the attach ladder",
       .needs = {netobs::Requirement::kBtf, netobs::Requirement::kBpfPrivileges},
       .ladders = {},
       .factory = [] { return std::make_unique<netobs::BpfSelftestCollector>(); }});
  if (!status.is_ok())
    netobs::log_error("testbed registration failed", {{"err", status.message()}});
  if (const char* fifo = std::getenv(netobs::BlockingReadCollector::kPathVariable)) {
    status = registry.add({.name = std::string(netobs::BlockingReadCollector::kName),
                           .description = "test-only: a collection that blocks in read() on a FIFO",
                           .factory = [path = std::string(fifo)] {
                             return std::make_unique<netobs::BlockingReadCollector>(path);
                           }});
    if (!status.is_ok())
      netobs::log_error("testbed registration failed", {{"err", status.message()}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  return netobs::run_exporter(argc, argv, register_testbed_collectors);
}
