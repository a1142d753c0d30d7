#include "collectors/security/security_metrics.h"

#include <string>

#include "exporter/metric_builder.h"

namespace netobs {

using prometheus::MetricType;

void append_security_families(const SecuritySnapshot& s,
                              std::vector<prometheus::MetricFamily>& out) {
  FamilyBuilder detections(
      "netobs_security_detections_total",
      "Security detections reported as events (blocklisted peer, suspicious port, external "
      "address, blocklisted DNS answer), by type and severity; rate-limited ones excluded.",
      MetricType::Counter);
  FamilyBuilder suppressed(
      "netobs_security_suppressed_total",
      "Security detections held back by the per-(type, peer) rate limit; the next event of the "
      "same type and peer reports how many.",
      MetricType::Counter);
  for (size_t i = 0; i < std::size(kAllDetectionTypes); ++i) {
    const DetectionType type = kAllDetectionTypes[i];
    std::string severity(detection_severity(type));
    for (char& c : severity) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    detections.counter(
        {{"detection", std::string(detection_type_name(type))}, {"severity", severity}},
        static_cast<double>(s.detections[i]));
    suppressed.counter({{"detection", std::string(detection_type_name(type))}},
                       static_cast<double>(s.suppressed[i]));
  }
  detections.append_to(out);
  suppressed.append_to(out);
  FamilyBuilder("netobs_security_connections_checked_total",
                "TCP connects and accepted connections the kernel matched against the rules.",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.connections_checked))
      .append_to(out);
  FamilyBuilder("netobs_security_dns_responses_checked_total",
                "DNS responses whose A/AAAA answers the kernel matched against the blocklists.",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.dns_responses_checked))
      .append_to(out);
  FamilyBuilder("netobs_security_blocklist_entries",
                "Addresses and CIDRs loaded from the blocklist files.", MetricType::Gauge)
      .gauge({}, static_cast<double>(s.blocklist_entries))
      .append_to(out);
  FamilyBuilder("netobs_security_blocklist_errors",
                "Blocklist lines skipped as malformed (and unreadable files) in the last load.",
                MetricType::Gauge)
      .gauge({}, static_cast<double>(s.blocklist_errors))
      .append_to(out);
  FamilyBuilder("netobs_security_blocklist_loads_total",
                "Blocklist loads: at start, on SIGHUP and when a file changed.",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.blocklist_loads))
      .append_to(out);
  if (!s.webhook) return;
  FamilyBuilder("netobs_security_webhook_sent_total", "Alerts the webhook accepted (2xx).",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.webhook->sent))
      .append_to(out);
  FamilyBuilder("netobs_security_webhook_retries_total", "Webhook POSTs retried after a failure.",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.webhook->retries))
      .append_to(out);
  FamilyBuilder("netobs_security_webhook_dropped_total",
                "Alerts not delivered to the webhook: the queue was full, or every retry failed.",
                MetricType::Counter)
      .counter({{"reason", "queue_full"}}, static_cast<double>(s.webhook->dropped_queue_full))
      .counter({{"reason", "failed"}}, static_cast<double>(s.webhook->dropped_failed))
      .append_to(out);
}

}  // namespace netobs
