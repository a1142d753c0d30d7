// Pure parts of the BPF support library (no root, no kernel): log2 slots
// shared with BPF code, attach kind names, libbpf log routing.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "bpf/lib/log2_slot.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/log.h"

namespace netobs {
namespace {

TEST(Log2Slot, MatchesBccLayout) {
  EXPECT_EQ(netobs_log2_slot(0, 64), 0u);
  EXPECT_EQ(netobs_log2_slot(1, 64), 1u);
  EXPECT_EQ(netobs_log2_slot(2, 64), 2u);
  EXPECT_EQ(netobs_log2_slot(3, 64), 2u);
  EXPECT_EQ(netobs_log2_slot(4, 64), 3u);
  EXPECT_EQ(netobs_log2_slot(1023, 64), 10u);
  EXPECT_EQ(netobs_log2_slot(1024, 64), 11u);
  EXPECT_EQ(netobs_log2_slot(0xFFFFFFFFULL, 64), 32u);
  EXPECT_EQ(netobs_log2_slot(0x100000000ULL, 64), 33u);
  EXPECT_EQ(netobs_log2_slot(~0ULL, 65), 64u);
}

TEST(Log2Slot, ClampsToTheLastSlot) {
  EXPECT_EQ(netobs_log2_slot(1ULL << 40, 32), 31u);
  EXPECT_EQ(netobs_log2_slot(~0ULL, 32), 31u);
  EXPECT_EQ(netobs_log2_slot(5, 1), 0u);
}

TEST(Log2Slot, EveryValueIsWithinItsSlotBounds) {
  for (__u64 v = 0; v < 70000; ++v) {
    __u32 slot = netobs_log2_slot(v, 64);
    ASSERT_LE(v, netobs_log2_slot_upper(slot)) << v;
    if (slot > 0) {
      ASSERT_GT(v, netobs_log2_slot_upper(slot - 1)) << v;
    }
  }
  for (int bit = 0; bit < 64; ++bit) {
    __u64 v = 1ULL << bit;
    EXPECT_EQ(netobs_log2_u64(v), static_cast<__u32>(bit));
    EXPECT_EQ(netobs_log2_slot(v, 65), static_cast<__u32>(bit + 1));
    EXPECT_EQ(netobs_log2_slot(v - 1 + (bit == 0), 65), static_cast<__u32>(bit == 0 ? 1 : bit));
  }
  EXPECT_EQ(netobs_log2_slot_upper(0), 0u);
  EXPECT_EQ(netobs_log2_slot_upper(1), 1u);
  EXPECT_EQ(netobs_log2_slot_upper(10), 1023u);
  EXPECT_EQ(netobs_log2_slot_upper(64), ~0ULL);
}

TEST(AttachKind, NamesAreTheAttachLabelValues) {
  const AttachKind kinds[] = {AttachKind::kTpBtf,    AttachKind::kRawTp, AttachKind::kTracepoint,
                              AttachKind::kFentry,   AttachKind::kFexit, AttachKind::kKprobe,
                              AttachKind::kKretprobe};
  const char* names[] = {"tp_btf", "raw_tp", "tracepoint", "fentry",
                         "fexit",  "kprobe", "kretprobe"};
  for (size_t i = 0; i < std::size(kinds); ++i) {
    EXPECT_EQ(attach_kind_name(kinds[i]), names[i]);
  }
}

TEST(ErrnoMessage, NamesTheErrno) {
  EXPECT_EQ(errno_message(EPERM), "Operation not permitted (EPERM)");
  EXPECT_EQ(errno_message(ENOENT), "No such file or directory (ENOENT)");
}

TEST(ProbeRung, ExplainsMissingPiecesWithoutTouchingTheKernel) {
  PreflightReport report;  // nothing available
  report.btf_path = "/nonexistent/vmlinux";
  report.tracefs_path = "/sys/kernel/tracing";
  Status tp_btf = probe_rung({AttachKind::kTpBtf, "p", "sock/sock_send_length"}, report);
  EXPECT_EQ(tp_btf.message(),
            "kernel BTF not found at /nonexistent/vmlinux: needs CONFIG_DEBUG_INFO_BTF=y");
  Status tracepoint = probe_rung({AttachKind::kTracepoint, "p", "sock/sock_send_length"}, report);
  EXPECT_EQ(tracepoint.message(),
            "tracefs not mounted at /sys/kernel/tracing: classic tracepoints need it (mount -t "
            "tracefs tracefs /sys/kernel/tracing)");
  Status no_category = probe_rung({AttachKind::kTracepoint, "p", "sock_send_length"}, report);
  EXPECT_EQ(no_category.message(), "tracepoint target 'sock_send_length' must be category/event");
  Status kprobe = probe_rung({AttachKind::kKretprobe, "p", "tcp_sendmsg"}, report);
  EXPECT_NE(kprobe.message().find("built without CONFIG_KPROBES"), std::string::npos);

  std::string reasons;
  HookLadder ladder{"x",
                    {{AttachKind::kTracepoint, "a", "sock/sock_send_length"},
                     {AttachKind::kKprobe, "b", "tcp_sendmsg"}}};
  auto chosen = probe_ladder(ladder, report, &reasons);
  ASSERT_FALSE(chosen);
  EXPECT_EQ(reasons.find("tracepoint sock/sock_send_length: tracefs not mounted"), 0u) << reasons;
  EXPECT_NE(reasons.find("; kprobe tcp_sendmsg: kernel has no kprobe support"), std::string::npos);
  EXPECT_EQ(chosen.message(), "no way to attach x on this kernel: " + reasons);
}

// Plan errors are found before any object is opened (no kernel needed).
class LoadPlanTest : public ::testing::Test {
 protected:
  Result<LadderAttachment> load(const std::vector<HookLadder>& ladders,
                                std::optional<AttachKind> force = std::nullopt) {
    LadderLoadOptions options;
    options.collector = "c";
    options.force_kind = force;
    OpenFreshObject open = [this]() -> Result<bpf_object*> {
      ++opened_;
      return Status::error("not in a unit test");
    };
    return load_with_ladders(ladders, report_, open, options);
  }
  PreflightReport report_;  // nothing available: no BTF, no tracefs, no kprobes
  int opened_ = 0;
};

TEST_F(LoadPlanTest, RefusesAProgramInTwoRungs) {
  HookLadder a{"a", {{AttachKind::kTracepoint, "p", "sock/x"}}};
  HookLadder b{"b", {{AttachKind::kRawTp, "p", "sock/x"}}};
  auto result = load({a, b});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(), "c: program p appears twice in the hook ladders (a, b)");
  EXPECT_EQ(opened_, 0);
}

TEST_F(LoadPlanTest, RefusesAForcedKindTheLadderLacks) {
  auto result = load({{"a", {{AttachKind::kTracepoint, "p", "sock/x"}}}}, AttachKind::kKprobe);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(), "c: ladder a has no kprobe rung");
  EXPECT_EQ(opened_, 0);
}

TEST_F(LoadPlanTest, RequiredLadderWithoutAvailableRungFailsWithReasons) {
  report_.tracefs_path = "/t";
  auto result = load({{"a", {{AttachKind::kTracepoint, "p", "sock/x"}}}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(),
            "c: no way to attach a on this kernel: tracepoint sock/x: tracefs not mounted at /t: "
            "classic tracepoints need it (mount -t tracefs tracefs /t)");
  EXPECT_EQ(opened_, 0);
}

TEST_F(LoadPlanTest, OpenFailureIsReturnedAsIs) {
  HookLadder optional{"a", {{AttachKind::kTracepoint, "p", "sock/x"}}, /*required=*/false};
  auto result = load({optional});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.message(), "not in a unit test");
  EXPECT_EQ(opened_, 1);
}

TEST(LibbpfLogging, MapsLevelsAndTrimsRecords) {
  EXPECT_EQ(libbpf_log_level(LIBBPF_WARN), LogLevel::kWarn);
  EXPECT_EQ(libbpf_log_level(LIBBPF_INFO), LogLevel::kDebug);
  EXPECT_EQ(libbpf_log_level(LIBBPF_DEBUG), LogLevel::kDebug);
  EXPECT_EQ(trim_libbpf_record("libbpf: failed to open x\n"), "failed to open x");
  EXPECT_EQ(trim_libbpf_record("no prefix\r\n\n"), "no prefix");
  EXPECT_EQ(trim_libbpf_record("\n"), "");
}

class LibbpfLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    install_libbpf_logger();
    previous_level_ = log_level();
    capture_log_for_test(&text_);
  }
  void TearDown() override {
    capture_log_for_test(nullptr);
    set_log_level(previous_level_);
  }
  // libbpf warns about an unreadable object file without touching the kernel.
  static void provoke_libbpf_warning() {
    bpf_object* object = bpf_object__open_file("/nonexistent/netobs.bpf.o", nullptr);
    EXPECT_EQ(object, nullptr);
  }
  std::string text_;
  LogLevel previous_level_ = LogLevel::kInfo;
};

TEST_F(LibbpfLoggerTest, WarningsBecomeOneWarnLineEach) {
  set_log_level(LogLevel::kInfo);
  provoke_libbpf_warning();
  EXPECT_NE(text_.find("level=warn msg=\"elf: failed to open /nonexistent/netobs.bpf.o"),
            std::string::npos)
      << text_;
  EXPECT_NE(text_.find("source=libbpf\n"), std::string::npos) << text_;
  EXPECT_EQ(text_.find("libbpf: "), std::string::npos) << text_;
  EXPECT_EQ(text_.find("\n\n"), std::string::npos) << text_;
  EXPECT_EQ(text_.find("level=debug"), std::string::npos) << text_;
}

TEST_F(LibbpfLoggerTest, CaptureDemotesWarningsToDebug) {
  set_log_level(LogLevel::kInfo);
  {
    LibbpfCapture capture;
    provoke_libbpf_warning();
    EXPECT_EQ(capture.text().rfind("elf: failed to open /nonexistent/netobs.bpf.o", 0), 0u)
        << capture.text();
  }
  EXPECT_EQ(text_, "");  // debug records are dropped at info level
  set_log_level(LogLevel::kDebug);
  {
    LibbpfCapture capture;
    provoke_libbpf_warning();
  }
  EXPECT_NE(text_.find("level=debug msg=\"elf: failed to open"), std::string::npos) << text_;
}

}  // namespace
}  // namespace netobs
