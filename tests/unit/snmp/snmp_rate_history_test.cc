// Rate history: window increases and rates with resets, ratios, verdicts,
// on the seed-004 sample values and on synthetic series.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "collectors/snmp/snmp_config.h"
#include "collectors/snmp/proc_net_parser.h"
#include "collectors/snmp/rate_history.h"

namespace netobs {
namespace {

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/" + name;
}

const MibKey kRetrans{"Tcp", "RetransSegs"};

TEST(SnmpRateHistory, SeedDeltasAndRates) {
  // Seed 004: 59,552,995 -> 59,553,357 -> 59,553,598 five seconds apart.
  RateHistory history({kRetrans}, 60, 5);
  history.add(0, read_mib_snapshot(fixture("seed_t0")).parsed.entries);
  history.add(5, read_mib_snapshot(fixture("seed_t1")).parsed.entries);
  auto first = history.summarize(5);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->increases[0], 362u);
  EXPECT_DOUBLE_EQ(*first->rate(0), 72.4);

  history.add(10, read_mib_snapshot(fixture("seed_t2")).parsed.entries);
  auto second = history.summarize(5);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->increases[0], 241u);
  EXPECT_DOUBLE_EQ(*second->rate(0), 48.2);
  EXPECT_DOUBLE_EQ(second->covered_seconds, 5);

  auto minute = history.summarize(60);  // covers the 10 s there is
  ASSERT_TRUE(minute);
  EXPECT_EQ(minute->increases[0], 603u);
  EXPECT_DOUBLE_EQ(minute->covered_seconds, 10);
  EXPECT_DOUBLE_EQ(*minute->rate(0), 60.3);
}

TEST(SnmpRateHistory, NeedsTwoSamples) {
  RateHistory history({kRetrans}, 60, 5);
  EXPECT_FALSE(history.summarize(60));
  history.add_values(0, {100});
  EXPECT_FALSE(history.summarize(60));
  history.add_values(5, {100});
  ASSERT_TRUE(history.summarize(60));
  EXPECT_EQ(history.summarize(60)->increases[0], 0u);
  EXPECT_EQ(*history.summarize(60)->rate(0), 0.0);
}

TEST(SnmpRateHistory, ResetIsNeverNegative) {
  EXPECT_EQ(counter_increase(10, 15), 5u);
  EXPECT_EQ(counter_increase(1000, 7), 7u);  // went down: restarted at 0
  EXPECT_EQ(counter_increase(std::numeric_limits<uint64_t>::max(), 3), 3u);
  EXPECT_EQ(counter_increase(0, std::numeric_limits<uint64_t>::max()),
            std::numeric_limits<uint64_t>::max());

  RateHistory history({kRetrans}, 60, 5);
  history.add_values(0, {1000});
  history.add_values(5, {1100});
  history.add_values(10, {40});  // reset between 5 and 10
  history.add_values(15, {90});
  auto summary = history.summarize(60);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->increases[0], 100u + 40u + 50u);
  EXPECT_DOUBLE_EQ(*summary->rate(0), 190.0 / 15);
}

TEST(SnmpRateHistory, MissingSampleValuesBridged) {
  RateHistory history({kRetrans}, 60, 5);
  history.add_values(0, {100});
  history.add_values(5, {std::nullopt});  // file unreadable at that moment
  history.add_values(10, {160});
  auto summary = history.summarize(60);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->increases[0], 60u);

  RateHistory never({kRetrans}, 60, 5);
  never.add_values(0, {std::nullopt});
  never.add_values(5, {std::nullopt});
  EXPECT_FALSE(never.summarize(60)->increases[0]);
  EXPECT_FALSE(never.summarize(60)->rate(0));
}

TEST(SnmpRateHistory, WindowsSelectTheirSamples) {
  RateHistory history({kRetrans}, 900, 5);
  // 16 minutes of samples; the counter grows by 1/s for the first 10 minutes,
  // then by 10/s.
  uint64_t value = 0;
  for (int t = 0; t <= 960; t += 5) {
    history.add_values(t, {value});
    value += t < 600 ? 5 : 50;
  }
  auto one = history.summarize(60);
  auto five = history.summarize(300);
  auto fifteen = history.summarize(900);
  ASSERT_TRUE(one && five && fifteen);
  EXPECT_DOUBLE_EQ(one->covered_seconds, 60);
  EXPECT_DOUBLE_EQ(five->covered_seconds, 300);
  EXPECT_DOUBLE_EQ(fifteen->covered_seconds, 900);
  EXPECT_DOUBLE_EQ(*one->rate(0), 10);
  EXPECT_DOUBLE_EQ(*five->rate(0), 10);
  // 900 s back from 960 is 60: 540 s at 1/s and 360 s at 10/s.
  EXPECT_DOUBLE_EQ(*fifteen->rate(0), (540.0 + 3600.0) / 900);
  // Memory stays bounded by the longest window.
  EXPECT_LE(history.sample_count(), 900 / 5 * 2 + 8);
}

TEST(SnmpRateHistory, JitterDoesNotDropAnInterval) {
  RateHistory history({kRetrans}, 60, 5);
  uint64_t value = 0;
  for (int i = 0; i <= 12; ++i) {
    // The first sample is 30 ms late relative to the grid the others follow.
    double t = i == 0 ? 0.03 : i * 5.0 + 0.01;
    history.add_values(t, {value});
    value += 5;
  }
  auto one = history.summarize(60);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->increases[0], 60u);  // all 12 intervals
}

TEST(SnmpRateHistory, ClockGoingBackwardsStartsOver) {
  RateHistory history({kRetrans}, 60, 5);
  history.add_values(10, {100});
  history.add_values(15, {200});
  history.add_values(12, {300});
  EXPECT_EQ(history.sample_count(), 1u);
}

TEST(SnmpRateHistory, RatiosAbsentOnZeroDenominator) {
  std::vector<MibKey> keys = derived_input_keys();
  RateHistory history(keys, 60, 5);
  std::vector<std::optional<uint64_t>> zeros(keys.size(), 5);
  history.add_values(0, zeros);
  history.add_values(5, zeros);
  auto summary = history.summarize(60);
  ASSERT_TRUE(summary);
  for (const RatioDefinition& definition : ratio_definitions()) {
    EXPECT_FALSE(history.ratio(*summary, definition)) << definition.name;
  }
  for (const CheckResult& check : history.checks(*summary, SnmpThresholds{})) {
    EXPECT_EQ(check.verdict, Verdict::kOk) << check.check;
  }
}

TEST(SnmpRateHistory, SeedRatiosAndVerdicts) {
  std::vector<MibKey> keys = derived_input_keys();
  RateHistory history(keys, 60, 5);
  history.add(0, read_mib_snapshot(fixture("seed_t1")).parsed.entries);
  history.add(5, read_mib_snapshot(fixture("seed_t2")).parsed.entries);
  auto summary = history.summarize(60);
  ASSERT_TRUE(summary);
  auto ratio = [&](std::string_view name) {
    for (const RatioDefinition& d : ratio_definitions()) {
      if (d.name == name) return history.ratio(*summary, d);
    }
    return std::optional<double>();
  };
  // t1 -> t2: RetransSegs +241, OutSegs +700000, TCPLossProbes +100,
  // TCPFastRetrans +100, TCPTimeouts +20, TCPSynRetrans +1, InErrs +2 of
  // InSegs +500000, Udp RcvbufErrors +0 of InDatagrams +1000.
  EXPECT_DOUBLE_EQ(*ratio("retransmission"), 241.0 / 700000);
  EXPECT_DOUBLE_EQ(*ratio("tlp_share"), 100.0 / 241);
  EXPECT_DOUBLE_EQ(*ratio("fast_retransmit_share"), 100.0 / 241);
  EXPECT_DOUBLE_EQ(*ratio("rto_share"), 20.0 / 241);
  EXPECT_DOUBLE_EQ(*ratio("syn_retransmit_share"), 1.0 / 241);
  EXPECT_DOUBLE_EQ(*ratio("tcp_input_error"), 2.0 / 500000);
  EXPECT_DOUBLE_EQ(*ratio("udp_receive_buffer_error"), 0.0);

  auto checks = history.checks(*summary, SnmpThresholds{});
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].check, "retransmission_ratio");
  EXPECT_EQ(checks[0].verdict, Verdict::kOk);
  EXPECT_EQ(checks[1].check, "tlp_share");
  EXPECT_EQ(checks[1].verdict, Verdict::kWarning);  // 41.5 % > 30 %
  EXPECT_EQ(checks[1].advice, "receive window may be too small");
  EXPECT_EQ(checks[2].check, "listen_drops");
  EXPECT_DOUBLE_EQ(*checks[2].value, 1.0);  // 5 drops in 5 s
  EXPECT_EQ(checks[2].verdict, Verdict::kWarning);

  SnmpThresholds strict;
  strict.retrans_ratio_warning = 0.0001;
  strict.retrans_ratio_critical = 0.0002;
  strict.listen_drops_per_second_critical = 0.5;
  auto strict_checks = history.checks(*summary, strict);
  EXPECT_EQ(strict_checks[0].verdict, Verdict::kCritical);
  EXPECT_EQ(strict_checks[2].verdict, Verdict::kCritical);
}

TEST(SnmpRateHistory, GradeIsStrictlyAbove) {
  EXPECT_EQ(grade(0.01, 0.01, 0.05), Verdict::kOk);
  EXPECT_EQ(grade(0.0100001, 0.01, 0.05), Verdict::kWarning);
  EXPECT_EQ(grade(0.05, 0.01, 0.05), Verdict::kWarning);
  EXPECT_EQ(grade(0.06, 0.01, 0.05), Verdict::kCritical);
  EXPECT_EQ(grade(0, 0, 1), Verdict::kOk);         // no listen drops
  EXPECT_EQ(grade(0.2, 0, 1), Verdict::kWarning);  // any listen drop
}

TEST(SnmpRateHistory, KeysAndWindowLabels) {
  EXPECT_EQ(parse_mib_key("Tcp.RetransSegs")->field, "RetransSegs");
  EXPECT_EQ(parse_mib_key("TcpExt.TCPLossProbes")->group, "TcpExt");
  for (const char* bad : {"Tcp", ".X", "Tcp.", "a.b.c", ""}) {
    EXPECT_FALSE(parse_mib_key(bad)) << bad;
  }
  EXPECT_EQ(window_label(60), "1m");
  EXPECT_EQ(window_label(300), "5m");
  EXPECT_EQ(window_label(900), "15m");
  EXPECT_EQ(window_label(90), "90s");
  EXPECT_EQ(window_label(3600), "1h");
  EXPECT_EQ(window_label(2.5), "2.5s");
  EXPECT_EQ(*parse_window("15m"), 900);
  EXPECT_EQ(*parse_window("90s"), 90);
  EXPECT_EQ(*parse_window("1h"), 3600);
  EXPECT_EQ(*parse_window("30"), 30);
  EXPECT_EQ(*parse_window("2.5s"), 2.5);
  for (const char* bad : {"", "m", "-1m", "0s", "1x", "abc"}) {
    EXPECT_FALSE(parse_window(bad)) << bad;
  }
}

}  // namespace
}  // namespace netobs
