// Hostile input to the real exporter binary: files under --path.procfs that
// are not what procfs serves (a FIFO, a huge file, binary garbage, a file
// growing while it is read) and config files that are huge, deeply nested or
// YAML alias bombs. Truth: the exporter answers within its scrape timeout with
// the snmp collector's success 0 and a log line naming the file and the fix
// (procfs), or exits 2 at once with a clear error (config); its peak RSS
// (VmHWM, or the children's ru_maxrss) stays small; SIGTERM ends it promptly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "tests/support/exporter_process.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Generous bounds: the exporter with only snmp sits near 10-20 MiB; reading a
// hostile file whole, or expanding an alias bomb, would take hundreds.
constexpr double kMaxRssMiB = 120;
constexpr double kMaxStopSeconds = 10;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Peak resident set of a running process, MiB (VmHWM).
double peak_rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024;
  }
  return -1;
}

// A copy of the real procfs fixture the test then spoils.
class FakeProcfs {
 public:
  FakeProcfs() {
    fs::create_directories(dir_.path() + "/net");
    for (const char* file : {"snmp", "netstat", "snmp6"}) {
      fs::copy_file(std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/real/net/" + file,
                    net(file));
    }
  }
  std::string path() const { return dir_.path(); }
  std::string net(const std::string& file) const { return dir_.path() + "/net/" + file; }
  void replace_with_fifo(const std::string& file) const {
    fs::remove(net(file));
    ASSERT_EQ(::mkfifo(net(file).c_str(), 0600), 0);
  }

 private:
  testing::TempDir dir_;
};

struct Outcome {
  std::string scrape;
  std::string log;
  double rss_mib = 0;
  double stop_seconds = 0;
  std::optional<int> exit_code;
};

// Runs the exporter with only snmp on `procfs`, scrapes it `scrapes` times,
// measures its peak RSS, then stops it with SIGTERM.
Outcome run_snmp_exporter(const std::string& procfs, int scrapes = 3,
                          const std::function<void()>& between = {}) {
  testing::ExporterProcess exporter(
      {.collectors = {"snmp"}, .extra_args = {"--path.procfs=" + procfs}});
  Outcome out;
  EXPECT_TRUE(exporter.wait_ready("/healthz", 20)) << exporter.output();
  for (int i = 0; i < scrapes; ++i) {
    if (between) between();
    const auto start = std::chrono::steady_clock::now();
    out.scrape = exporter.scrape();
    EXPECT_LT(seconds_since(start), 15) << "a scrape hung";
  }
  out.rss_mib = peak_rss_mib(exporter.process().pid());
  const auto stop = std::chrono::steady_clock::now();
  out.exit_code = exporter.terminate(30);
  out.stop_seconds = seconds_since(stop);
  out.log = exporter.output();
  return out;
}

void expect_snmp_failed_cleanly(const Outcome& out) {
  EXPECT_EQ(
      testing::metric_value(out.scrape, "netobs_scrape_collector_success", "collector=\"snmp\""), 0)
      << out.scrape;
  EXPECT_EQ(out.exit_code, 0) << out.log;
  EXPECT_LT(out.stop_seconds, kMaxStopSeconds);
  EXPECT_GT(out.rss_mib, 0);
  EXPECT_LT(out.rss_mib, kMaxRssMiB);
  EXPECT_THAT(out.log, HasSubstr("--path.procfs must point at a mounted procfs")) << out.log;
}

TEST(HostileProcfsTest, FifoIsRefusedNotWaitedFor) {
  FakeProcfs procfs;
  procfs.replace_with_fifo("netstat");
  Outcome out = run_snmp_exporter(procfs.path());
  expect_snmp_failed_cleanly(out);
  EXPECT_THAT(out.log, HasSubstr(procfs.net("netstat") + " is a FIFO, not a regular file"));
}

TEST(HostileProcfsTest, FifoAtStartIsRefusedAndSigtermWorks) {
  FakeProcfs procfs;
  procfs.replace_with_fifo("snmp");  // read by the collector's start
  Outcome out = run_snmp_exporter(procfs.path(), 1);
  expect_snmp_failed_cleanly(out);
  EXPECT_THAT(out.log, HasSubstr("collector cannot start"));
}

TEST(HostileProcfsTest, HugeFileIsRefusedWithoutReadingItWhole) {
  FakeProcfs procfs;
  {
    std::ofstream file(procfs.net("snmp6"), std::ios::trunc);
    std::string line = "Ip6InReceives 1\n";
    for (int i = 0; i < (64 << 20) / static_cast<int>(line.size()); ++i) file << line;
  }
  Outcome out = run_snmp_exporter(procfs.path());
  expect_snmp_failed_cleanly(out);
  EXPECT_THAT(out.log, HasSubstr(procfs.net("snmp6") + " is larger than 1048576 bytes"));
}

TEST(HostileProcfsTest, BinaryGarbageFailsTheCollectorWithTheReason) {
  FakeProcfs procfs;
  std::mt19937 random(15);
  for (const char* name : {"snmp", "netstat", "snmp6"}) {
    std::string garbage(512 << 10, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    std::ofstream(procfs.net(name), std::ios::trunc | std::ios::binary) << garbage;
  }
  Outcome out = run_snmp_exporter(procfs.path());
  expect_snmp_failed_cleanly(out);
  EXPECT_THAT(out.log, HasSubstr("no SNMP counter could be parsed"));
  // Logged lines stay lines: control bytes from the file are escaped.
  for (char c : out.log) {
    const auto byte = static_cast<unsigned char>(c);
    ASSERT_TRUE(byte >= 0x20 || c == '\n') << "raw control byte " << int(byte) << " in the log";
  }
}

TEST(HostileProcfsTest, FileGrowingDuringReadsIsBounded) {
  FakeProcfs procfs;
  std::atomic<bool> done = false;
  // Appends garbage lines as fast as it can (bounded: 8 MiB in all).
  std::thread grower([&] {
    std::ofstream file(procfs.net("netstat"), std::ios::app);
    const std::string line = "TcpExt: Grow Grow Grow Grow Grow Grow Grow Grow\n";
    for (size_t written = 0; written < (8u << 20) && !done.load(); written += line.size()) {
      file << line;
      if (written % (64 << 10) == 0) file.flush();
    }
  });
  Outcome out = run_snmp_exporter(
      procfs.path(), 8, [] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
  done = true;
  grower.join();
  EXPECT_EQ(out.exit_code, 0) << out.log;
  EXPECT_LT(out.stop_seconds, kMaxStopSeconds);
  EXPECT_LT(out.rss_mib, kMaxRssMiB);
  // Whatever size the file had at each read, the scrape answered; once above
  // the cap, the collector says so.
  EXPECT_TRUE(
      testing::metric_value(out.scrape, "netobs_scrape_collector_success", "collector=\"snmp\"")
          .has_value());
  if (fs::file_size(procfs.net("netstat")) > (1u << 20) + (1u << 19)) {
    EXPECT_THAT(out.log, HasSubstr("is larger than 1048576 bytes"));
  }
}

// --- configs ------------------------------------------------------------------

struct ConfigRun {
  std::optional<int> exit_code;
  double seconds = 0;
  std::string log;
};

ConfigRun run_with_config(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  testing::ExporterProcess exporter({.collectors = {"snmp"}, .config_file = path});
  ConfigRun run;
  run.exit_code = exporter.process().wait(60);
  run.seconds = seconds_since(start);
  run.log = exporter.output();
  return run;
}

double children_peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // KiB on Linux
}

class HostileConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    return dir_.write(name, text);
  }
  testing::TempDir dir_;
};

TEST_F(HostileConfigTest, HugeConfigIsRefusedAtOnce) {
  // 50 MB of real text (not sparse): reading and parsing it would cost GBs.
  std::string text = "exporter:\n";
  const std::string line = "  bad_key_that_repeats: 1\n";
  while (text.size() < 50'000'000) text += line;
  const std::string path = write("huge.yaml", text);
  text.clear();
  text.shrink_to_fit();
  ConfigRun run = run_with_config(path);
  EXPECT_EQ(run.exit_code, 2) << run.log;
  EXPECT_LT(run.seconds, 20);
  EXPECT_THAT(run.log, HasSubstr("above the limit of 1048576 bytes"));
  EXPECT_LT(children_peak_rss_mib(), kMaxRssMiB);
}

TEST_F(HostileConfigTest, ManyErrorsPrintOnlyTheFirstTwenty) {
  std::string text = "exporter:\n";
  for (int i = 0; i < 20000; ++i) text += "  unknown_" + std::to_string(i) + ": 1\n";
  ConfigRun run = run_with_config(write("many.yaml", text));
  EXPECT_EQ(run.exit_code, 2) << run.log;
  size_t lines = 0;
  for (size_t at = run.log.find("msg=\"invalid config\""); at != std::string::npos;
       at = run.log.find("msg=\"invalid config\"", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 21u) << run.log.substr(0, 4000);
  EXPECT_THAT(run.log, HasSubstr("and 19980 more errors (fix the ones above first)"));
}

TEST_F(HostileConfigTest, DeepNestingIsAClearErrorInBoundedTime) {
  std::string deep = "exporter: " + std::string(400000, '[') + std::string(400000, ']') + "\n";
  ConfigRun run = run_with_config(write("deep.yaml", deep));
  EXPECT_EQ(run.exit_code, 2) << run.log;
  EXPECT_LT(run.seconds, 20);
  EXPECT_THAT(run.log, HasSubstr("YAML syntax error"));
  EXPECT_LT(children_peak_rss_mib(), kMaxRssMiB);
}

TEST_F(HostileConfigTest, AliasBombIsAClearErrorInBoundedTimeAndMemory) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", *a" : "*a") + std::to_string(level - 1);
    yaml += "]\n";
  }
  yaml += "collectors:\n  xdp:\n    interfaces: *a9\n    filter_ports: *a9\n";
  ConfigRun run = run_with_config(write("bomb.yaml", yaml));
  EXPECT_EQ(run.exit_code, 2) << run.log;
  EXPECT_LT(run.seconds, 20);
  EXPECT_THAT(run.log, HasSubstr("invalid config"));
  EXPECT_LT(children_peak_rss_mib(), kMaxRssMiB);
}

TEST_F(HostileConfigTest, EmptyConfigIsAnErrorAtStartAndOnReload) {
  ConfigRun run = run_with_config(write("empty.yaml", ""));
  EXPECT_EQ(run.exit_code, 2) << run.log;
  EXPECT_THAT(run.log, HasSubstr("the config file is empty"));

  // On SIGHUP: the running config stays and the failure is counted.
  const std::string path = write("good.yaml", "collectors:\n  snmp:\n    sample_interval: 4s\n");
  testing::ExporterProcess exporter({.collectors = {"snmp"}, .config_file = path});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 20)) << exporter.output();
  std::ofstream(path, std::ios::trunc).close();
  exporter.process().signal(SIGHUP);
  std::string text =
      exporter.scrape_until("netobs_config_last_reload_successful", "", 0, /*seconds=*/10);
  EXPECT_EQ(testing::metric_value(text, "netobs_config_last_reload_successful"), 0) << text;
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"snmp\""),
            1);
  EXPECT_THAT(exporter.output(), HasSubstr("config reload failed; keeping the running config"));
  EXPECT_EQ(exporter.terminate(kMaxStopSeconds), 0);
}

}  // namespace
}  // namespace netobs
