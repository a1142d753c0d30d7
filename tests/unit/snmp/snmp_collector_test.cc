// SnmpCollector on fixture procfs trees: full text output against checked-in
// golden files (seed 004 values, malformed input), parse-error counting and
// logging, the sampler thread's lifecycle. Set NETOBS_UPDATE_GOLDEN=1 to
// rewrite the golden files after an intended change (then review the diff).
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "collectors/snmp/snmp_config.h"
#include "collectors/snmp/snmp_collector.h"
#include "collectors/snmp/snmp_metrics.h"
#include "config/config.h"
#include "exporter/bpf/preflight.h"
#include "exporter/log.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/" + name;
}

// A procfs the test rewrites between samples.
class FakeProcfs {
 public:
  FakeProcfs() { fs::create_directories(dir_.path() + "/net"); }
  const std::string& path() const { return dir_.path(); }
  void load(const std::string& fixture_name) {
    for (const char* file : {"snmp", "netstat", "snmp6"}) {
      fs::path target = dir_.path() + "/net/" + file;
      fs::remove(target);
      fs::path source = fixture(fixture_name + "/net/" + file);
      if (fs::exists(source)) fs::copy_file(source, target);
    }
  }

 private:
  testing::TempDir dir_;
};

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string scrape(SnmpCollector& collector) {
  std::vector<prometheus::MetricFamily> families;
  Status status = collector.collect(families);
  EXPECT_TRUE(status.is_ok()) << status.message();
  return serialize(families);
}

void expect_golden(const std::string& actual, const std::string& name) {
  std::string path = fixture("expected/" + name);
  if (const char* update = std::getenv("NETOBS_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::trunc) << actual;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " missing: run with NETOBS_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, testing::read_file(path)) << "golden " << path << " differs";
}

struct Harness {
  explicit Harness(const std::string& procfs, double interval = 5) {
    config.exporter.procfs = procfs;
    config.collector<SnmpConfig>().sample_interval_seconds = interval;
  }
  Config config;
  PreflightReport preflight;
  double clock = 0;
  std::unique_ptr<SnmpCollector> make(bool run_sampler = false) {
    return std::make_unique<SnmpCollector>(
        SnmpCollector::TestHooks{[this] { return clock; }, run_sampler});
  }
};

TEST(SnmpCollector, SeedSeriesGolden) {
  FakeProcfs procfs;
  Harness harness(procfs.path());
  auto collector = harness.make();
  procfs.load("seed_t0");
  ASSERT_TRUE(collector->start({harness.config, harness.preflight}).is_ok());
  collector->sample_now();
  // Before a second sample there are no rates, ratios or verdicts yet.
  std::string first = scrape(*collector);
  EXPECT_EQ(first.find(kSnmpRateMetric), std::string::npos);
  EXPECT_EQ(first.find(std::string(kSnmpVerdictMetric) + "{"), std::string::npos);
  EXPECT_NE(first.find("netobs_snmp_parse_errors_total{file=\"snmp6\"} 0"), std::string::npos);

  harness.clock = 5;
  procfs.load("seed_t1");
  collector->sample_now();
  std::string second = scrape(*collector);
  EXPECT_NE(second.find("netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\","
                        "window=\"1m\"} 72.4"),
            std::string::npos)
      << second;

  harness.clock = 10;
  procfs.load("seed_t2");
  collector->sample_now();
  std::string third = scrape(*collector);
  // Over the 10 s there is: (362 + 241) / 10.
  EXPECT_NE(third.find("netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\","
                       "window=\"1m\"} 60.3"),
            std::string::npos);
  EXPECT_NE(third.find("netobs_snmp_mib_total{field=\"RetransSegs\",group=\"Tcp\"} 59553598"),
            std::string::npos);
  EXPECT_NE(third.find("netobs_snmp_mib_current{field=\"MaxConn\",group=\"Tcp\"} -1"),
            std::string::npos);
  EXPECT_NE(third.find("netobs_snmp_verdict{check=\"tlp_share\"} 0"), std::string::npos)
      << "1m window: 164 TLPs of 603 retransmissions is 27 %, under the 30 % warning";
  expect_golden(third, "collector_seed_t2.prom");
  collector->stop();
}

TEST(SnmpCollector, MalformedInputGoldenAndCountedPerScrape) {
  std::string log;
  capture_log_for_test(&log);
  Harness harness(fixture("malformed"));
  auto collector = harness.make();
  ASSERT_TRUE(collector->start({harness.config, harness.preflight}).is_ok());
  std::string first = scrape(*collector);
  expect_golden(first, "collector_malformed.prom");
  EXPECT_NE(first.find("netobs_snmp_parse_errors_total{file=\"snmp\"} 4"), std::string::npos);
  EXPECT_NE(first.find("netobs_snmp_parse_errors_total{file=\"netstat\"} 1"), std::string::npos);
  EXPECT_NE(first.find("netobs_snmp_parse_errors_total{file=\"snmp6\"} 3"), std::string::npos);
  // u64 max: the nearest double, printed by prometheus-cpp with 16 significant digits.
  EXPECT_NE(first.find("netobs_snmp_mib_total{field=\"InReceives\",group=\"Ip6\"} "
                       "1.844674407370955e+19"),
            std::string::npos);
  std::string second = scrape(*collector);
  EXPECT_NE(second.find("netobs_snmp_parse_errors_total{file=\"snmp\"} 8"), std::string::npos);
  collector->sample_now();  // the sampler logs but does not count
  std::string third = scrape(*collector);
  EXPECT_NE(third.find("netobs_snmp_parse_errors_total{file=\"snmp\"} 12"), std::string::npos);
  capture_log_for_test(nullptr);
  // Logged once per (file, reason): snmp has 4 reasons, netstat 1, snmp6 3.
  size_t lines = 0;
  for (size_t pos = 0; (pos = log.find("cannot parse SNMP counters", pos)) != std::string::npos;
       ++pos) {
    ++lines;
  }
  EXPECT_EQ(lines, 8u) << log;
  collector->stop();
}

TEST(SnmpCollector, ErrorCountersPresentAtZeroAndNoSnmp6IsFine) {
  std::string log;
  capture_log_for_test(&log);
  FakeProcfs procfs;
  procfs.load("truncated");  // has no snmp6
  fs::copy_file(fixture("real/net/snmp"), procfs.path() + "/net/snmp",
                fs::copy_options::overwrite_existing);
  Harness harness(procfs.path());
  auto collector = harness.make();
  ASSERT_TRUE(collector->start({harness.config, harness.preflight}).is_ok());
  std::string text = scrape(*collector);
  capture_log_for_test(nullptr);
  for (const char* file : {"snmp", "netstat", "snmp6"}) {
    EXPECT_NE(text.find("netobs_snmp_parse_errors_total{file=\"" + std::string(file) + "\"} 0"),
              std::string::npos)
        << file;
  }
  EXPECT_EQ(text.find("group=\"Ip6\""), std::string::npos);
  EXPECT_EQ(log.find("level=warn"), std::string::npos) << log;
}

TEST(SnmpCollector, ScrapeReadsFreshValues) {
  FakeProcfs procfs;
  procfs.load("seed_t0");
  Harness harness(procfs.path());
  auto collector = harness.make();
  ASSERT_TRUE(collector->start({harness.config, harness.preflight}).is_ok());
  collector->sample_now();
  procfs.load("seed_t2");  // no sample taken: the scrape must still see it
  std::string text = scrape(*collector);
  EXPECT_NE(text.find("netobs_snmp_mib_total{field=\"RetransSegs\",group=\"Tcp\"} 59553598"),
            std::string::npos);
}

TEST(SnmpCollector, StartRejectsBadSettings) {
  PreflightReport preflight;
  {
    Config config;
    config.exporter.procfs = "/nonexistent-procfs";
    SnmpCollector collector;
    Status status = collector.start({config, preflight});
    EXPECT_FALSE(status.is_ok());
    EXPECT_NE(status.message().find("/nonexistent-procfs/net/snmp"), std::string::npos);
  }
  {
    Config config;
    config.exporter.procfs = fixture("real");
    config.collector<SnmpConfig>().rate_counters = {"TcpRetransSegs"};
    SnmpCollector collector;
    Status status = collector.start({config, preflight});
    EXPECT_FALSE(status.is_ok());
    EXPECT_NE(status.message().find("Group.Field"), std::string::npos);
  }
  {
    Config config;
    config.exporter.procfs = fixture("real");
    config.collector<SnmpConfig>().sample_interval_seconds = 0;
    SnmpCollector collector;
    EXPECT_FALSE(collector.start({config, preflight}).is_ok());
  }
}

TEST(SnmpCollector, GaugeRateCounterSkippedUnknownWarned) {
  std::string log;
  capture_log_for_test(&log);
  FakeProcfs procfs;
  procfs.load("seed_t0");
  Harness harness(procfs.path());
  harness.config.collector<SnmpConfig>().rate_counters = {"Tcp.CurrEstab", "Tcp.RetransSegs",
                                                          "Tcp.NoSuchThing"};
  auto collector = harness.make();
  ASSERT_TRUE(collector->start({harness.config, harness.preflight}).is_ok());
  collector->sample_now();
  harness.clock = 5;
  procfs.load("seed_t1");
  collector->sample_now();
  std::string text = scrape(*collector);
  capture_log_for_test(nullptr);
  EXPECT_EQ(text.find("rate_per_second{field=\"CurrEstab\""), std::string::npos);
  EXPECT_NE(text.find("rate_per_second{field=\"RetransSegs\""), std::string::npos);
  EXPECT_NE(log.find("counter=Tcp.CurrEstab"), std::string::npos) << log;
  EXPECT_NE(log.find("counter=Tcp.NoSuchThing"), std::string::npos) << log;
}

TEST(SnmpCollector, SamplerThreadSamplesAndStopsPromptly) {
  Config config;
  config.exporter.procfs = "/proc";
  config.collector<SnmpConfig>().sample_interval_seconds = 0.1;
  config.collector<SnmpConfig>().windows_seconds = {1};
  PreflightReport preflight;
  SnmpCollector collector;
  ASSERT_TRUE(collector.start({config, preflight}).is_ok());
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<prometheus::MetricFamily> families;
    ASSERT_TRUE(collector.collect(families).is_ok());
    text = serialize(families);
    if (text.find(kSnmpRateMetric) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(text.find("netobs_snmp_window_covered_seconds{window=\"1s\"}"), std::string::npos);
  EXPECT_NE(text.find("netobs_snmp_verdict{check=\"retransmission_ratio\"}"), std::string::npos);
  collector.stop();

  // A long interval must not delay stop().
  Config slow = config;
  slow.collector<SnmpConfig>().sample_interval_seconds = 3600;
  SnmpCollector sleeper;
  ASSERT_TRUE(sleeper.start({slow, preflight}).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto before = std::chrono::steady_clock::now();
  sleeper.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
}

}  // namespace
}  // namespace netobs
