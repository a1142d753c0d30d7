// Rendering of the security collector's counters to Prometheus families.
// Pure; unit-tested without root.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "collectors/security/security_event.h"
#include "collectors/security/security_webhook.h"

namespace netobs {

struct SecuritySnapshot {
  std::array<uint64_t, std::size(kAllDetectionTypes)> detections{};  // by DetectionType
  std::array<uint64_t, std::size(kAllDetectionTypes)> suppressed{};
  uint64_t connections_checked = 0;  // from the kernel
  uint64_t dns_responses_checked = 0;
  uint64_t blocklist_entries = 0;
  uint64_t blocklist_errors = 0;  // malformed lines and unreadable files of the last load
  uint64_t blocklist_loads = 0;
  std::optional<WebhookCounters> webhook;  // when a webhook is configured
};

void append_security_families(const SecuritySnapshot& snapshot,
                              std::vector<prometheus::MetricFamily>& out);

}  // namespace netobs
