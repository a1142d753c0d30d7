// The socket collector end to end on the real kernel (root): the exporter
// with only the socket collector, the project's own traffic script
// (netobs_socket_script, comm "netobs_socket_s") as the workload. Every
// operation the script makes is compared with the exporter's /metrics
// (exact counts for that comm) and with its CSV rows (exact fields); then
// the ring buffer overflow accounting, comm folding and `netobs trace`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>

#include "collectors/socket/socket_format.h"
#include "tests/support/exporter_process.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kComm[] = "netobs_socket_s";

std::string script_binary() {
  return testing::binary_dir() + "/tests/support/netobs_socket_script";
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) fields.push_back(field);
  if (!line.empty() && line.back() == sep) fields.emplace_back();
  return fields;
}

// One operation as the script printed it.
struct ScriptOp {
  std::string protocol;  // TCP | UDP
  std::string ip_version;
  std::string src, dst, sport, dport, size, direction;
  bool syscall = false;
  std::string error;  // "" on success
  uint32_t flags = 0;
};

struct ScriptRun {
  std::string pid;
  std::vector<ScriptOp> ops;
  std::string output;
};

ScriptRun run_script(const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv = {script_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::CommandResult result = testing::run_command(argv, 60);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  ScriptRun run;
  run.output = result.output;
  std::istringstream in(result.output);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = split(line, '\t');
    if (f.size() == 2 && f[0] == "pid") run.pid = f[1];
    if (f.size() != 12 || f[0] != "op") continue;
    ScriptOp op{f[1],
                f[2],
                f[3],
                f[4],
                f[5],
                f[6],
                f[7],
                f[8],
                f[9] == "1",
                f[10] == "-" ? "" : f[10],
                static_cast<uint32_t>(std::stoul(f[11]))};
    run.ops.push_back(op);
  }
  return run;
}

// A running exporter with the socket collector and a config of our own.
class Exporter {
 public:
  Exporter(const testing::TempDir& dir, const std::string& yaml)
      : exporter_({.collectors = {"socket"}, .config_file = dir.write("netobs.yaml", yaml)}) {}

  bool ready() {
    if (!exporter_.wait_ready("/metrics", 30)) return false;
    const std::string text = scrape();
    return testing::metric_value(
               text, "netobs_bpf_program_attached",
               "attach=\"tp_btf\",collector=\"socket\",program=\"sock_send_length\"") == 1.0;
  }
  std::string scrape() { return exporter_.scrape(); }
  // Waits until the event counter stops moving (the reader drained the ring).
  std::string scrape_settled() {
    std::string text;
    std::optional<double> last;
    for (int i = 0; i < 50; ++i) {
      text = scrape();
      auto written = testing::metric_value(text, "netobs_socket_events_written_total");
      if (written && last && *written == *last) break;
      last = written;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return text;
  }
  std::optional<int> terminate() { return exporter_.terminate(30); }
  std::string log() const { return exporter_.output(); }
  // SIGSTOP/SIGCONT: while stopped, nothing drains the ring buffer.
  void pause() { exporter_.process().signal(SIGSTOP); }
  void resume() { exporter_.process().signal(SIGCONT); }

 private:
  testing::ExporterProcess exporter_;
};

std::vector<std::string> csv_files(const std::string& dir) {
  std::vector<std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every data row of every CSV file under dir, each checked for the header.
std::vector<std::vector<std::string>> csv_rows(const std::string& dir) {
  std::vector<std::vector<std::string>> rows;
  const std::string header = format_csv_header(socket_event_schema());
  for (const auto& file : csv_files(dir)) {
    std::ifstream in(file);
    std::string line;
    EXPECT_TRUE(std::getline(in, line)) << file;
    EXPECT_EQ(line + "\n", header) << file;
    while (std::getline(in, line)) rows.push_back(split(line, ','));
  }
  return rows;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(SocketCollectorTest, ScriptTrafficGivesExactMetricsAndCsvRows) {
  NETOBS_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string events = dir.path() + "/events";
  // Only the script's comm: the machine's other traffic stays out of the
  // ring buffer and the CSV (the comm filter is part of what is tested).
  Exporter exporter(dir, "events:\n  output_dir: " + events +
                             "\ncollectors:\n  socket:\n    comms: [" + kComm + "]\n");
  ASSERT_TRUE(exporter.ready()) << exporter.log();
  const auto started = std::chrono::system_clock::now();
  ScriptRun run = run_script();
  ASSERT_FALSE(run.pid.empty()) << run.output;
  ASSERT_GE(run.ops.size(), 50u) << run.output;
  const std::string text = exporter.scrape_settled();
  ASSERT_EQ(exporter.terminate(), 0) << exporter.log();

  // ---- /metrics: exact counts for the script's comm ----
  std::map<std::tuple<std::string, std::string, std::string>, double> calls, bytes;
  std::map<std::tuple<std::string, std::string, std::string>, double> errors;
  std::map<std::pair<std::string, std::string>, double> flags;
  std::map<std::pair<std::string, std::string>, double> sizes, latencies;
  for (const auto& op : run.ops) {
    const std::string proto = lower(op.protocol);
    calls[{proto, op.ip_version, op.direction}] += 1;
    if (op.error.empty()) {
      if (!(op.flags & MSG_PEEK)) bytes[{proto, op.ip_version, op.direction}] += std::stod(op.size);
      sizes[{proto, op.direction}] += 1;
    } else {
      errors[{proto, op.direction, op.error}] += 1;
    }
    if (op.syscall) latencies[{proto, op.direction}] += 1;
    for (const auto& flag : kSocketFlags) {
      if (op.flags & flag.value) flags[{op.direction, std::string(flag.name)}] += 1;
    }
  }
  const std::string comm = std::string("comm=\"") + kComm + "\"";
  for (const char* proto : {"tcp", "udp"}) {
    for (const char* version : {"4", "6"}) {
      for (const char* direction : {"send", "receive"}) {
        const std::string labels = comm + ",direction=\"" + direction + "\",ip_version=\"" +
                                   version + "\",protocol=\"" + proto + "\"";
        EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", labels),
                  (calls[{proto, version, direction}]))
            << labels;
        EXPECT_EQ(testing::metric_value(text, "netobs_socket_bytes_total", labels),
                  (bytes[{proto, version, direction}]))
            << labels;
      }
    }
    for (const char* direction : {"send", "receive"}) {
      const std::string pd = comm + ",direction=\"" + direction + "\",protocol=\"" + proto + "\"";
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_message_size_bytes_count", pd),
                (sizes[{proto, direction}]))
          << pd;
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_operation_duration_seconds_count", pd),
                (latencies[{proto, direction}]))
          << pd;
      for (uint32_t err : kCommonErrnos) {
        const std::string name = errno_name(err);
        const std::string labels = comm + ",direction=\"" + direction + "\",error=\"" + name +
                                   "\",protocol=\"" + proto + "\"";
        EXPECT_EQ(testing::metric_value(text, "netobs_socket_errors_total", labels),
                  (errors[{proto, direction, name}]))
            << labels;
      }
    }
  }
  // The provoked errors really happened (and are non-zero above).
  EXPECT_EQ((errors[{"tcp", "receive", "EAGAIN"}]), 3);
  EXPECT_EQ((errors[{"tcp", "send", "EPIPE"}]), 1);
  EXPECT_EQ((errors[{"tcp", "receive", "ECONNRESET"}]), 1);
  EXPECT_EQ((errors[{"udp", "receive", "ECONNREFUSED"}]), 1);
  for (const char* direction : {"send", "receive"}) {
    for (const auto& flag : kSocketFlags) {
      const std::string labels =
          comm + ",direction=\"" + direction + "\",flag=\"" + std::string(flag.name) + "\"";
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_msg_flags_total", labels),
                (flags[{direction, std::string(flag.name)}]))
          << labels;
    }
  }
  for (const char* flag :
       {"MSG_DONTWAIT", "MSG_NOSIGNAL", "MSG_MORE", "MSG_PEEK", "MSG_WAITALL", "MSG_OOB"}) {
    EXPECT_GT((flags[{"send", flag}] + flags[{"receive", flag}]), 0) << flag;
  }
  EXPECT_EQ(testing::metric_value(text, "netobs_events_lost_total", "collector=\"socket\""), 0);

  // ---- CSV: one row per operation, in order, every field exact ----
  std::vector<std::vector<std::string>> rows;
  for (auto& row : csv_rows(events)) {
    if (row.size() == 14 && row[2] == kComm) rows.push_back(row);
  }
  ASSERT_EQ(rows.size(), run.ops.size());
  const std::regex timestamp(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})");
  const auto started_s =
      std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count();
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto& op = run.ops[i];
    SCOPED_TRACE("row " + std::to_string(i) + ": " + ::testing::PrintToString(row));
    EXPECT_TRUE(std::regex_match(row[0], timestamp));
    std::tm tm{};
    ASSERT_NE(strptime(row[0].c_str(), "%Y-%m-%d %H:%M:%S", &tm), nullptr);
    const long row_s = static_cast<long>(timegm(&tm));
    EXPECT_GE(row_s, started_s - 1);
    EXPECT_LE(row_s, started_s + 120);
    EXPECT_EQ(row[1], run.pid);
    EXPECT_EQ(row[3], op.protocol);
    EXPECT_EQ(row[4], op.ip_version);
    EXPECT_EQ(row[5], op.src);
    EXPECT_EQ(row[6], op.dst);
    EXPECT_EQ(row[7], op.sport);
    EXPECT_EQ(row[8], op.dport);
    EXPECT_EQ(row[9], op.size);
    EXPECT_EQ(row[10], op.direction);
    EXPECT_EQ(!row[11].empty(), op.syscall) << "latency is empty exactly when unknown";
    if (!row[11].empty()) {
      EXPECT_GT(std::stoull(row[11]), 0u);
    }
    EXPECT_EQ(row[12], op.error);
    EXPECT_EQ(row[13], format_msg_flags(op.flags));
  }
}

// network.include_cidrs / exclude_cidrs, applied in the kernel to the
// peer: the script's IPv4 traffic (127.0.0.1, IPv4-mapped included) is in
// 127.0.0.0/8; its IPv6 traffic (::1) is in the included ::/0 but also in
// the excluded ::1/128, and an exclude wins over a longer or shorter
// include. Unconnected receives (recvfrom, recvmmsg) are counted once the
// kernel wrote their sender: they are IPv4 and must all be there.
TEST(SocketCollectorTest, CidrFiltersKeepOnlyMatchingPeers) {
  NETOBS_REQUIRE_ROOT();
  testing::TempDir dir;
  Exporter exporter(dir, std::string("network:\n  include_cidrs: [\"127.0.0.0/8\", \"::/0\"]\n") +
                             "  exclude_cidrs: [\"::1/128\"]\n" +
                             "collectors:\n  socket:\n    comms: [" + kComm + "]\n");
  ASSERT_TRUE(exporter.ready()) << exporter.log();
  ScriptRun run = run_script();
  ASSERT_GE(run.ops.size(), 50u) << run.output;
  const std::string text = exporter.scrape();
  ASSERT_EQ(exporter.terminate(), 0) << exporter.log();
  std::map<std::pair<std::string, std::string>, double> calls, bytes;
  size_t v6_ops = 0;
  for (const auto& op : run.ops) {
    if (op.ip_version != "4") {
      ++v6_ops;
      continue;
    }
    calls[{lower(op.protocol), op.direction}] += 1;
    if (op.error.empty() && !(op.flags & MSG_PEEK)) {
      bytes[{lower(op.protocol), op.direction}] += std::stod(op.size);
    }
  }
  EXPECT_GT(v6_ops, 0u);
  const std::string comm = std::string("comm=\"") + kComm + "\"";
  for (const char* proto : {"tcp", "udp"}) {
    for (const char* direction : {"send", "receive"}) {
      const std::string labels = comm + ",direction=\"" + direction + "\",ip_version=\"";
      const std::string rest = std::string("\",protocol=\"") + proto + "\"";
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", labels + "4" + rest),
                (calls[{proto, direction}]))
          << labels << "4" << rest;
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_bytes_total", labels + "4" + rest),
                (bytes[{proto, direction}]))
          << labels << "4" << rest;
      EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", labels + "6" + rest), 0)
          << labels << "6" << rest;
    }
  }
}

// Metrics only (no event capture): the default leaves the syscall
// tracepoints off, so nothing taxes the machine's other syscalls; calls,
// bytes and sizes stay exact, and latency and send flags, which only those
// tracepoints give, are absent rather than zero. `syscall_details: true`
// brings them back, exact.
TEST(SocketCollectorTest, SyscallTracepointsOnlyWhenAskedFor) {
  NETOBS_REQUIRE_ROOT();
  for (const bool details : {false, true}) {
    SCOPED_TRACE(details ? "syscall_details: true" : "default (syscall_details: false)");
    testing::TempDir dir;
    Exporter exporter(dir, std::string("collectors:\n  socket:\n    comms: [") + kComm + "]\n" +
                               (details ? "    syscall_details: true\n" : ""));
    ASSERT_TRUE(exporter.ready()) << exporter.log();
    ScriptRun run = run_script();
    ASSERT_GE(run.ops.size(), 50u) << run.output;
    const std::string text = exporter.scrape();
    ASSERT_EQ(exporter.terminate(), 0) << exporter.log();
    EXPECT_THAT(exporter.log(),
                HasSubstr(details ? "syscall tracepoints on" : "syscall tracepoints off"));
    EXPECT_EQ(text.find("program=\"sys_enter_sendto\"") != std::string::npos, details);
    std::map<std::tuple<std::string, std::string, std::string>, double> calls, bytes;
    std::map<std::pair<std::string, std::string>, double> latencies, send_flags;
    for (const auto& op : run.ops) {
      const std::string proto = lower(op.protocol);
      calls[{proto, op.ip_version, op.direction}] += 1;
      if (op.error.empty() && !(op.flags & MSG_PEEK)) {
        bytes[{proto, op.ip_version, op.direction}] += std::stod(op.size);
      }
      if (op.syscall) latencies[{proto, op.direction}] += 1;
      for (const auto& flag : kSocketFlags) {
        if (op.direction == "send" && (op.flags & flag.value))
          send_flags[{"send", std::string(flag.name)}] += 1;
      }
    }
    const std::string comm = std::string("comm=\"") + kComm + "\"";
    for (const char* proto : {"tcp", "udp"}) {
      for (const char* direction : {"send", "receive"}) {
        for (const char* version : {"4", "6"}) {
          const std::string labels = comm + ",direction=\"" + direction + "\",ip_version=\"" +
                                     version + "\",protocol=\"" + proto + "\"";
          EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", labels),
                    (calls[{proto, version, direction}]))
              << labels;
          EXPECT_EQ(testing::metric_value(text, "netobs_socket_bytes_total", labels),
                    (bytes[{proto, version, direction}]))
              << labels;
        }
        const std::string pd = comm + ",direction=\"" + direction + "\",protocol=\"" + proto + "\"";
        const auto latency =
            testing::metric_value(text, "netobs_socket_operation_duration_seconds_count", pd);
        if (details) {
          EXPECT_EQ(latency, (latencies[{proto, direction}])) << pd;
        } else {
          EXPECT_FALSE(latency.has_value()) << pd;
        }
      }
    }
    for (const auto& flag : kSocketFlags) {
      const std::string labels =
          comm + ",direction=\"send\",flag=\"" + std::string(flag.name) + "\"";
      const auto value = testing::metric_value(text, "netobs_socket_msg_flags_total", labels);
      if (details) {
        EXPECT_EQ(value, (send_flags[{"send", std::string(flag.name)}])) << labels;
      } else {
        EXPECT_FALSE(value.has_value()) << labels;
      }
    }
    EXPECT_GT((send_flags[{"send", "MSG_NOSIGNAL"}]), 0) << "the script sends with flags";
  }
}

TEST(SocketCollectorTest, FullRingBufferCountsEveryDroppedEvent) {
  NETOBS_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string events = dir.path() + "/events";
  // One page: room for a few dozen events, a burst of thousands overflows.
  Exporter exporter(dir, "events:\n  output_dir: " + events +
                             "\n  ring_buffer_size: 4096\ncollectors:\n  socket:\n    comms: [" +
                             kComm + "]\n");
  ASSERT_TRUE(exporter.ready()) << exporter.log();
  constexpr int kBurst = 20000;
  // The exporter is stopped during the burst so its reader cannot keep up
  // whatever the machine's speed: the kernel side must drop and count.
  exporter.pause();
  ScriptRun run = run_script({"burst", std::to_string(kBurst)});
  exporter.resume();
  ASSERT_THAT(run.output, HasSubstr("burst\t" + std::to_string(kBurst)));
  const std::string text = exporter.scrape_settled();
  ASSERT_EQ(exporter.terminate(), 0) << exporter.log();
  auto lost = testing::metric_value(text, "netobs_events_lost_total", "collector=\"socket\"");
  ASSERT_TRUE(lost.has_value()) << text;
  size_t rows = 0;
  for (auto& row : csv_rows(events)) rows += row.size() == 14 && row[2] == kComm ? 1 : 0;
  std::cout << "burst of " << kBurst << " events: " << rows << " rows written, " << *lost
            << " lost\n";
  EXPECT_GT(*lost, 0) << "the burst did not overflow the ring buffer";
  EXPECT_EQ(static_cast<double>(rows) + *lost, kBurst);
  // Metrics are not sampled or dropped: every send is counted.
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total",
                                  std::string("comm=\"") + kComm +
                                      "\",direction=\"send\",ip_version=\"4\",protocol=\"udp\""),
            kBurst);
}

TEST(SocketCollectorTest, ProcessesBeyondTheCapFoldIntoOther) {
  NETOBS_REQUIRE_ROOT();
  testing::TempDir dir;
  Exporter exporter(dir,
                    "collectors:\n  socket:\n    max_processes: 1\n"
                    "    comms: [nobs_fold_a, nobs_fold_b, nobs_fold_c]\n");
  ASSERT_TRUE(exporter.ready()) << exporter.log();
  ScriptRun run = run_script({"fold", "nobs_fold_a", "nobs_fold_b", "nobs_fold_c", "nobs_fold_b"});
  const std::string text = exporter.scrape();
  ASSERT_EQ(exporter.terminate(), 0) << exporter.log();
  const std::string rest = ",direction=\"send\",ip_version=\"4\",protocol=\"udp\"";
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", "comm=\"nobs_fold_a\"" + rest),
            1);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", "comm=\"other\"" + rest), 3);
  EXPECT_FALSE(
      testing::metric_value(text, "netobs_socket_calls_total", "comm=\"nobs_fold_b\"" + rest)
          .has_value());
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"socket\",metric=\"comm\""),
            2);
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_folded_operations_total"), 3);
}

TEST(SocketCollectorTest, TraceStreamsFilteredJsonLines) {
  NETOBS_REQUIRE_ROOT();
  testing::Subprocess trace({testing::cli_binary(), "trace", "--format", "json", "--comm", kComm,
                             "--protocol", "udp", "--duration", "6"});
  // The trace says on stderr when its programs are attached.
  for (int i = 0; i < 300 && trace.output().find("tracing") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_THAT(trace.output(), HasSubstr("netobs trace: tracing")) << trace.output();
  ScriptRun run = run_script();
  ASSERT_EQ(trace.wait(30), 0) << trace.output();
  size_t udp_ops = 0;
  for (const auto& op : run.ops) udp_ops += op.protocol == "UDP" ? 1 : 0;
  size_t lines = 0;
  std::istringstream in(trace.output());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    ++lines;
    EXPECT_THAT(line, HasSubstr("\"protocol\":\"UDP\""));
    EXPECT_THAT(line, HasSubstr("\"command\":\"netobs_socket_s\""));
    EXPECT_THAT(line, HasSubstr("\"pid\":" + run.pid + ","));
  }
  EXPECT_EQ(lines, udp_ops) << trace.output();
  EXPECT_THAT(trace.output(), HasSubstr("events written, 0 lost"));
}

// `netobs trace --output DIR`: CSV files in the seed's layout
// DIR/<machine-id>/<start time>/nw/nw_*.csv, and a SIGTERM right after the
// traffic loses no row (the sink is flushed and fsync'd on the way out).
TEST(SocketCollectorTest, TraceOutputDirectoryKeepsEveryRowAcrossSigterm) {
  NETOBS_REQUIRE_ROOT();
  std::ifstream machine_id_file("/etc/machine-id");
  std::string machine_id;
  ASSERT_TRUE(std::getline(machine_id_file, machine_id)) << "no /etc/machine-id";
  testing::TempDir dir;
  const std::string base = dir.path() + "/trace";
  testing::Subprocess trace(
      {testing::cli_binary(), "trace", "--output", base, "--comm", kComm, "--protocol", "tcp"});
  for (int i = 0; i < 300 && trace.output().find("tracing") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_THAT(trace.output(), HasSubstr("netobs trace: tracing")) << trace.output();
  ScriptRun run = run_script();
  trace.signal(SIGTERM);
  ASSERT_EQ(trace.wait(30), 0) << trace.output();

  const std::vector<std::string> files = csv_files(base);
  ASSERT_FALSE(files.empty()) << trace.output();
  const std::regex layout(base + "/" + machine_id + R"(/\d{8}T\d{6}Z/nw/nw_\d+\.csv)");
  for (const auto& file : files) EXPECT_TRUE(std::regex_match(file, layout)) << file;
  std::vector<const ScriptOp*> tcp_ops;
  for (const auto& op : run.ops) {
    if (op.protocol == "TCP") tcp_ops.push_back(&op);
  }
  std::vector<std::vector<std::string>> rows = csv_rows(base);
  ASSERT_EQ(rows.size(), tcp_ops.size()) << trace.output();
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE("row " + std::to_string(i) + ": " + ::testing::PrintToString(rows[i]));
    ASSERT_EQ(rows[i].size(), 14u);
    EXPECT_EQ(rows[i][1], run.pid);
    EXPECT_EQ(rows[i][2], kComm);
    EXPECT_EQ(rows[i][3], "TCP");
    EXPECT_EQ(rows[i][7], tcp_ops[i]->sport);
    EXPECT_EQ(rows[i][8], tcp_ops[i]->dport);
    EXPECT_EQ(rows[i][9], tcp_ops[i]->size);
    EXPECT_EQ(rows[i][10], tcp_ops[i]->direction);
    EXPECT_EQ(rows[i][12], tcp_ops[i]->error);
  }
  EXPECT_THAT(trace.output(), HasSubstr("events written, 0 lost"));
}

TEST(SocketCollectorTest, TraceRejectsBadFlagsWithTheReason) {
  auto bad = testing::run_command({testing::cli_binary(), "trace", "--port", "70000"}, 10);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--port needs a whole number from 1 to 65535"));
  auto comm =
      testing::run_command({testing::cli_binary(), "trace", "--comm", "a_name_longer_than_15"}, 10);
  EXPECT_EQ(comm.exit_code, 2);
  EXPECT_THAT(comm.output, HasSubstr("1 to 15 characters"));
  auto source = testing::run_command({testing::cli_binary(), "trace", "--collector", "snmp"}, 10);
  EXPECT_EQ(source.exit_code, 2);
  EXPECT_THAT(source.output, HasSubstr("--collector \"snmp\" has no events to trace"));
}

}  // namespace
}  // namespace netobs
