// The attach ladder, preflight and BPF stats against the real kernel (root).
// Traffic is this process's own loopback TCP sends; the BPF program counts
// only this tgid, so byte sums are exact.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bpf/lib/log2_slot.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/bpf_stats.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/bpf/skeleton.h"
#include "exporter/log.h"
#include "ladder_test.skel.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

constexpr char kSendTarget[] = "sock/sock_send_length";

HookLadder send_ladder() {
  return {"send_length",
          {{AttachKind::kTpBtf, "on_send_btf", kSendTarget},
           {AttachKind::kRawTp, "on_send_raw", kSendTarget},
           {AttachKind::kTracepoint, "on_send_tp", kSendTarget}}};
}

HookLadder tcp_sendmsg_ladder() {
  return {"tcp_sendmsg",
          {{AttachKind::kFentry, "on_tcp_sendmsg_fentry", "tcp_sendmsg"},
           {AttachKind::kKprobe, "on_tcp_sendmsg_kprobe", "tcp_sendmsg"}}};
}

// Every program off: the loader turns on the chosen rungs only.
Status configure_for_this_process(ladder_test_bpf& skel) {
  skel.rodata->target_tgid = static_cast<__u32>(getpid());
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel.obj) bpf_program__set_autoload(prog, false);
  return Status::ok();
}

LadderLoadOptions options_for(std::optional<AttachKind> force, bool attach = true) {
  LadderLoadOptions options;
  options.collector = "ladder_test";
  options.force_kind = force;
  options.attach = attach;
  return options;
}

Result<LoadedSkeleton<ladder_test_bpf>> load(const std::vector<HookLadder>& ladders,
                                             const PreflightReport& preflight,
                                             const LadderLoadOptions& options) {
  return load_skeleton_with_ladders<ladder_test_bpf>(ladders, preflight, options,
                                                     configure_for_this_process);
}

// Sum over CPUs of one per-CPU array slot.
uint64_t percpu_sum(const bpf_map* map, uint32_t key) {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> values(static_cast<size_t>(cpus), 0);
  int err = bpf_map__lookup_elem(map, &key, sizeof(key), values.data(),
                                 values.size() * sizeof(uint64_t), 0);
  EXPECT_EQ(err, 0) << "lookup in " << bpf_map__name(map);
  return std::accumulate(values.begin(), values.end(), uint64_t{0});
}

constexpr uint32_t kSendSizeSlots = 32;  // SEND_SIZE_SLOTS in ladder_test.bpf.c

// The send-size histogram summed over CPUs.
std::vector<uint64_t> send_size_histogram(const bpf_map* map) {
  const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
  std::vector<uint64_t> values(cpus * kSendSizeSlots, 0);
  const uint32_t key = 0;
  int err = bpf_map__lookup_elem(map, &key, sizeof(key), values.data(),
                                 values.size() * sizeof(uint64_t), 0);
  EXPECT_EQ(err, 0) << "lookup in " << bpf_map__name(map);
  std::vector<uint64_t> hist(kSendSizeSlots, 0);
  for (size_t cpu = 0; cpu < cpus; ++cpu) {
    for (uint32_t slot = 0; slot < kSendSizeSlots; ++slot) {
      hist[slot] += values[cpu * kSendSizeSlots + slot];
    }
  }
  return hist;
}

// A connected loopback TCP pair; sends exactly `total` bytes from this
// process in `chunk`-sized send() calls, draining the peer after each.
struct SendResult {
  uint64_t bytes = 0;
  uint64_t calls = 0;
  std::vector<uint64_t> sizes;  // what each send() returned
};

SendResult send_over_loopback(uint64_t total, size_t chunk) {
  SendResult result;
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener.get(), 1) != 0 ||
      getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "loopback listener: " << errno_message(errno);
    return result;
  }
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect: " << errno_message(errno);
    return result;
  }
  UniqueFd server(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  std::vector<char> out(chunk, 'x'), in(chunk);
  while (result.bytes < total) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, total - result.bytes));
    ssize_t sent = send(client.get(), out.data(), want, MSG_NOSIGNAL);
    ++result.calls;
    if (sent <= 0) {
      ADD_FAILURE() << "send: " << errno_message(errno);
      return result;
    }
    result.bytes += static_cast<uint64_t>(sent);
    result.sizes.push_back(static_cast<uint64_t>(sent));
    for (ssize_t got = 0; got < sent;) {
      ssize_t n = recv(server.get(), in.data(), in.size(), 0);
      if (n <= 0) {
        ADD_FAILURE() << "recv: " << errno_message(errno);
        return result;
      }
      got += n;
    }
  }
  return result;
}

constexpr uint64_t kBytes = 1'000'003;  // odd on purpose: not a multiple of the chunk
constexpr size_t kChunk = 4096;

class BpfLadderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    install_libbpf_logger();
    PreflightOptions options;
    options.allow_mount = true;  // classic tracepoints need tracefs
    preflight_ = run_preflight(options);
  }

  // Loads one forced rung of the send ladder, sends kBytes, checks the sum.
  void expect_exact_bytes(AttachKind kind) {
    auto loaded = load({send_ladder()}, preflight_, options_for(kind));
    ASSERT_TRUE(loaded) << loaded.message();
    const auto& programs = loaded->attachment.programs;
    ASSERT_EQ(programs.size(), 1u);
    EXPECT_EQ(programs[0].program, "send_length");
    EXPECT_EQ(programs[0].attach, attach_kind_name(kind));
    EXPECT_TRUE(programs[0].attached);
    EXPECT_GE(programs[0].prog_fd, 0);

    const bpf_map* totals = loaded->skel->maps.send_totals;
    const uint64_t bytes_before = percpu_sum(totals, 0);
    const uint64_t calls_before = percpu_sum(totals, 1);
    const std::vector<uint64_t> hist_before = send_size_histogram(loaded->skel->maps.send_sizes);
    SendResult sent = send_over_loopback(kBytes, kChunk);
    ASSERT_EQ(sent.bytes, kBytes);
    EXPECT_EQ(percpu_sum(totals, 0) - bytes_before, kBytes) << attach_kind_name(kind);
    EXPECT_EQ(percpu_sum(totals, 1) - calls_before, sent.calls) << attach_kind_name(kind);

    // The kernel's histogram equals the one the same header computes here.
    std::vector<uint64_t> expected(kSendSizeSlots, 0);
    for (uint64_t size : sent.sizes) ++expected[netobs_log2_slot(size, kSendSizeSlots)];
    std::vector<uint64_t> hist = send_size_histogram(loaded->skel->maps.send_sizes);
    for (uint32_t slot = 0; slot < kSendSizeSlots; ++slot) hist[slot] -= hist_before[slot];
    EXPECT_EQ(hist, expected) << attach_kind_name(kind);
    EXPECT_EQ(expected[13], kBytes / kChunk);  // 4096-byte sends: [4096, 8191]
    EXPECT_EQ(expected[10], 1u);               // the 579-byte tail: [512, 1023]
  }

  PreflightReport preflight_;
};

TEST_F(BpfLadderTest, ProbeChoosesTpBtfHere) {
  std::string reasons = "unset";
  auto chosen = probe_ladder(send_ladder(), preflight_, &reasons);
  ASSERT_TRUE(chosen) << chosen.message();
  EXPECT_EQ(*chosen, 0u);
  EXPECT_EQ(reasons, "");
}

TEST_F(BpfLadderTest, EveryTracepointRungProbesAvailable) {
  for (const HookRung& rung : send_ladder().rungs) {
    Status probe = probe_rung(rung, preflight_);
    EXPECT_TRUE(probe) << attach_kind_name(rung.kind) << ": " << probe.message();
  }
}

TEST_F(BpfLadderTest, TpBtfCountsExactBytes) { expect_exact_bytes(AttachKind::kTpBtf); }
TEST_F(BpfLadderTest, RawTpCountsExactBytes) { expect_exact_bytes(AttachKind::kRawTp); }
TEST_F(BpfLadderTest, TracepointCountsExactBytes) {
  ASSERT_TRUE(preflight_.tracefs_mounted) << preflight_.tracefs_error;
  expect_exact_bytes(AttachKind::kTracepoint);
}

TEST_F(BpfLadderTest, UnforcedLoadAttachesTpBtf) {
  auto loaded = load({send_ladder()}, preflight_, options_for(std::nullopt));
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(loaded->attachment.programs[0].attach, "tp_btf");
  EXPECT_EQ(loaded->attachment.rungs[0], 0u);
  EXPECT_EQ(loaded->attachment.links.size(), 1u);
  // Only the chosen rung was loaded.
  EXPECT_LT(bpf_program__fd(loaded->skel->progs.on_send_raw), 0);
  EXPECT_LT(bpf_program__fd(loaded->skel->progs.on_send_tp), 0);
}

TEST_F(BpfLadderTest, FentryProbeSaysUnavailableWithReason) {
  Status probe = probe_rung(tcp_sendmsg_ladder().rungs[0], preflight_);
  ASSERT_FALSE(probe) << "fentry is expected to fail on this kernel (no trampolines: EPERM)";
  EXPECT_THAT(probe.message(), HasSubstr("EPERM"));
  EXPECT_THAT(probe.message(), HasSubstr("tcp_sendmsg"));
  std::printf("fentry reason: %s\n", probe.message().c_str());
}

TEST_F(BpfLadderTest, KprobeProbeSaysUnavailableWithReason) {
  Status probe = probe_rung(tcp_sendmsg_ladder().rungs[1], preflight_);
  ASSERT_FALSE(probe) << "kprobes cannot attach on this kernel (built without CONFIG_KPROBES)";
  EXPECT_THAT(probe.message(), HasSubstr("CONFIG_KPROBES"));
  EXPECT_FALSE(preflight_.kprobes_available);

  std::string reasons;
  auto chosen = probe_ladder(tcp_sendmsg_ladder(), preflight_, &reasons);
  EXPECT_FALSE(chosen);
  EXPECT_THAT(reasons, HasSubstr("fentry tcp_sendmsg: "));
  EXPECT_THAT(reasons, HasSubstr("; kprobe tcp_sendmsg: "));
}

TEST_F(BpfLadderTest, KprobeProgramPassesTheVerifier) {
  auto loaded =
      load({tcp_sendmsg_ladder()}, preflight_, options_for(AttachKind::kKprobe, /*attach=*/false));
  ASSERT_TRUE(loaded) << loaded.message();
  const auto& program = loaded->attachment.programs[0];
  EXPECT_EQ(program.attach, "kprobe");
  EXPECT_FALSE(program.attached);
  EXPECT_GE(program.prog_fd, 0);
  EXPECT_TRUE(loaded->attachment.links.empty());
  EXPECT_LT(bpf_program__fd(loaded->skel->progs.on_tcp_sendmsg_fentry), 0);
}

TEST_F(BpfLadderTest, ForcedKprobeAttachFailsWithReason) {
  auto loaded = load({tcp_sendmsg_ladder()}, preflight_, options_for(AttachKind::kKprobe));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.message(), HasSubstr("forced to kprobe tcp_sendmsg and it failed: attach: "));
}

TEST_F(BpfLadderTest, ForcedFentryLoadFailsWithEperm) {
  auto loaded =
      load({tcp_sendmsg_ladder()}, preflight_, options_for(AttachKind::kFentry, /*attach=*/false));
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.message(), HasSubstr("load: "));
  EXPECT_THAT(loaded.message(), HasSubstr("EPERM"));
}

TEST_F(BpfLadderTest, OptionalLadderWithoutWorkingRungIsSkipped) {
  HookLadder optional = tcp_sendmsg_ladder();
  optional.required = false;
  auto loaded = load({send_ladder(), optional}, preflight_, options_for(std::nullopt));
  ASSERT_TRUE(loaded) << loaded.message();
  const auto& attachment = loaded->attachment;
  ASSERT_EQ(attachment.programs.size(), 2u);
  EXPECT_EQ(attachment.programs[0].attach, "tp_btf");
  EXPECT_TRUE(attachment.programs[0].attached);
  EXPECT_EQ(attachment.programs[1].program, "tcp_sendmsg");
  EXPECT_EQ(attachment.programs[1].attach, "");
  EXPECT_FALSE(attachment.programs[1].attached);
  EXPECT_EQ(attachment.programs[1].prog_fd, -1);
  EXPECT_EQ(attachment.rungs[1], kNoRung);

  HookLadder required = tcp_sendmsg_ladder();
  auto refused = load({send_ladder(), required}, preflight_, options_for(std::nullopt));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.message(), HasSubstr("no way to attach tcp_sendmsg on this kernel"));
}

// A rung that probes fine but is rejected by the verifier: the loader logs
// it, reopens the skeleton and lands on the next rung, still exact.
TEST_F(BpfLadderTest, LoadFailureFallsToNextRung) {
  HookLadder ladder = send_ladder();
  ladder.rungs[0].program = "on_send_btf_rejected";
  std::string log_text;
  capture_log_for_test(&log_text);
  auto loaded = load({ladder}, preflight_, options_for(std::nullopt));
  capture_log_for_test(nullptr);
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(loaded->attachment.programs[0].attach, "raw_tp");
  EXPECT_EQ(loaded->attachment.rungs[0], 1u);
  EXPECT_THAT(log_text, HasSubstr("collector=ladder_test stage=load prog=on_send_btf_rejected "
                                  "attach=tp_btf err=\""));
  EXPECT_THAT(log_text, HasSubstr("verifier: "));
  std::printf("fallback log:\n%s", log_text.c_str());

  const bpf_map* totals = loaded->skel->maps.send_totals;
  const uint64_t before = percpu_sum(totals, 0);
  ASSERT_EQ(send_over_loopback(kBytes, kChunk).bytes, kBytes);
  EXPECT_EQ(percpu_sum(totals, 0) - before, kBytes);
}

// Two ladders in one object, one failing to load: only that one moves down.
TEST_F(BpfLadderTest, LoadFailureIsPinnedOnTheFailingLadder) {
  HookLadder broken = send_ladder();
  broken.name = "send_broken";
  broken.rungs[0].program = "on_send_btf_rejected";
  broken.rungs.erase(broken.rungs.begin() + 2);  // keep on_send_tp out of both
  HookLadder healthy{"send_healthy", {{AttachKind::kTpBtf, "on_send_btf", kSendTarget}}};
  auto loaded = load({broken, healthy}, preflight_, options_for(std::nullopt));
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(loaded->attachment.programs[0].attach, "raw_tp");
  EXPECT_EQ(loaded->attachment.programs[1].attach, "tp_btf");

  // Both programs add to the same map: every byte is counted twice.
  const bpf_map* totals = loaded->skel->maps.send_totals;
  const uint64_t before = percpu_sum(totals, 0);
  ASSERT_EQ(send_over_loopback(kBytes, kChunk).bytes, kBytes);
  EXPECT_EQ(percpu_sum(totals, 0) - before, 2 * kBytes);
}

TEST_F(BpfLadderTest, RunTimeStatsCountRunsAfterTraffic) {
  auto stats = BpfStatsEnabler::enable();
  ASSERT_TRUE(stats) << stats.message();
  EXPECT_GE(stats->fd(), 0);
  // An empty program on the same hook, attached at the same time: the
  // baseline the costs are quoted against (absolute ns drift between machines).
  HookLadder empty_ladder{"send_empty", {{AttachKind::kTpBtf, "on_send_empty", kSendTarget}}};
  auto empty = load({empty_ladder}, preflight_, options_for(std::nullopt));
  ASSERT_TRUE(empty) << empty.message();
  const int empty_fd = empty->attachment.programs[0].prog_fd;
  constexpr size_t kSmallChunk = 64;
  constexpr uint64_t kSends = 20'000;
  for (AttachKind kind : {AttachKind::kTpBtf, AttachKind::kRawTp, AttachKind::kTracepoint}) {
    auto loaded = load({send_ladder()}, preflight_, options_for(kind));
    ASSERT_TRUE(loaded) << loaded.message();
    const int prog_fd = loaded->attachment.programs[0].prog_fd;
    auto before = read_program_runtime(prog_fd);
    auto empty_before = read_program_runtime(empty_fd);
    ASSERT_TRUE(before && empty_before) << before.message() << empty_before.message();
    SendResult sent = send_over_loopback(kSends * kSmallChunk, kSmallChunk);
    auto after = read_program_runtime(prog_fd);
    auto empty_after = read_program_runtime(empty_fd);
    ASSERT_TRUE(after && empty_after) << after.message() << empty_after.message();
    // Other processes' sends run the program too (and are filtered out in it).
    const uint64_t runs = after->run_cnt - before->run_cnt;
    EXPECT_GE(runs, sent.calls) << attach_kind_name(kind);
    EXPECT_GT(after->run_time_ns, before->run_time_ns) << attach_kind_name(kind);
    const uint64_t empty_runs = empty_after->run_cnt - empty_before->run_cnt;
    EXPECT_GE(empty_runs, sent.calls);
    const double ns = static_cast<double>(after->run_time_ns - before->run_time_ns) / runs;
    const double empty_ns =
        static_cast<double>(empty_after->run_time_ns - empty_before->run_time_ns) / empty_runs;
    std::printf("%-10s runs=%llu sends=%llu ns/run=%.1f empty tp_btf ns/run=%.1f ratio=%.2f\n",
                std::string(attach_kind_name(kind)).c_str(), static_cast<unsigned long long>(runs),
                static_cast<unsigned long long>(sent.calls), ns, empty_ns, ns / empty_ns);
  }
}

TEST_F(BpfLadderTest, CountsMapEntries) {
  auto loaded = load({send_ladder()}, preflight_, options_for(std::nullopt));
  ASSERT_TRUE(loaded) << loaded.message();
  // Per-CPU arrays always hold max_entries.
  auto array_entries = count_map_entries(bpf_map__fd(loaded->skel->maps.send_totals));
  ASSERT_TRUE(array_entries) << array_entries.message();
  EXPECT_EQ(*array_entries, 2u);
  auto hist_entries = count_map_entries(bpf_map__fd(loaded->skel->maps.send_sizes));
  ASSERT_TRUE(hist_entries) << hist_entries.message();
  EXPECT_EQ(*hist_entries, 1u);

  UniqueFd hash(bpf_map_create(BPF_MAP_TYPE_HASH, "netobs_count", sizeof(uint32_t),
                               sizeof(uint64_t), 8, nullptr));
  ASSERT_TRUE(hash.valid()) << errno_message(errno);
  auto empty = count_map_entries(hash.get());
  ASSERT_TRUE(empty) << empty.message();
  EXPECT_EQ(*empty, 0u);
  for (uint32_t key = 0; key < 5; ++key) {
    uint64_t value = key;
    ASSERT_EQ(bpf_map_update_elem(hash.get(), &key, &value, BPF_ANY), 0);
  }
  auto five = count_map_entries(hash.get());
  ASSERT_TRUE(five) << five.message();
  EXPECT_EQ(*five, 5u);
  for (uint32_t key = 5; key < 8; ++key) {
    uint64_t value = key;
    ASSERT_EQ(bpf_map_update_elem(hash.get(), &key, &value, BPF_ANY), 0);
  }
  auto full = count_map_entries(hash.get());
  ASSERT_TRUE(full) << full.message();
  EXPECT_EQ(*full, 8u);

  UniqueFd ringbuf(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "netobs_rb", 0, 0, 4096, nullptr));
  ASSERT_TRUE(ringbuf.valid()) << errno_message(errno);
  EXPECT_FALSE(count_map_entries(ringbuf.get()));
}

// Mount point of the first cgroup2 line of /proc/mounts, read independently.
std::string cgroup2_from_proc_mounts() {
  std::ifstream in("/proc/mounts");
  std::string source, point, type, rest;
  while (in >> source >> point >> type && std::getline(in, rest)) {
    if (type == "cgroup2") return point;
  }
  return "";
}

TEST_F(BpfLadderTest, PreflightReportDescribesThisMachine) {
  utsname uts{};
  ASSERT_EQ(uname(&uts), 0);
  EXPECT_EQ(preflight_.kernel_release, uts.release);
  EXPECT_TRUE(preflight_.btf_present);
  EXPECT_EQ(preflight_.btf_path, "/sys/kernel/btf/vmlinux");
  EXPECT_TRUE(preflight_.caps_known);
  EXPECT_TRUE(preflight_.has_bpf_privileges());
  EXPECT_TRUE(preflight_.cap_sys_admin);
  EXPECT_TRUE(preflight_.cap_net_admin);
  EXPECT_TRUE(preflight_.tracefs_mounted) << preflight_.tracefs_error;
  EXPECT_EQ(preflight_.tracefs_path, "/sys/kernel/tracing");
  const std::string cgroup2 = cgroup2_from_proc_mounts();
  ASSERT_FALSE(cgroup2.empty()) << "no cgroup2 in /proc/mounts";
  EXPECT_TRUE(preflight_.cgroup2_mounted);
  EXPECT_EQ(preflight_.cgroup2_path, cgroup2);
  EXPECT_TRUE(preflight_.bpf_stats_possible);
  EXPECT_TRUE(missing_requirements(preflight_, {Requirement::kBtf, Requirement::kBpfPrivileges,
                                                Requirement::kNetAdmin, Requirement::kTracefs,
                                                Requirement::kCgroup2})
                  .empty());
  // Now tracefs is mounted, a second run finds it instead of mounting again.
  PreflightReport again = run_preflight();
  EXPECT_TRUE(again.tracefs_mounted);
  EXPECT_FALSE(again.tracefs_mounted_by_us);
  std::printf("preflight: kernel=%s cgroup2=%s tracefs=%s mounted_by_us=%d\n",
              preflight_.kernel_release.c_str(), preflight_.cgroup2_path.c_str(),
              preflight_.tracefs_path.c_str(), preflight_.tracefs_mounted_by_us ? 1 : 0);
}

}  // namespace
}  // namespace netobs
