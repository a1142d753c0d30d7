// The tcp collector's rendering: every series present from the first scrape
// (zeros), log2 slots -> `le` buckets in seconds/bytes, grouping labels with
// port names, `unmatched`/`other`, errno labels, feature switches.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cerrno>
#include <string>

#include "collectors/tcp/tcp_config.h"
#include "collectors/tcp/tcp_metrics.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

std::string render(const TcpSnapshot& snapshot, const TcpMetricOptions& options) {
  std::vector<prometheus::MetricFamily> families;
  append_tcp_families(snapshot, options, families);
  return prometheus::TextSerializer().Serialize(families);
}

double value(const std::string& text, const std::string& name, const std::string& labels = "") {
  return testing::metric_value(text, name, labels).value_or(-1);
}

TEST(TcpMetrics, EverySeriesExistsFromTheFirstScrape) {
  TcpSnapshot empty;
  empty.states = TcpStateCounts{};
  const std::string text = render(empty, {});
  for (const char* kind : {"rto", "fast", "tlp", "syn", "synack", "other"}) {
    EXPECT_EQ(value(text, "netobs_tcp_retransmits_total", std::string("kind=\"") + kind + "\""), 0)
        << kind;
  }
  for (const char* errno_name :
       {"none", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"}) {
    EXPECT_EQ(value(text, "netobs_tcp_connect_failures_total",
                    std::string("errno=\"") + errno_name + "\""),
              0)
        << errno_name;
  }
  for (const char* state : {"established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2",
                            "time_wait", "close", "close_wait", "last_ack", "listen", "closing"}) {
    EXPECT_EQ(value(text, "netobs_tcp_connections", std::string("state=\"") + state + "\""), 0)
        << state;
  }
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count"), 0);
  EXPECT_EQ(value(text, "netobs_tcp_connections_opened_total", "direction=\"active\""), 0);
  EXPECT_EQ(value(text, "netobs_tcp_resets_sent_total"), 0);
  EXPECT_EQ(value(text, "netobs_tcp_retransmit_errors_total"), 0);
  EXPECT_EQ(value(text, "netobs_tcp_sample_rate"), 1);
  // No grouping: no overflow family.
  EXPECT_EQ(text.find("netobs_series_dropped_total"), std::string::npos);
}

TEST(TcpMetrics, HistogramsAreLog2BucketsInBaseUnits) {
  TcpSnapshot snap;
  snap.rtt.slots[0] = 1;                                      // 0 us
  snap.rtt.slots[5] = 3;                                      // [16, 31] us -> le 32e-6
  snap.rtt.slots[26] = 2;                                     // beyond 2^25 us: +Inf only
  snap.rtt.sum = 100;                                         // us
  snap.conn_hists[NETOBS_TCP_HIST_SENT_BYTES].slots[10] = 4;  // [512, 1023] -> le 1024
  snap.conn_hists[NETOBS_TCP_HIST_SENT_BYTES].sum = 4000;
  const std::string text = render(snap, {});
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_bucket", "le=\"1e-06\""), 1);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_bucket", "le=\"1.6e-05\""), 1);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_bucket", "le=\"3.2e-05\""), 4);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_bucket", "le=\"33.554432\""), 4);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_bucket", "le=\"+Inf\""), 6);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count"), 6);
  EXPECT_DOUBLE_EQ(value(text, "netobs_tcp_rtt_seconds_sum"), 100e-6);
  EXPECT_EQ(value(text, "netobs_tcp_connection_sent_bytes_bucket", "le=\"512\""), 0);
  EXPECT_EQ(value(text, "netobs_tcp_connection_sent_bytes_bucket", "le=\"1024\""), 4);
  EXPECT_EQ(value(text, "netobs_tcp_connection_sent_bytes_sum"), 4000);
}

TEST(TcpMetrics, ConnectErrnosByName) {
  TcpSnapshot snap;
  snap.connect_errors[ECONNREFUSED] = 7;
  snap.connect_errors[EPERM] = 2;
  snap.connect_errors[NETOBS_TCP_ERRNO_SLOTS - 1] = 1;
  const std::string text = render(snap, {});
  EXPECT_EQ(value(text, "netobs_tcp_connect_failures_total", "errno=\"ECONNREFUSED\""), 7);
  EXPECT_EQ(value(text, "netobs_tcp_connect_failures_total", "errno=\"EPERM\""), 2);
  EXPECT_EQ(value(text, "netobs_tcp_connect_failures_total", "errno=\"other\""), 1);
}

TEST(TcpMetrics, GroupLabelsWithNamesUnmatchedAndOther) {
  TcpConfig config;
  config.group_by = "local_port";
  config.port_names = {"5432=postgres"};
  Result<TcpGrouping> grouping = parse_tcp_grouping(config);
  ASSERT_TRUE(grouping) << grouping.message();
  TcpMetricOptions options;
  options.grouping = *grouping;
  TcpSnapshot snap;
  snap.rtt_by_group[5432].slots[3] = 2;
  snap.rtt_by_group[8080].slots[3] = 1;
  snap.rtt_by_group[NETOBS_TCP_GROUP_OTHER].slots[3] = 5;
  snap.retrans_by_group[5432][NETOBS_TCP_RETRANS_TLP] = 9;
  snap.counters[NETOBS_TCP_RTT_OVERFLOW] = 5;
  std::string text = render(snap, options);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count", "local_port=\"5432\",service=\"postgres\""),
            2);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count", "local_port=\"8080\""), 1);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count", "local_port=\"other\""), 5);
  EXPECT_EQ(value(text, "netobs_tcp_retransmits_total",
                  "kind=\"tlp\",local_port=\"5432\",service=\"postgres\""),
            9);
  EXPECT_EQ(value(text, "netobs_tcp_retransmits_total",
                  "kind=\"rto\",local_port=\"5432\",service=\"postgres\""),
            0);
  EXPECT_EQ(value(text, "netobs_series_dropped_total",
                  "collector=\"tcp\",metric=\"netobs_tcp_rtt_seconds\""),
            5);

  config.group_by = "remote_cidr";
  config.remote_cidr_groups = {"office=10.0.0.0/8"};
  grouping = parse_tcp_grouping(config);
  ASSERT_TRUE(grouping) << grouping.message();
  options.grouping = *grouping;
  snap = TcpSnapshot{};
  snap.rtt_by_group[0].slots[1] = 1;
  snap.rtt_by_group[1].slots[1] = 2;
  snap.rtt_by_group[7].slots[1] = 4;  // an id the config no longer has
  text = render(snap, options);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count", "remote_group=\"office\""), 2);
  EXPECT_EQ(value(text, "netobs_tcp_rtt_seconds_count", "remote_group=\"unmatched\""), 5);
}

TEST(TcpMetrics, SwitchedOffFeaturesHaveNoFamilies) {
  TcpMetricOptions options;
  options.rtt = false;
  options.retransmits = false;
  options.connection_tracking = false;
  options.sample_rate = 10;
  const std::string text = render(TcpSnapshot{}, options);
  EXPECT_EQ(text.find("netobs_tcp_rtt_seconds"), std::string::npos);
  EXPECT_EQ(text.find("netobs_tcp_retransmits_total"), std::string::npos);
  EXPECT_EQ(text.find("netobs_tcp_connections"), std::string::npos);
  EXPECT_EQ(value(text, "netobs_tcp_sample_rate"), 10);
}

TEST(TcpMetrics, GroupingErrorsNameTheFix) {
  TcpConfig config;
  config.group_by = "remote_cidr";
  Result<TcpGrouping> grouping = parse_tcp_grouping(config);
  ASSERT_FALSE(grouping);
  EXPECT_NE(grouping.message().find("remote_cidr_groups"), std::string::npos);
  config.group_by = "none";
  config.port_names = {"x=1"};
  EXPECT_FALSE(parse_tcp_grouping(config));
}

}  // namespace
}  // namespace netobs
