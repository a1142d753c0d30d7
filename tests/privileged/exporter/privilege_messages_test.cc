// Privilege failures name their real cause and the fix, in `netobs check`
// and in the exporter's log, for a non-root user made for the test (removed
// at the end) and run through setpriv as the packaged service runs: without
// capabilities (the missing capability, kernel.unprivileged_bpf_disabled,
// kernel.perf_event_paranoid) and with the service's capabilities against a
// root-only tracefs (the syscall tracepoints of syscall_details). The truth
// is the machine itself: the sysctls and the tracefs mount point's mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A system user and group of its own, deleted on destruction.
class TempUser {
 public:
  TempUser() : name_("nbops" + std::to_string(getpid())) {
    const auto result = testing::run_command({"useradd", "--system", "--no-create-home", "--shell",
                                              "/usr/sbin/nologin", "--user-group", name_});
    created_ = result.exit_code == 0;
    if (!created_) ADD_FAILURE() << "useradd " << name_ << " failed: " << result.output;
  }
  ~TempUser() {
    if (created_) testing::run_command({"userdel", name_});
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool created_ = false;
};

std::optional<int> sysctl(const std::string& name) {
  std::ifstream in("/proc/sys/kernel/" + name);
  int value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// The service's capabilities (packaging/netobs.service), in setpriv's words.
constexpr const char* kServiceCaps = "+bpf,+perfmon,+net_admin,+net_raw";

class PrivilegeMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETOBS_REQUIRE_ROOT();
    // Readable by the user: the config and the directory holding it.
    std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755));
    config_ = dir_.path() + "/netobs.yaml";
    std::ofstream(config_) << "collectors:\n  socket:\n    syscall_details: true\n";
    std::filesystem::permissions(config_, std::filesystem::perms(0644));
  }

  // argv as the user, with exactly `caps` ("" for none).
  testing::CommandResult run_as(const std::string& caps, const std::vector<std::string>& argv) {
    const std::string set = caps.empty() ? "-all" : "-all," + caps;
    std::vector<std::string> full = {"setpriv",
                                     "--reuid=" + user_.name(),
                                     "--regid=" + user_.name(),
                                     "--init-groups",
                                     "--inh-caps=" + set,
                                     "--ambient-caps=" + set,
                                     "--bounding-set=" + set,
                                     "--no-new-privs",
                                     "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return testing::run_command(full, 60);
  }

  TempUser user_;
  testing::TempDir dir_;
  std::string config_;
};

TEST_F(PrivilegeMessagesTest, WithoutCapabilitiesCheckNamesTheCapabilitiesAndTheSysctls) {
  const auto check = run_as("", {testing::cli_binary(), "check", "--config.file", config_});
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_THAT(check.output,
              HasSubstr("missing: missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): "
                        "run as root or grant them"))
      << check.output;
  const std::optional<int> unprivileged = sysctl("unprivileged_bpf_disabled");
  ASSERT_TRUE(unprivileged.has_value());
  if (*unprivileged != 0) {
    EXPECT_THAT(check.output,
                HasSubstr("kernel.unprivileged_bpf_disabled is " + std::to_string(*unprivileged) +
                          ": bpf() is refused to any process without CAP_BPF"))
        << check.output;
    EXPECT_THAT(check.output, HasSubstr("without CAP_BPF, bpf() is refused: grant CAP_BPF"));
  }
  const std::optional<int> paranoid = sysctl("perf_event_paranoid");
  ASSERT_TRUE(paranoid.has_value());
  if (*paranoid > -1) {
    EXPECT_THAT(check.output,
                HasSubstr("kernel.perf_event_paranoid is " + std::to_string(*paranoid) +
                          ": system-wide perf events (tracepoints, kprobes) need "
                          "CAP_PERFMON"))
        << check.output;
  }
}

// With the service's capabilities every default program attaches (tp_btf,
// raw_tp: no tracefs); only the classic syscall tracepoints of
// syscall_details need tracefs, which recent kernels mount root-only.
TEST_F(PrivilegeMessagesTest, WithCapabilitiesARootOnlyTracefsIsNamedWithTheFix) {
  struct stat st {};
  ASSERT_EQ(stat("/sys/kernel/tracing", &st), 0) << "tracefs is not at /sys/kernel/tracing";
  // The user is in no group of the mount point's: only the "other" bits count.
  const bool readable = (st.st_mode & S_IXOTH) != 0;
  const auto check =
      run_as(kServiceCaps, {testing::cli_binary(), "check", "--config.file", config_});
  if (readable) {
    EXPECT_THAT(check.output, HasSubstr("mounted at /sys/kernel/tracing")) << check.output;
    return;
  }
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
  const std::string problem = "tracefs at /sys/kernel/tracing is not readable by this user (mode " +
                              std::string(mode) + ", owner uid " + std::to_string(st.st_uid);
  EXPECT_THAT(check.output, HasSubstr("NOT READABLE: " + problem)) << check.output;
  EXPECT_THAT(check.output, HasSubstr("cannot read tracepoint syscalls:sys_")) << check.output;
  EXPECT_THAT(check.output, HasSubstr("Fix: run as root, or let the netobs group in: `mount -o "
                                      "remount,gid=<netobs group>,mode=0750 /sys/kernel/tracing`"));
  EXPECT_THAT(check.output, Not(HasSubstr("EACCES)"))) << "the bare errno is not the message";

  // The exporter says the same when the socket collector starts.
  const auto exporter = run_as(
      kServiceCaps, {"timeout", "-s", "TERM", "8", testing::exporter_binary(), "--config.file",
                     config_, "--collector.disable-defaults", "--collector.socket",
                     "--web.listen-address=127.0.0.1:" + std::to_string(20000 + getpid() % 20000)});
  EXPECT_THAT(exporter.output, HasSubstr("cannot read tracepoint syscalls:sys_"))
      << exporter.output;
  EXPECT_THAT(exporter.output, HasSubstr(problem)) << exporter.output;
}

}  // namespace
}  // namespace netobs
