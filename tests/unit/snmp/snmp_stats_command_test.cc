// `netobs stats` against fixture procfs trees with a fake clock: exact
// expected output for every view (golden files under
// tests/fixtures/snmp/expected/stats_*.txt; NETOBS_UPDATE_GOLDEN=1 rewrites).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "collectors/snmp/stats_command.h"
#include "collectors/snmp/stats_format.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/" + name;
}

void expect_golden(const std::string& actual, const std::string& name) {
  std::string path = fixture("expected/" + name);
  if (const char* update = std::getenv("NETOBS_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::trunc) << actual;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run with NETOBS_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, testing::read_file(path)) << "golden " << path << " differs";
}

// Each read() returns the next fixture tree (the last one repeats); sleeping
// advances a fake clock exactly.
class FakeEnvironment final : public StatsEnvironment {
 public:
  explicit FakeEnvironment(std::vector<std::string> trees) : trees_(std::move(trees)) {}

  MibSnapshot read(const std::string& procfs) override {
    procfs_seen = procfs;
    size_t index = std::min(reads, trees_.size() - 1);
    ++reads;
    return read_mib_snapshot(fixture(trees_[index]));
  }
  double monotonic_seconds() override { return 1000 + elapsed; }
  double unix_seconds() override { return 1700000000 + elapsed; }
  void sleep_for(double seconds) override { elapsed += seconds; }
  std::optional<double> uptime_seconds(const std::string&) override { return uptime; }
  Result<std::string> http_get(const std::string& url, double) override {
    urls.push_back(url);
    auto it = http.find(url);
    if (it == http.end()) return Status::error("GET " + url + ": Connection refused");
    return it->second;
  }
  Result<std::string> read_file(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Status::error("cannot read " + path);
    return it->second;
  }
  Status write_file(const std::string& path, const std::string& contents) override {
    files[path] = contents;
    return Status::ok();
  }

  std::vector<std::string> trees_;
  size_t reads = 0;
  double elapsed = 0;
  std::optional<double> uptime = 86400;
  std::map<std::string, std::string> http;
  std::map<std::string, std::string> files;
  std::vector<std::string> urls;
  std::string procfs_seen;
};

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

CommandRun run(const std::vector<std::string>& args, FakeEnvironment& env) {
  std::ostringstream out, err;
  CommandRun result;
  result.code = run_stats_command(args, out, err, env);
  result.out = out.str();
  result.err = err.str();
  return result;
}

const std::vector<std::string> kSeed = {"seed_t0", "seed_t1", "seed_t2"};

TEST(SnmpStatsCommand, IncrementsAndRatesLikeNstat) {
  FakeEnvironment env(kSeed);
  CommandRun r = run({"--interval", "5", "--count", "2"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // The seed's worked example: +362 then +241 in 5 s = 72.4/s then 48.2/s.
  EXPECT_NE(
      r.out.find("Tcp.RetransSegs                                       362           72.4\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("Tcp.RetransSegs                                       241           48.2\n"),
      std::string::npos)
      << r.out;
  EXPECT_EQ(env.elapsed, 10);
  expect_golden(r.out, "stats_increments.txt");
}

TEST(SnmpStatsCommand, DefaultIsOneReportOverOneSecond) {
  FakeEnvironment env({"seed_t0", "seed_t1"});
  CommandRun r = run({}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(env.elapsed, 1);
  EXPECT_NE(r.out.find("# increments over 1.0 s"), std::string::npos);
  EXPECT_NE(
      r.out.find("Tcp.RetransSegs                                       362          362.0\n"),
      std::string::npos)
      << r.out;
  EXPECT_EQ(env.procfs_seen, "/proc");
}

TEST(SnmpStatsCommand, JsonIncrements) {
  FakeEnvironment env(kSeed);
  CommandRun r = run({"--interval=5", "--count=2", "--json", "--filter", "Retrans|CurrEstab"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_golden(r.out, "stats_increments.json");
  EXPECT_NE(r.out.find("{\"name\":\"Tcp.RetransSegs\",\"group\":\"Tcp\",\"field\":\"RetransSegs\","
                       "\"type\":\"counter\",\"value\":59553357,\"increase\":362,"
                       "\"per_second\":72.4}"),
            std::string::npos);
}

TEST(SnmpStatsCommand, AbsoluteWithFilterAndZero) {
  FakeEnvironment env(kSeed);
  CommandRun r = run({"-a", "--filter", "^Tcp\\."}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(env.elapsed, 0);
  expect_golden(r.out, "stats_absolute_tcp.txt");
  EXPECT_EQ(r.out.find("InCsumErrors"), std::string::npos);  // zero, hidden

  FakeEnvironment env_zero(kSeed);
  CommandRun z =
      run({"--absolute", "--zero", "--filter", "TcpInCsum"}, env_zero);  // nstat-style name
  ASSERT_EQ(z.code, 0) << z.err;
  EXPECT_EQ(z.out,
            "# totals since boot                                     value\n"
            "Tcp.InCsumErrors                                            0\n");
}

TEST(SnmpStatsCommand, RatiosSinceBootInWords) {
  FakeEnvironment env({"seed_t1"});
  CommandRun r = run({"--ratios", "-a"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  // The seed's own numbers: 59,553,357 / 223,443,516,551 and 24,570,590 TLPs.
  EXPECT_NE(r.out.find("retransmission ratio 0.03 % — ok\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TLP share 41.3 % of retransmissions — high: receive window may be too "
                       "small\n"),
            std::string::npos)
      << r.out;
  expect_golden(r.out, "stats_ratios_absolute.txt");
}

TEST(SnmpStatsCommand, RatiosOverAnInterval) {
  FakeEnvironment env({"seed_t1", "seed_t2"});
  CommandRun r = run({"--ratios", "--interval", "5", "--count", "1"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_golden(r.out, "stats_ratios_interval.txt");
  FakeEnvironment env_json({"seed_t1", "seed_t2"});
  CommandRun j = run({"--ratios", "--json", "-i", "5", "-c", "1"}, env_json);
  ASSERT_EQ(j.code, 0) << j.err;
  expect_golden(j.out, "stats_ratios_interval.json");

  // Nothing moved: every ratio is n/a, never NaN.
  FakeEnvironment idle({"seed_t0", "seed_t0"});
  CommandRun n = run({"--ratios"}, idle);
  ASSERT_EQ(n.code, 0);
  EXPECT_NE(n.out.find("retransmission ratio n/a (no segments sent) — ok"), std::string::npos);
  EXPECT_EQ(n.out.find("nan"), std::string::npos);
  EXPECT_EQ(n.out.find("inf"), std::string::npos);
}

// With an exporter running, --ratios quotes the kernel's drop reasons it
// counted, summed over interfaces, largest first; without one, nothing.
TEST(StatsCommand, RatiosQuoteTheExportersDropReasons) {
  FakeEnvironment env({"real"});
  env.http["http://127.0.0.1:9723/metrics"] =
      "# TYPE netobs_drops_total counter\n"
      "netobs_drops_total{family=\"ipv4\",interface=\"lo\",protocol=\"tcp\","
      "reason=\"TCP_LISTEN_OVERFLOW\"} 7\n"
      "netobs_drops_total{family=\"ipv4\",interface=\"eth0\",protocol=\"tcp\","
      "reason=\"TCP_LISTEN_OVERFLOW\"} 5\n"
      "netobs_drops_total{family=\"ipv4\",interface=\"lo\",protocol=\"udp\","
      "reason=\"SOCKET_RCVBUFF\"} 30\n"
      "netobs_drops_total{family=\"ipv4\",interface=\"lo\",protocol=\"udp\","
      "reason=\"NOT_SPECIFIED\"} 0\n"
      "netobs_drops_reasons_info{reason=\"NO_SOCKET\"} 1\n";
  CommandRun r = run({"--ratios", "-a"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  const size_t header = r.out.find(
      "Kernel drop reasons (from http://127.0.0.1:9723/metrics, since the exporter started):\n");
  ASSERT_NE(header, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  SOCKET_RCVBUFF                           30  receive buffer full: "
                       "RcvbufErrors\n  TCP_LISTEN_OVERFLOW                      12  accept queue "
                       "full: ListenOverflows\n",
                       header),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("NOT_SPECIFIED"), std::string::npos);

  FakeEnvironment alone({"real"});
  CommandRun quiet = run({"--ratios", "-a"}, alone);
  EXPECT_EQ(quiet.out.find("Kernel drop reasons"), std::string::npos);
}

TEST(SnmpStatsCommand, SaveThenBaseline) {
  FakeEnvironment env({"seed_t0"});
  CommandRun saved = run({"--save", "/tmp/base"}, env);
  ASSERT_EQ(saved.code, 0) << saved.err;
  ASSERT_TRUE(env.files.count("/tmp/base"));
  EXPECT_EQ(env.files["/tmp/base"].rfind("# netobs stats baseline\n"
                                         "# saved_at_unix_seconds 1700000000.000\n"
                                         "Ip.Forwarding 2\n",
                                         0),
            0u);
  EXPECT_NE(env.files["/tmp/base"].find("\nTcp.MaxConn -1\n"), std::string::npos);

  FakeEnvironment later({"seed_t2"});
  later.files = env.files;
  later.elapsed = 3600;
  CommandRun diff = run({"--baseline", "/tmp/base"}, later);
  ASSERT_EQ(diff.code, 0) << diff.err;
  expect_golden(diff.out, "stats_baseline.txt");
  FakeEnvironment later_json({"seed_t2"});
  later_json.files = env.files;
  later_json.elapsed = 3600;
  CommandRun json = run({"--baseline", "/tmp/base", "--json", "--filter", "^Tcp\\."}, later_json);
  ASSERT_EQ(json.code, 0) << json.err;
  expect_golden(json.out, "stats_baseline.json");

  FakeEnvironment missing({"seed_t2"});
  CommandRun none = run({"--baseline", "/tmp/nope"}, missing);
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("cannot read /tmp/nope"), std::string::npos);
  missing.files["/tmp/bad"] = "hello\n";
  CommandRun bad = run({"--baseline", "/tmp/bad"}, missing);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("not a netobs stats baseline"), std::string::npos);
}

const char* kExporterText =
    "# HELP netobs_snmp_mib_rate_per_second x\n"
    "# TYPE netobs_snmp_mib_rate_per_second gauge\n"
    "netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\",window=\"1m\"} 72\n"
    "netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\",window=\"5m\"} 68\n"
    "netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\",window=\"15m\"} 71\n"
    "netobs_snmp_mib_rate_per_second{field=\"ListenDrops\",group=\"TcpExt\",window=\"1m\"} 0.5\n"
    "netobs_snmp_mib_rate_per_second{field=\"ListenDrops\",group=\"TcpExt\",window=\"5m\"} 0\n"
    "netobs_snmp_mib_rate_per_second{field=\"ListenDrops\",group=\"TcpExt\",window=\"15m\"} 0\n"
    "netobs_snmp_window_covered_seconds{window=\"1m\"} 60\n"
    "netobs_snmp_window_covered_seconds{window=\"5m\"} 300\n"
    "netobs_snmp_window_covered_seconds{window=\"15m\"} 412\n"
    "netobs_snmp_mib_total{field=\"RetransSegs\",group=\"Tcp\"} 59553598\n";

TEST(SnmpStatsCommand, TrendFromExporter) {
  FakeEnvironment env(kSeed);
  env.http["http://host:9723/metrics"] = kExporterText;
  CommandRun r = run({"--trend", "--from", "http://host:9723"}, env);
  ASSERT_EQ(r.code, 0) << r.err;
  // The seed's "Future enhancements" example: 72/s, 68/s over 5 min, 71/s over 15.
  EXPECT_NE(r.out.find("Tcp.RetransSegs                         72.00        68.00        71.00"
                       "       +5.9 %       +1.4 %\n"),
            std::string::npos)
      << r.out;
  expect_golden(r.out, "stats_trend_exporter.txt");

  FakeEnvironment json_env(kSeed);
  json_env.http["http://host:9723/metrics"] = kExporterText;
  CommandRun j = run({"--trend", "--from", "http://host:9723/metrics", "--json"}, json_env);
  ASSERT_EQ(j.code, 0) << j.err;
  expect_golden(j.out, "stats_trend_exporter.json");

  FakeEnvironment down(kSeed);
  CommandRun d = run({"--trend", "--from", "http://host:9723"}, down);
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("Connection refused"), std::string::npos);

  FakeEnvironment wrong(kSeed);
  wrong.http["http://host:9100/metrics"] = "node_netstat_Tcp_RetransSegs 5\n";
  CommandRun w = run({"--trend", "--from", "http://host:9100"}, wrong);
  EXPECT_EQ(w.code, 1);
  EXPECT_NE(w.err.find("no netobs_snmp_mib_rate_per_second series"), std::string::npos);
}

TEST(SnmpStatsCommand, TrendFromOwnSamples) {
  FakeEnvironment env(kSeed);  // no exporter answers on 127.0.0.1:9723
  CommandRun r = run({"--trend", "--sample-interval", "5", "--windows", "5s,10s", "--interval", "5",
                      "--count", "2"},
                     env);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(env.urls.size(), 1u);
  EXPECT_EQ(env.urls[0], "http://127.0.0.1:9723/metrics");
  EXPECT_NE(r.err.find("no exporter to ask"), std::string::npos);
  expect_golden(r.out, "stats_trend_self.txt");
  // 72.4/s over the last 5 s, then 48.2/s against 60.3/s over 10 s.
  EXPECT_NE(r.out.find("Tcp.RetransSegs                         48.20        60.30      -20.1 %\n"),
            std::string::npos)
      << r.out;

  // --from self never asks the network.
  FakeEnvironment self(kSeed);
  CommandRun s = run({"--trend", "--from", "self", "--sample-interval", "5", "--windows", "5s",
                      "--interval", "5", "--count", "1"},
                     self);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_TRUE(self.urls.empty());

  // A local exporter, when one answers, is preferred to sampling.
  FakeEnvironment local(kSeed);
  local.http["http://127.0.0.1:9723/metrics"] = kExporterText;
  CommandRun l = run({"--trend"}, local);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_EQ(local.reads, 0u);
  EXPECT_NE(l.out.find("from http://127.0.0.1:9723/metrics"), std::string::npos);
}

TEST(SnmpStatsCommand, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--bogus"},
           {"--interval"},
           {"--interval", "abc"},
           {"--interval", "0"},
           {"--count", "0"},
           {"--count", "1.5"},
           {"--filter", "("},
           {"--windows", "1x"},
           {"--save", "a", "--baseline", "b"},
           {"--ratios", "--trend"},
           {"--json=yes"},
       }) {
    FakeEnvironment env(kSeed);
    CommandRun r = run(args, env);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_NE(r.err.find("netobs stats: "), std::string::npos) << args[0];
  }
  FakeEnvironment env(kSeed);
  CommandRun help = run({"--help"}, env);
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out, stats_usage());
  EXPECT_EQ(env.reads, 0u);
}

TEST(SnmpStatsCommand, UnreadableProcfsExitsOne) {
  std::ostringstream out, err;
  int code = run_stats_command({"--path.procfs", "/nonexistent", "-a"}, out, err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.str().find("no counters could be read from /nonexistent"), std::string::npos)
      << err.str();
}

TEST(SnmpStatsCommand, MalformedInputWarnsOnceAndStillPrints) {
  FakeEnvironment env({"malformed", "malformed", "malformed"});
  CommandRun r = run({"-i", "1", "-c", "2"}, env);
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.err.find("net/snmp line 4: invalid_number"), std::string::npos) << r.err;
  size_t warnings = 0;
  for (size_t pos = 0; (pos = r.err.find("warning:", pos)) != std::string::npos; ++pos) ++warnings;
  EXPECT_EQ(warnings, 8u) << r.err;
}

TEST(SnmpStatsCommand, RealProcfs) {
  std::ostringstream out, err;
  int code = run_stats_command({"--interval", "0.2", "--count", "1", "--zero"}, out, err);
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_NE(out.str().find("Tcp.RetransSegs"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(run_stats_command({"-a", "--json"}, out2, err2), 0);
  EXPECT_EQ(out2.str().rfind("{\"mode\":\"absolute\",\"fields\":[", 0), 0u);
}

}  // namespace
}  // namespace netobs
