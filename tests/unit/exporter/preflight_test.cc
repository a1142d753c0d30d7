// Preflight parsing and messages against fake /proc and /sys trees (no root).
#include "exporter/bpf/preflight.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "exporter/log.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// /proc/mounts of the development machine: cgroup v1 hierarchies
// under a tmpfs /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified, no tracefs.
constexpr char kDevMachineMounts[] =
    "proc /proc proc rw,relatime 0 0\n"
    "sysfs /sys sysfs rw,relatime 0 0\n"
    "/dev/vda / ext4 rw,relatime,discard 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
    "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

// Root on the development machine: everything but CAP_SYS_RESOURCE (bit 24).
constexpr char kRootStatus[] =
    "Name:\tnetobs\nUmask:\t0022\nState:\tR (running)\n"
    "CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n"
    "CapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n";

std::string status_with_cap_eff(const std::string& mask) {
  return "Name:\tnetobs\nCapInh:\t0000000000000000\nCapEff:\t" + mask + "\nCapBnd:\t0\n";
}

TEST(ParseMounts, SplitsFieldsAndDecodesOctalEscapes) {
  auto mounts = parse_mounts(
      "tracefs /sys/kernel/tracing tracefs rw,nosuid 0 0\n"
      "\n"
      "none /mnt/with\\040space\\011tab tmpfs rw 0 0\n"
      "truncated-line\n"
      "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].source, "tracefs");
  EXPECT_EQ(mounts[0].mount_point, "/sys/kernel/tracing");
  EXPECT_EQ(mounts[0].fs_type, "tracefs");
  EXPECT_EQ(mounts[0].options, "rw,nosuid");
  EXPECT_EQ(mounts[1].mount_point, "/mnt/with space\ttab");
  EXPECT_EQ(mounts[2].fs_type, "cgroup2");
  EXPECT_EQ(mounts[2].mount_point, "/sys/fs/cgroup");
}

TEST(FindCgroup2Mount, FindsTheUnifiedHierarchyOfTheDevMachine) {
  auto found = find_cgroup2_mount(parse_mounts(kDevMachineMounts));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "/sys/fs/cgroup/unified");
}

TEST(FindCgroup2Mount, PrefersSysFsCgroupAndReportsAbsence) {
  auto both =
      parse_mounts("cgroup2 /run/other cgroup2 rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
  EXPECT_EQ(find_cgroup2_mount(both).value_or(""), "/sys/fs/cgroup");
  EXPECT_FALSE(find_cgroup2_mount(parse_mounts("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n")));
}

TEST(FindTracefsMount, PrefersSysKernelTracingThenDebugfsThenAny) {
  EXPECT_FALSE(find_tracefs_mount(parse_mounts(kDevMachineMounts)));
  auto debug_only = parse_mounts(
      "tracefs /custom/trace tracefs rw 0 0\n"
      "tracefs /sys/kernel/debug/tracing tracefs rw 0 0\n");
  EXPECT_EQ(find_tracefs_mount(debug_only).value_or(""), "/sys/kernel/debug/tracing");
  auto both = parse_mounts(
      "tracefs /sys/kernel/debug/tracing tracefs rw 0 0\n"
      "tracefs /sys/kernel/tracing tracefs rw 0 0\n");
  EXPECT_EQ(find_tracefs_mount(both).value_or(""), "/sys/kernel/tracing");
  EXPECT_EQ(find_tracefs_mount(parse_mounts("nodev /custom/trace tracefs rw 0 0\n")).value_or(""),
            "/custom/trace");
  // A tracing directory that is not tracefs does not count.
  EXPECT_FALSE(find_tracefs_mount(parse_mounts("none /sys/kernel/tracing tmpfs rw 0 0\n")));
}

TEST(ParseCapEff, ReadsTheHexMask) {
  EXPECT_EQ(parse_cap_eff(kRootStatus).value_or(0), 0x000001fffeffffffULL);
  EXPECT_EQ(parse_cap_eff(status_with_cap_eff("0000000000000000")).value_or(1), 0u);
  EXPECT_EQ(parse_cap_eff(status_with_cap_eff("000000c000001000")).value_or(0),
            0x000000c000001000ULL);
  EXPECT_FALSE(parse_cap_eff("Name:\tx\nCapPrm:\t0\n"));
  EXPECT_FALSE(parse_cap_eff(status_with_cap_eff("zz")));
  EXPECT_FALSE(parse_cap_eff(status_with_cap_eff("00000000000000000")));  // 17 digits
}

TEST(ApplyCapabilities, MapsTheBitsWeNeed) {
  PreflightReport report;
  apply_capabilities(0x000001fffeffffffULL, report);
  EXPECT_TRUE(report.cap_bpf);
  EXPECT_TRUE(report.cap_perfmon);
  EXPECT_TRUE(report.cap_sys_admin);
  EXPECT_TRUE(report.cap_net_admin);
  EXPECT_TRUE(report.has_bpf_privileges());

  apply_capabilities((1ULL << kCapBpf) | (1ULL << kCapPerfmon), report);
  EXPECT_TRUE(report.has_bpf_privileges());
  EXPECT_FALSE(report.cap_sys_admin);
  EXPECT_FALSE(report.cap_net_admin);

  apply_capabilities(1ULL << kCapBpf, report);
  EXPECT_FALSE(report.has_bpf_privileges());
  apply_capabilities(1ULL << kCapSysAdmin, report);
  EXPECT_TRUE(report.has_bpf_privileges());
}

// A fake machine: proc/ and sys/ under a temp dir.
class FakeMachine {
 public:
  FakeMachine(const std::string& mounts, const std::string& status, bool with_btf) {
    dir_.write("proc/mounts", mounts);
    dir_.write("proc/self/status", status);
    dir_.write("proc/sys/kernel/osrelease", "6.18.44-test\n");
    dir_.write("proc/sys/kernel/bpf_stats_enabled", "0\n");
    dir_.write("sys/kernel/.keep", "");
    if (with_btf) dir_.write("sys/kernel/btf/vmlinux", "BTF");
  }
  PreflightOptions options() const {
    PreflightOptions options;
    options.allow_mount = false;
    options.proc_root = dir_.path() + "/proc";
    options.sys_root = dir_.path() + "/sys";
    return options;
  }
  std::string sys() const { return dir_.path() + "/sys"; }
  std::string proc() const { return dir_.path() + "/proc"; }
  void write(const std::string& name, const std::string& content) { dir_.write(name, content); }

 private:
  testing::TempDir dir_;
};

TEST(RunPreflight, ReadsAFakeRootMachine) {
  FakeMachine machine(kDevMachineMounts, kRootStatus, /*with_btf=*/true);
  PreflightReport report = run_preflight(machine.options());
  EXPECT_EQ(report.kernel_release, "6.18.44-test");
  EXPECT_TRUE(report.btf_present);
  EXPECT_EQ(report.btf_path, machine.sys() + "/kernel/btf/vmlinux");
  EXPECT_TRUE(report.caps_known);
  EXPECT_EQ(report.cap_effective, 0x000001fffeffffffULL);
  EXPECT_TRUE(report.has_bpf_privileges());
  EXPECT_TRUE(report.cap_net_admin);
  EXPECT_FALSE(report.tracefs_mounted);
  EXPECT_FALSE(report.tracefs_mounted_by_us);
  EXPECT_EQ(report.tracefs_path, machine.sys() + "/kernel/tracing");
  EXPECT_EQ(report.tracefs_error, "not mounted, and mounting it is disabled");
  EXPECT_TRUE(report.cgroup2_mounted);
  EXPECT_EQ(report.cgroup2_path, "/sys/fs/cgroup/unified");
  EXPECT_FALSE(report.kprobes_available);
  EXPECT_FALSE(report.bpf_stats_sysctl);
  EXPECT_TRUE(report.bpf_stats_possible);  // CAP_SYS_ADMIN
  EXPECT_EQ(report.mounts_path, machine.proc() + "/mounts");
}

TEST(RunPreflight, FindsTracefsKprobesAndStatsSysctl) {
  const std::string mounts =
      std::string(kDevMachineMounts) + "tracefs /sys/kernel/tracing tracefs rw 0 0\n";
  FakeMachine machine(mounts, status_with_cap_eff("0000000000000000"), /*with_btf=*/false);
  machine.write("sys/bus/event_source/devices/kprobe/type", "6\n");
  machine.write("proc/sys/kernel/bpf_stats_enabled", "1\n");
  // The fake sys root is not /sys, so the real tracefs line does not match
  // the preferred paths but still counts as "any tracefs mount".
  PreflightReport report = run_preflight(machine.options());
  EXPECT_FALSE(report.btf_present);
  EXPECT_FALSE(report.has_bpf_privileges());
  EXPECT_TRUE(report.tracefs_mounted);
  EXPECT_EQ(report.tracefs_path, "/sys/kernel/tracing");
  EXPECT_TRUE(report.kprobes_available);
  EXPECT_TRUE(report.bpf_stats_sysctl);
  EXPECT_TRUE(report.bpf_stats_possible);
}

TEST(RunPreflight, WithoutSysAdminDoesNotTryToMount) {
  FakeMachine machine(kDevMachineMounts, status_with_cap_eff("000000c000001000"), true);
  PreflightOptions options = machine.options();
  options.allow_mount = true;
  PreflightReport report = run_preflight(options);
  EXPECT_TRUE(report.has_bpf_privileges());  // CAP_BPF + CAP_PERFMON
  EXPECT_FALSE(report.cap_sys_admin);
  EXPECT_FALSE(report.tracefs_mounted);
  EXPECT_EQ(report.tracefs_error, "not mounted, and mounting it needs CAP_SYS_ADMIN");
  EXPECT_FALSE(report.bpf_stats_possible);
}

TEST(RunPreflight, MissingFilesLeaveFieldsEmpty) {
  testing::TempDir empty;
  PreflightOptions options;
  options.allow_mount = false;
  options.proc_root = empty.path() + "/proc";
  options.sys_root = empty.path() + "/sys";
  PreflightReport report = run_preflight(options);
  EXPECT_EQ(report.kernel_release, "");
  EXPECT_FALSE(report.caps_known);  // no capget fallback for a fake proc root
  EXPECT_FALSE(report.has_bpf_privileges());
  EXPECT_FALSE(report.cgroup2_mounted);
  EXPECT_FALSE(report.btf_present);
}

const std::vector<Requirement> kAll = {Requirement::kBtf,      Requirement::kBpfPrivileges,
                                       Requirement::kNetAdmin, Requirement::kNetRaw,
                                       Requirement::kTracefs,  Requirement::kCgroup2};

TEST(MissingRequirements, NamesEveryMissingPieceAndItsFix) {
  PreflightReport report;
  report.btf_path = "/sys/kernel/btf/vmlinux";
  report.tracefs_path = "/sys/kernel/tracing";
  report.tracefs_error = "not mounted, and mounting it needs CAP_SYS_ADMIN";
  report.mounts_path = "/proc/mounts";
  std::vector<std::string> expected = {
      "kernel BTF not found at /sys/kernel/btf/vmlinux: needs CONFIG_DEBUG_INFO_BTF=y",
      "missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run as root or grant them (systemd: "
      "AmbientCapabilities=CAP_BPF CAP_PERFMON)",
      "missing CAP_NET_ADMIN (XDP and socket filters need it): run as root or grant it (systemd: "
      "AmbientCapabilities=CAP_NET_ADMIN)",
      "missing CAP_NET_RAW (packet sockets need it): run as root or grant it (systemd: "
      "AmbientCapabilities=CAP_NET_RAW)",
      "tracefs not mounted at /sys/kernel/tracing: mount it with `mount -t tracefs tracefs "
      "/sys/kernel/tracing` or run with CAP_SYS_ADMIN so netobs mounts it (not mounted, and "
      "mounting it needs CAP_SYS_ADMIN)",
      "no cgroup2 mount in /proc/mounts: mount one with `mount -t cgroup2 none /sys/fs/cgroup`"};
  EXPECT_EQ(missing_requirements(report, kAll), expected);
  // Only what was asked for.
  EXPECT_EQ(missing_requirements(report, {Requirement::kBtf}),
            std::vector<std::string>{expected[0]});
  EXPECT_TRUE(missing_requirements(report, {}).empty());
}

TEST(MissingRequirements, NamesTheOneMissingBpfCapability) {
  PreflightReport report;
  report.cap_bpf = true;
  EXPECT_EQ(
      missing_requirements(report, {Requirement::kBpfPrivileges}),
      std::vector<std::string>{"missing CAP_PERFMON (or CAP_SYS_ADMIN): run as root or "
                               "grant it (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON)"});
  report.cap_bpf = false;
  report.cap_perfmon = true;
  EXPECT_EQ(
      missing_requirements(report, {Requirement::kBpfPrivileges}),
      std::vector<std::string>{"missing CAP_BPF (or CAP_SYS_ADMIN): run as root or "
                               "grant it (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON)"});
}

TEST(MissingRequirements, NamesTheSysctlsThatMakeACapabilityNecessary) {
  PreflightReport report;
  report.unprivileged_bpf_disabled = 2;
  report.perf_event_paranoid = 2;
  EXPECT_EQ(missing_requirements(report, {Requirement::kBpfPrivileges}),
            std::vector<std::string>{
                "missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run as root or grant them "
                "(systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON); "
                "kernel.unprivileged_bpf_disabled is 2: bpf() is refused to any process without "
                "CAP_BPF; kernel.perf_event_paranoid is 2: system-wide perf events (tracepoints, "
                "kprobes) need CAP_PERFMON"});
  // Sysctls that let everyone through are not named.
  report.unprivileged_bpf_disabled = 0;
  report.perf_event_paranoid = -1;
  EXPECT_THAT(missing_requirements(report, {Requirement::kBpfPrivileges})[0],
              Not(HasSubstr("kernel.")));
  EXPECT_EQ(permission_hint(report, EPERM, true),
            ": missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN). Fix: run as root or grant the "
            "capabilities (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON)");
  EXPECT_EQ(permission_hint(report, ENOENT, true), "");
}

TEST(MissingRequirements, ARootOnlyTracefsIsNamedWithItsModeAndTheFix) {
  PreflightReport report;
  report.tracefs_mounted = true;
  report.tracefs_path = "/sys/kernel/tracing";
  report.tracefs_readable = false;
  report.tracefs_mode = 0700;
  report.cap_bpf = report.cap_perfmon = true;
  const std::vector<std::string> missing = missing_requirements(report, {Requirement::kTracefs});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0], tracefs_permission_problem(report));
  EXPECT_THAT(missing[0], HasSubstr("tracefs at /sys/kernel/tracing is not readable by this user "
                                    "(mode 0700, owner uid 0 gid 0"));
  EXPECT_THAT(missing[0], HasSubstr("Fix: run as root, or let the netobs group in: `mount -o "
                                    "remount,gid=<netobs group>,mode=0750 /sys/kernel/tracing`"));
  // With the BPF capabilities held, EACCES from perf_event_open is tracefs.
  EXPECT_EQ(permission_hint(report, EACCES, true), ": " + missing[0]);
  report.tracefs_readable = true;
  EXPECT_TRUE(missing_requirements(report, {Requirement::kTracefs}).empty());
  EXPECT_EQ(tracefs_permission_problem(report), "");
}

TEST(MissingRequirements, EmptyWhenEverythingIsThere) {
  PreflightReport report;
  report.btf_present = true;
  report.cap_sys_admin = true;
  report.cap_net_admin = true;
  report.cap_net_raw = true;
  report.tracefs_mounted = true;
  report.cgroup2_mounted = true;
  EXPECT_TRUE(missing_requirements(report, kAll).empty());
}

TEST(LogPreflight, LogsSummaryAndEachMissingPieceOnce) {
  FakeMachine machine(kDevMachineMounts, status_with_cap_eff("0000000000000000"), false);
  PreflightReport report = run_preflight(machine.options());
  std::string text;
  capture_log_for_test(&text);
  log_preflight(report);
  capture_log_for_test(nullptr);
  EXPECT_NE(text.find("level=info msg=preflight kernel=6.18.44-test btf=no bpf_privileges=no "
                      "net_admin=no net_raw=no tracefs=no cgroup2=/sys/fs/cgroup/unified"),
            std::string::npos)
      << text;
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("level=warn"), 5u) << text;  // btf, bpf caps, net_admin, net_raw, tracefs
  EXPECT_EQ(count("requirement=btf"), 1u);
  EXPECT_EQ(count("requirement=tracefs"), 1u);
  EXPECT_EQ(count("requirement=cgroup2"), 0u);
}

}  // namespace
}  // namespace netobs
