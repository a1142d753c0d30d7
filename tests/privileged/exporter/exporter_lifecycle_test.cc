// The exporter daemon's BPF lifecycle on the real kernel (root): a BPF
// collector attached through the ladder counts this test's own bytes, its
// programs are gone after SIGTERM, and without CAP_BPF it reports success 0
// while the exporter keeps serving. Uses the testbed exporter, which adds the
// test-only bpf_selftest collector to the production ones.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/exporter_process.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

std::string testbed_binary() {
  return testing::binary_dir() + "/tests/support/testbed/netobs_exporter_testbed";
}

// Sends exactly `total` bytes over a loopback TCP connection from this process.
void send_loopback_bytes(size_t total) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  ASSERT_EQ(listen(listener, 1), 0);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int server = accept(listener, nullptr, nullptr);
  std::vector<char> chunk(1000, 'x');
  size_t sent = 0;
  while (sent < total) {
    ssize_t n = send(client, chunk.data(), std::min(chunk.size(), total - sent), 0);
    ASSERT_GT(n, 0);
    sent += static_cast<size_t>(n);
    char sink[4096];
    while (recv(server, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
    }
  }
  close(client);
  close(server);
  close(listener);
}

// BPF program ids the process holds open, from /proc/<pid>/fdinfo.
std::set<int> bpf_prog_ids_of(pid_t pid) {
  std::set<int> ids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("prog_id:", 0) == 0) ids.insert(std::stoi(line.substr(8)));
    }
  }
  return ids;
}

// Scrapes through curl, a separate process, so the scrape's own request is
// not counted as bytes sent by this test process.
std::string scrape(int port) {
  auto result = testing::run_command(
      {"curl", "-sS", "--max-time", "10", "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
      20);
  return result.exit_code == 0 ? result.output : std::string();
}

// Whether the kernel still has the program; freeing after the last fd is
// closed is deferred (RCU), so poll for a bounded time.
bool program_gone(int id) {
  for (int i = 0; i < 50; ++i) {
    auto show = testing::run_command({"bpftool", "prog", "show", "id", std::to_string(id)}, 20);
    if (show.exit_code != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The thread of `pid` blocked in read(2) on `path` (found through its fds
// and each thread's /proc/.../syscall: "0 0x<fd> ..." is read on x86-64 and
// arm64 uses 63), or "" when none is.
std::string thread_reading(pid_t pid, const std::string& path) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code error;
  std::set<std::string> fds;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", error)) {
    if (std::filesystem::read_symlink(fd.path(), error) == path) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", std::stoul(fd.path().filename().string()));
      fds.insert(hex);
    }
  }
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task", error)) {
    std::istringstream syscall(testing::read_file(task.path().string() + "/syscall"));
    std::string number, first_argument;
    syscall >> number >> first_argument;
    if ((number == "0" || number == "63") && fds.count(first_argument)) {
      return task.path().filename().string();
    }
  }
  return "";
}

// SIGTERM ends the process within its bound (10 s, then a forced exit) even
// while a collector is blocked inside the kernel: the testbed's blocking_read
// collector reads a FIFO this test holds open and never writes, during a
// scrape; the exporter must be gone within 10 s + margin, exit 1, and say why.
TEST(ExporterLifecycleTest, SigtermEndsTheProcessWhileACollectorIsBlockedInTheKernel) {
  NETOBS_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string fifo = dir.path() + "/nb-blocking-read";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  // Held open for writing (so the collector's open returns) and never written.
  const int writer = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  setenv("NETOBS_TESTBED_BLOCKING_READ", fifo.c_str(), 1);
  testing::ExporterProcess exporter(
      {.collectors = {"snmp"}, .scrape_with_curl = true, .binary = testbed_binary()});
  unsetenv("NETOBS_TESTBED_BLOCKING_READ");
  ASSERT_TRUE(exporter.wait_ready("/healthz", 30)) << exporter.output();
  const pid_t pid = exporter.process().pid();
  // A scrape runs the collection, which blocks.
  testing::Subprocess scrape({"curl", "-s", "-o", "/dev/null", "-m", "60",
                              "http://127.0.0.1:" + std::to_string(exporter.port()) + "/metrics"});
  std::string blocked;
  for (int i = 0; i < 200 && blocked.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    blocked = thread_reading(pid, fifo);
  }
  ASSERT_FALSE(blocked.empty()) << "no thread blocked in read() on the FIFO\n" << exporter.output();
  const auto signalled = std::chrono::steady_clock::now();
  const std::optional<int> code = exporter.terminate(30);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  close(writer);
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM\n" << exporter.output();
  EXPECT_EQ(*code, 1) << exporter.output();
  // The grace period is 10 s; the margin is for a loaded machine.
  EXPECT_LT(took, 15.0);
  EXPECT_GE(took, 9.5) << "exited before the grace period: was the collector blocked?";
  EXPECT_THAT(exporter.output(), HasSubstr("shutdown did not finish in time"));
  EXPECT_THAT(exporter.output(), HasSubstr("blocking_read"));
}

TEST(ExporterLifecycleTest, AttachesThroughLadderCountsTrafficAndDetachesOnSigterm) {
  NETOBS_REQUIRE_ROOT();
  setenv("NETOBS_SELFTEST_TGID", std::to_string(getpid()).c_str(), 1);
  // BPF run-time stats are opt-in (machine-wide cost): this test turns them on.
  // Scrapes go through curl so that they are not bytes sent by this process.
  testing::ExporterProcess exporter({.collectors = {"snmp"},
                                     .config_yaml = "exporter:\n  bpf_stats: true\n",
                                     .scrape_with_curl = true,
                                     .binary = testbed_binary()});
  ASSERT_TRUE(exporter.wait_ready("/healthz", 30)) << exporter.output();

  std::string before = exporter.scrape();
  EXPECT_EQ(testing::metric_value(before, "netobs_scrape_collector_success",
                                  "collector=\"bpf_selftest\""),
            1)
      << before << exporter.output();
  EXPECT_EQ(
      testing::metric_value(before, "netobs_bpf_program_attached",
                            "attach=\"tp_btf\",collector=\"bpf_selftest\",program=\"sock_send\""),
      1)
      << before;
  const double bytes_before =
      testing::metric_value(before, "netobs_selftest_sent_bytes_total").value_or(-1);

  const size_t kBytes = 123457;
  send_loopback_bytes(kBytes);
  std::string after = exporter.scrape();
  EXPECT_EQ(testing::metric_value(after, "netobs_selftest_sent_bytes_total"), bytes_before + kBytes)
      << after;
  // BPF run-time stats were enabled by the exporter: the program has run.
  EXPECT_GT(testing::metric_value(after, "netobs_bpf_program_run_count_total",
                                  "collector=\"bpf_selftest\",program=\"sock_send\"")
                .value_or(0),
            0)
      << after;
  EXPECT_EQ(testing::metric_value(after, "netobs_bpf_map_capacity",
                                  "collector=\"bpf_selftest\",map=\"send_totals\""),
            2);
  auto landing = testing::http_request("127.0.0.1", exporter.port(), "/");  // after the byte check
  ASSERT_TRUE(landing);
  EXPECT_THAT(landing->body, HasSubstr("sock_send (tp_btf)"));

  const std::set<int> ids = bpf_prog_ids_of(exporter.process().pid());
  ASSERT_FALSE(ids.empty());
  ASSERT_EQ(exporter.terminate(30), 0) << exporter.output();
  // Every program the exporter held is gone from the kernel.
  for (int id : ids) EXPECT_TRUE(program_gone(id)) << "program " << id << " still loaded";
}

TEST(ExporterLifecycleTest, WithoutCapBpfTheBpfCollectorReportsZeroAndOthersServe) {
  NETOBS_REQUIRE_ROOT();
  const int port = testing::free_tcp_port();
  // Drop the capabilities BPF needs from the bounding set: the exporter runs
  // as root but without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN.
  testing::Subprocess exporter(
      {"capsh", "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c",
       "exec " + testbed_binary() + " --web.listen-address=127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(testing::wait_for_http(port, "/healthz", 30)) << exporter.output();
  std::string text = scrape(port);
  EXPECT_EQ(
      testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"bpf_selftest\""),
      0)
      << text;
  EXPECT_EQ(testing::metric_value(text, "netobs_scrape_collector_success", "collector=\"snmp\""), 1)
      << text;
  EXPECT_THAT(exporter.output(), HasSubstr("collector=bpf_selftest"));
  EXPECT_THAT(exporter.output(), HasSubstr("CAP_BPF"));
  exporter.signal(SIGTERM);
  EXPECT_EQ(exporter.wait(30), 0) << exporter.output();
}

}  // namespace
}  // namespace netobs
