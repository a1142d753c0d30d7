// Rendering of the dns collector's snapshot: names, labels (qtype/rcode
// names, unknown numbers), histogram buckets from 10 us to 10 s, zero-valued
// error series from the start, capped server/domain labels.
#include "collectors/dns/dns_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>
#include <string>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using testing::metric_value;

std::string render(const DnsSnapshot& s) {
  std::vector<prometheus::MetricFamily> families;
  append_dns_metrics(s, families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

TEST(DnsMetricsTest, EmptySnapshotHasZeroSeries) {
  const std::string text = render(DnsSnapshot{});
  EXPECT_EQ(metric_value(text, "netobs_dns_queries_total", "qtype=\"A\",transport=\"udp\""), 0);
  EXPECT_EQ(metric_value(text, "netobs_dns_unanswered_total", "qtype=\"AAAA\",transport=\"tcp\""),
            0);
  EXPECT_EQ(metric_value(text, "netobs_dns_truncated_responses_total", "transport=\"udp\""), 0);
  EXPECT_EQ(metric_value(text, "netobs_dns_unmatched_responses_total", "transport=\"tcp\""), 0);
  EXPECT_EQ(metric_value(text, "netobs_dns_malformed_packets_total",
                         "reason=\"short_header\",transport=\"udp\""),
            0);
  EXPECT_EQ(metric_value(text, "netobs_dns_malformed_packets_total",
                         "reason=\"bad_name\",transport=\"tcp\""),
            0);
  EXPECT_EQ(metric_value(text, "netobs_dns_correlation_evictions_total"), 0);
  EXPECT_EQ(metric_value(text, "netobs_dns_correlation_insert_errors_total"), 0);
  EXPECT_FALSE(metric_value(text, "netobs_dns_server_queries_total", "server=\"other\""));
}

TEST(DnsMetricsTest, CountsAndHistogram) {
  DnsSnapshot s;
  DnsStatsEntry q{.qtype = 28, .transport = DNS_TRANSPORT_UDP, .kind = DNS_STAT_QUERY, .count = 5};
  DnsStatsEntry r{.qtype = 28,
                  .rcode = 3,
                  .transport = DNS_TRANSPORT_UDP,
                  .kind = DNS_STAT_RESPONSE,
                  .count = 3,
                  .sum_ns = 3'000'000};
  r.buckets[0] = 1;  // <= 10 us
  r.buckets[6] = 2;  // <= 1 ms
  DnsStatsEntry odd{.qtype = 65534,
                    .rcode = 11,
                    .transport = DNS_TRANSPORT_TCP,
                    .kind = DNS_STAT_RESPONSE,
                    .count = 1,
                    .sum_ns = 20'000'000'000};
  odd.buckets[DNS_LATENCY_BOUNDS] = 1;  // +Inf
  s.stats = {q, r, odd};
  s.unanswered[{DNS_TRANSPORT_UDP, 28}] = 2;
  s.counters[DNS_C_TRUNCATED + DNS_TRANSPORT_TCP] = 4;
  s.counters[DNS_C_MALFORMED + DNS_MALFORMED_TRUNCATED * DNS_TRANSPORTS + DNS_TRANSPORT_UDP] = 6;
  s.evictions = 9;
  const std::string text = render(s);

  EXPECT_EQ(metric_value(text, "netobs_dns_queries_total", "qtype=\"AAAA\",transport=\"udp\""), 5);
  EXPECT_EQ(metric_value(text, "netobs_dns_responses_total",
                         "qtype=\"AAAA\",rcode=\"NXDOMAIN\",transport=\"udp\""),
            3);
  const std::string labels = "qtype=\"AAAA\",rcode=\"NXDOMAIN\",transport=\"udp\"";
  EXPECT_EQ(
      metric_value(text, "netobs_dns_request_duration_seconds_bucket", labels + ",le=\"1e-05\""),
      1);
  EXPECT_EQ(
      metric_value(text, "netobs_dns_request_duration_seconds_bucket", labels + ",le=\"0.0005\""),
      1);
  EXPECT_EQ(
      metric_value(text, "netobs_dns_request_duration_seconds_bucket", labels + ",le=\"0.001\""),
      3);
  EXPECT_EQ(metric_value(text, "netobs_dns_request_duration_seconds_bucket", labels + ",le=\"10\""),
            3);
  EXPECT_EQ(metric_value(text, "netobs_dns_request_duration_seconds_sum", labels), 0.003);
  EXPECT_EQ(metric_value(text, "netobs_dns_request_duration_seconds_count", labels), 3);
  const std::string odd_labels = "qtype=\"TYPE65534\",rcode=\"RCODE11\",transport=\"tcp\"";
  EXPECT_EQ(
      metric_value(text, "netobs_dns_request_duration_seconds_bucket", odd_labels + ",le=\"10\""),
      0);
  EXPECT_EQ(
      metric_value(text, "netobs_dns_request_duration_seconds_bucket", odd_labels + ",le=\"+Inf\""),
      1);
  EXPECT_EQ(metric_value(text, "netobs_dns_unanswered_total", "qtype=\"AAAA\",transport=\"udp\""),
            2);
  EXPECT_EQ(metric_value(text, "netobs_dns_truncated_responses_total", "transport=\"tcp\""), 4);
  EXPECT_EQ(metric_value(text, "netobs_dns_malformed_packets_total",
                         "reason=\"truncated\",transport=\"udp\""),
            6);
  EXPECT_EQ(metric_value(text, "netobs_dns_correlation_evictions_total"), 9);
}

TEST(DnsMetricsTest, BucketBoundsSpan10usTo10s) {
  DnsSnapshot s;
  DnsStatsEntry r{.qtype = 1, .kind = DNS_STAT_RESPONSE, .count = 1, .sum_ns = 1};
  r.buckets[0] = 1;
  s.stats = {r};
  const std::string text = render(s);
  std::set<std::string> les;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("netobs_dns_request_duration_seconds_bucket", 0) != 0) continue;
    const size_t at = line.find("le=\"");
    les.insert(line.substr(at + 4, line.find('"', at + 4) - at - 4));
  }
  EXPECT_EQ(les.size(), 20u);  // 19 bounds + +Inf
  EXPECT_TRUE(les.count("1e-05"));
  EXPECT_TRUE(les.count("2.5e-05"));
  EXPECT_TRUE(les.count("10"));
  EXPECT_TRUE(les.count("+Inf"));
}

TEST(DnsMetricsTest, ServersAndDomainsWithOther) {
  DnsSnapshot s;
  s.server_labels = true;
  s.servers["127.0.0.1"] = {.queries = 3, .responses = 2, .unanswered = 1};
  s.servers["other"] = {.queries = 7};
  s.servers_folded = 7;
  s.domains_enabled = true;
  s.domain_sample_rate = 10;
  s.domains["a.test"] = 4;
  s.domains["other"] = 2;
  s.domains_folded = 2;
  const std::string text = render(s);
  EXPECT_EQ(metric_value(text, "netobs_dns_server_queries_total", "server=\"127.0.0.1\""), 3);
  EXPECT_EQ(metric_value(text, "netobs_dns_server_responses_total", "server=\"127.0.0.1\""), 2);
  EXPECT_EQ(metric_value(text, "netobs_dns_server_unanswered_total", "server=\"127.0.0.1\""), 1);
  EXPECT_EQ(metric_value(text, "netobs_dns_server_queries_total", "server=\"other\""), 7);
  EXPECT_EQ(metric_value(text, "netobs_series_dropped_total",
                         "collector=\"dns\",metric=\"netobs_dns_server_queries_total\""),
            7);
  EXPECT_EQ(metric_value(text, "netobs_dns_sampled_queries_total", "domain=\"a.test\""), 4);
  EXPECT_EQ(metric_value(text, "netobs_dns_sampled_queries_total", "domain=\"other\""), 2);
  EXPECT_EQ(metric_value(text, "netobs_dns_query_sample_rate"), 10);
  EXPECT_EQ(metric_value(text, "netobs_series_dropped_total",
                         "collector=\"dns\",metric=\"netobs_dns_sampled_queries_total\""),
            2);
}

TEST(DnsMetricsTest, NoDuplicateSeries) {
  DnsSnapshot s;
  // The same labels twice (e.g. two map entries for one key after a reload).
  DnsStatsEntry q{.qtype = 1, .kind = DNS_STAT_QUERY, .count = 1};
  s.stats = {q, q};
  const std::string text = render(s);
  EXPECT_EQ(metric_value(text, "netobs_dns_queries_total", "qtype=\"A\",transport=\"udp\""), 2);
  std::set<std::string> seen;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::string series = line.substr(0, line.rfind(' '));
    EXPECT_TRUE(seen.insert(series).second) << "duplicate: " << series;
  }
}

}  // namespace
}  // namespace netobs
