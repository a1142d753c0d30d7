// Preflight: what this machine offers the collectors (kernel BTF, capabilities,
// tracefs, cgroup v2, BPF run-time stats), read once at startup on the main
// thread and then shared read-only with every collector's start().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/requirement.h"

namespace netobs {

struct PreflightOptions {
  // Mount tracefs at <sys_root>/kernel/tracing when it is missing and we hold
  // CAP_SYS_ADMIN (classic tracepoints need it).
  bool allow_mount = true;
  // Overridable for tests: where /proc and /sys live.
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
};

struct PreflightReport {
  std::string kernel_release;  // e.g. "6.18.44"; empty when unreadable

  std::string btf_path;  // <sys>/kernel/btf/vmlinux
  bool btf_present = false;

  bool caps_known = false;     // CapEff was readable
  uint64_t cap_effective = 0;  // raw CapEff mask
  bool cap_bpf = false;
  bool cap_perfmon = false;
  bool cap_sys_admin = false;
  bool cap_net_admin = false;
  bool cap_net_raw = false;

  // Where tracefs is mounted, or where netobs would mount it when it is not.
  std::string tracefs_path;
  bool tracefs_mounted = false;
  bool tracefs_mounted_by_us = false;
  std::string tracefs_error;  // why it is missing (mount refused, not allowed, ...)
  // Whether this process may read the tracepoints' ids under tracefs (its
  // mount point is root-only, mode 0700, on recent kernels), and the mount
  // point's mode and owner for messages.
  bool tracefs_readable = true;
  unsigned tracefs_mode = 0;
  unsigned tracefs_uid = 0;
  unsigned tracefs_gid = 0;

  // kernel.perf_event_paranoid and kernel.unprivileged_bpf_disabled; nullopt
  // when unreadable.
  std::optional<int> perf_event_paranoid;
  std::optional<int> unprivileged_bpf_disabled;

  std::string cgroup2_path;  // from /proc/mounts; empty when there is none
  bool cgroup2_mounted = false;

  bool kprobes_available = false;   // kprobe PMU or <tracefs>/kprobe_events exists
  bool bpf_stats_sysctl = false;    // kernel.bpf_stats_enabled is already 1
  bool bpf_stats_possible = false;  // sysctl on, or CAP_SYS_ADMIN for bpf_enable_stats()

  std::string mounts_path;  // the mount table read (for messages)

  // CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN (kernels before 5.8 know only that).
  bool has_bpf_privileges() const { return (cap_bpf && cap_perfmon) || cap_sys_admin; }
};

// Reads the machine; mounts tracefs when allowed and needed (recorded in the report).
PreflightReport run_preflight(const PreflightOptions& options = {});

// Why this process cannot read tracefs and the fixes; "" when it can (or
// tracefs is not mounted: missing_requirements says that).
std::string tracefs_permission_problem(const PreflightReport& report);

// The cause and fix of a permission error (EPERM or EACCES) from bpf()
// (perf_event false) or perf_event_open() (perf_event true, attaching
// tracepoints and kprobes): the missing capability,
// kernel.unprivileged_bpf_disabled, kernel.perf_event_paranoid. Starts with
// ": "; "" for other errors or when the privileges look sufficient.
std::string permission_hint(const PreflightReport& report, int err, bool perf_event);

// One line per missing requirement, each naming the fix; empty when all are met.
std::vector<std::string> missing_requirements(const PreflightReport& report,
                                              const std::vector<Requirement>& needs);

std::string_view requirement_name(Requirement requirement);

// Logs a one-line summary at info and each missing piece once at warn.
void log_preflight(const PreflightReport& report);

// ---- pure parsers (exposed for tests) ----

struct MountEntry {
  std::string source;
  std::string mount_point;  // octal escapes (\040) decoded
  std::string fs_type;
  std::string options;
};

std::vector<MountEntry> parse_mounts(std::string_view mounts_text);

// The tracefs mount point: /sys/kernel/tracing first, then
// /sys/kernel/debug/tracing, then any other tracefs mount (under sys_root).
std::optional<std::string> find_tracefs_mount(const std::vector<MountEntry>& mounts,
                                              std::string_view sys_root = "/sys");

// The cgroup v2 mount point; the unified /sys/fs/cgroup is preferred when both exist.
std::optional<std::string> find_cgroup2_mount(const std::vector<MountEntry>& mounts);

// The CapEff mask from /proc/<pid>/status text.
std::optional<uint64_t> parse_cap_eff(std::string_view status_text);

// Capability bits (linux/capability.h numbering).
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapNetRaw = 13;
inline constexpr int kCapSysAdmin = 21;
inline constexpr int kCapPerfmon = 38;
inline constexpr int kCapBpf = 39;

// Fills the cap_* fields of a report from a CapEff mask.
void apply_capabilities(uint64_t cap_effective, PreflightReport& report);

}  // namespace netobs
