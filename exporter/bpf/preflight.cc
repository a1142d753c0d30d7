#include "exporter/bpf/preflight.h"

#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporter/errno_name.h"
#include "exporter/log.h"

namespace netobs {
namespace {

constexpr std::string_view kTracefsDir = "/kernel/tracing";
constexpr std::string_view kDebugTracefsDir = "/kernel/debug/tracing";

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return std::string(text);
}

bool path_exists(const std::string& path) {
  return !path.empty() && access(path.c_str(), F_OK) == 0;
}

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
std::string decode_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const char a = field[i + 1], b = field[i + 2], c = field[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out.push_back(static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// Falls back to capget(2) when /proc/self/status is unreadable (hidepid, no procfs).
std::optional<uint64_t> capget_effective() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return std::nullopt;
  return static_cast<uint64_t>(data[0].effective) |
         (static_cast<uint64_t>(data[1].effective) << 32);
}

std::optional<int> read_int_sysctl(const std::string& path) {
  const std::optional<std::string> text = read_small_file(path);
  if (!text) return std::nullopt;
  try {
    return std::stoi(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Mode and owner of the mount point, and whether this process can reach the
// tracepoints' id files through it.
void check_tracefs_access(PreflightReport& report) {
  struct stat st {};
  if (stat(report.tracefs_path.c_str(), &st) == 0) {
    report.tracefs_mode = st.st_mode & 07777;
    report.tracefs_uid = st.st_uid;
    report.tracefs_gid = st.st_gid;
  }
  report.tracefs_readable = access((report.tracefs_path + "/events").c_str(), X_OK) == 0;
}

std::string octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode);
  return text;
}

void check_tracefs(const PreflightOptions& options, const std::vector<MountEntry>& mounts,
                   PreflightReport& report) {
  if (auto found = find_tracefs_mount(mounts, options.sys_root)) {
    report.tracefs_mounted = true;
    report.tracefs_path = *found;
    check_tracefs_access(report);
    return;
  }
  report.tracefs_path = options.sys_root + std::string(kTracefsDir);
  if (!options.allow_mount) {
    report.tracefs_error = "not mounted, and mounting it is disabled";
    return;
  }
  if (!report.cap_sys_admin) {
    report.tracefs_error = "not mounted, and mounting it needs CAP_SYS_ADMIN";
    return;
  }
  if (mount("tracefs", report.tracefs_path.c_str(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    report.tracefs_error =
        "mount -t tracefs at " + report.tracefs_path + " failed: " + errno_text(errno);
    return;
  }
  // Left mounted at exit on purpose: it is shared with every other tracing tool.
  report.tracefs_mounted = true;
  report.tracefs_mounted_by_us = true;
  check_tracefs_access(report);
}

}  // namespace

std::vector<MountEntry> parse_mounts(std::string_view mounts_text) {
  std::vector<MountEntry> mounts;
  while (!mounts_text.empty()) {
    size_t eol = mounts_text.find('\n');
    std::string_view line = mounts_text.substr(0, eol);
    mounts_text.remove_prefix(eol == std::string_view::npos ? mounts_text.size() : eol + 1);
    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (pos < line.size() && fields.size() < 4) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
      size_t end = pos;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
      if (end > pos) fields.push_back(line.substr(pos, end - pos));
      pos = end;
    }
    if (fields.size() < 3) continue;  // blank or truncated line
    MountEntry entry;
    entry.source = decode_mount_field(fields[0]);
    entry.mount_point = decode_mount_field(fields[1]);
    entry.fs_type = std::string(fields[2]);
    if (fields.size() > 3) entry.options = std::string(fields[3]);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

std::optional<std::string> find_tracefs_mount(const std::vector<MountEntry>& mounts,
                                              std::string_view sys_root) {
  const std::string preferred[] = {std::string(sys_root) + std::string(kTracefsDir),
                                   std::string(sys_root) + std::string(kDebugTracefsDir)};
  for (const auto& want : preferred) {
    for (const auto& m : mounts) {
      if (m.fs_type == "tracefs" && m.mount_point == want) return m.mount_point;
    }
  }
  for (const auto& m : mounts) {
    if (m.fs_type == "tracefs") return m.mount_point;
  }
  return std::nullopt;
}

std::optional<std::string> find_cgroup2_mount(const std::vector<MountEntry>& mounts) {
  std::optional<std::string> first;
  for (const auto& m : mounts) {
    if (m.fs_type != "cgroup2") continue;
    if (m.mount_point == "/sys/fs/cgroup") return m.mount_point;
    if (!first) first = m.mount_point;
  }
  return first;
}

std::optional<uint64_t> parse_cap_eff(std::string_view status_text) {
  constexpr std::string_view kKey = "CapEff:";
  size_t pos = 0;
  while (pos < status_text.size()) {
    size_t eol = status_text.find('\n', pos);
    std::string_view line =
        status_text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? status_text.size() : eol + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.size() > 16) return std::nullopt;
    uint64_t mask = 0;
    for (char c : line) {
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return std::nullopt;
      }
      mask = (mask << 4) | static_cast<uint64_t>(digit);
    }
    return mask;
  }
  return std::nullopt;
}

void apply_capabilities(uint64_t cap_effective, PreflightReport& report) {
  auto has = [cap_effective](int bit) { return (cap_effective >> bit) & 1U; };
  report.cap_effective = cap_effective;
  report.cap_bpf = has(kCapBpf);
  report.cap_perfmon = has(kCapPerfmon);
  report.cap_sys_admin = has(kCapSysAdmin);
  report.cap_net_admin = has(kCapNetAdmin);
  report.cap_net_raw = has(kCapNetRaw);
}

PreflightReport run_preflight(const PreflightOptions& options) {
  PreflightReport report;
  if (auto release = read_small_file(options.proc_root + "/sys/kernel/osrelease")) {
    report.kernel_release = trim(*release);
  }

  report.btf_path = options.sys_root + "/kernel/btf/vmlinux";
  report.btf_present = access(report.btf_path.c_str(), R_OK) == 0;

  std::optional<uint64_t> caps;
  if (auto status = read_small_file(options.proc_root + "/self/status"))
    caps = parse_cap_eff(*status);
  if (!caps && options.proc_root == "/proc") caps = capget_effective();
  report.caps_known = caps.has_value();
  apply_capabilities(caps.value_or(0), report);

  report.mounts_path = options.proc_root + "/mounts";
  std::vector<MountEntry> mounts = parse_mounts(read_small_file(report.mounts_path).value_or(""));
  check_tracefs(options, mounts, report);
  if (auto cgroup2 = find_cgroup2_mount(mounts)) {
    report.cgroup2_mounted = true;
    report.cgroup2_path = *cgroup2;
  }

  report.kprobes_available =
      path_exists(options.sys_root + "/bus/event_source/devices/kprobe") ||
      (report.tracefs_mounted && path_exists(report.tracefs_path + "/kprobe_events"));

  if (auto stats = read_small_file(options.proc_root + "/sys/kernel/bpf_stats_enabled")) {
    report.bpf_stats_sysctl = trim(*stats) == "1";
  }
  report.perf_event_paranoid =
      read_int_sysctl(options.proc_root + "/sys/kernel/perf_event_paranoid");
  report.unprivileged_bpf_disabled =
      read_int_sysctl(options.proc_root + "/sys/kernel/unprivileged_bpf_disabled");
  // bpf_enable_stats() is refused without CAP_SYS_ADMIN (kernel/bpf/syscall.c).
  report.bpf_stats_possible = report.bpf_stats_sysctl || report.cap_sys_admin;
  return report;
}

std::string tracefs_permission_problem(const PreflightReport& report) {
  if (!report.tracefs_mounted || report.tracefs_readable) return "";
  return "tracefs at " + report.tracefs_path + " is not readable by this user (mode " +
         octal(report.tracefs_mode) + ", owner uid " + std::to_string(report.tracefs_uid) +
         " gid " + std::to_string(report.tracefs_gid) +
         "; recent kernels mount it root-only): classic tracepoints (the syscall tracepoints "
         "of syscall_details) need the ids in it whatever the capabilities. Fix: run as root, "
         "or let the netobs group in: `mount -o remount,gid=<netobs group>,mode=0750 " +
         report.tracefs_path +
         "` (also in /etc/fstab), or leave syscall_details off (the other programs use "
         "tp_btf or raw_tp, which need no tracefs)";
}

std::string permission_hint(const PreflightReport& report, int err, bool perf_event) {
  if (err != EPERM && err != EACCES) return "";
  if (!report.has_bpf_privileges()) {
    std::string caps;
    if (!report.cap_bpf) caps = "CAP_BPF";
    if (!report.cap_perfmon) caps += caps.empty() ? "CAP_PERFMON" : " and CAP_PERFMON";
    std::string hint = ": missing " + caps + " (or CAP_SYS_ADMIN)";
    if (!report.cap_bpf && report.unprivileged_bpf_disabled &&
        *report.unprivileged_bpf_disabled != 0) {
      hint += "; kernel.unprivileged_bpf_disabled is " +
              std::to_string(*report.unprivileged_bpf_disabled) +
              ", so bpf() is refused to any process without CAP_BPF";
    }
    if (perf_event && !report.cap_perfmon && report.perf_event_paranoid &&
        *report.perf_event_paranoid > -1) {
      hint += "; kernel.perf_event_paranoid is " + std::to_string(*report.perf_event_paranoid) +
              ", so system-wide perf events (classic tracepoints, kprobes) need CAP_PERFMON";
    }
    return hint +
           ". Fix: run as root or grant the capabilities (systemd: "
           "AmbientCapabilities=CAP_BPF CAP_PERFMON)";
  }
  if (perf_event && err == EACCES && !report.tracefs_readable) {
    return ": " + tracefs_permission_problem(report);
  }
  return "";
}

std::vector<std::string> missing_requirements(const PreflightReport& report,
                                              const std::vector<Requirement>& needs) {
  std::vector<std::string> missing;
  for (Requirement need : needs) {
    switch (need) {
      case Requirement::kBtf:
        if (!report.btf_present) {
          missing.push_back("kernel BTF not found at " + report.btf_path +
                            ": needs CONFIG_DEBUG_INFO_BTF=y");
        }
        break;
      case Requirement::kBpfPrivileges: {
        if (report.has_bpf_privileges()) break;
        std::string caps;
        if (!report.cap_bpf) caps = "CAP_BPF";
        if (!report.cap_perfmon) caps += caps.empty() ? "CAP_PERFMON" : " and CAP_PERFMON";
        const bool both = !report.cap_bpf && !report.cap_perfmon;
        std::string line = "missing " + caps + " (or CAP_SYS_ADMIN): run as root or grant " +
                           (both ? "them" : "it") +
                           " (systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON)";
        if (!report.cap_bpf && report.unprivileged_bpf_disabled &&
            *report.unprivileged_bpf_disabled != 0) {
          line += "; kernel.unprivileged_bpf_disabled is " +
                  std::to_string(*report.unprivileged_bpf_disabled) +
                  ": bpf() is refused to any process without CAP_BPF";
        }
        if (!report.cap_perfmon && report.perf_event_paranoid && *report.perf_event_paranoid > -1) {
          line += "; kernel.perf_event_paranoid is " + std::to_string(*report.perf_event_paranoid) +
                  ": system-wide perf events (tracepoints, kprobes) need CAP_PERFMON";
        }
        missing.push_back(std::move(line));
        break;
      }
      case Requirement::kNetAdmin:
        if (!report.cap_net_admin) {
          missing.push_back(
              "missing CAP_NET_ADMIN (XDP and socket filters need it): run as root or grant "
              "it (systemd: AmbientCapabilities=CAP_NET_ADMIN)");
        }
        break;
      case Requirement::kNetRaw:
        if (!report.cap_net_raw) {
          missing.push_back(
              "missing CAP_NET_RAW (packet sockets need it): run as root or grant it "
              "(systemd: AmbientCapabilities=CAP_NET_RAW)");
        }
        break;
      case Requirement::kTracefs:
        if (!report.tracefs_mounted) {
          std::string line = "tracefs not mounted at " + report.tracefs_path +
                             ": mount it with `mount -t tracefs tracefs " + report.tracefs_path +
                             "` or run with CAP_SYS_ADMIN so netobs mounts it";
          if (!report.tracefs_error.empty()) line += " (" + report.tracefs_error + ")";
          missing.push_back(std::move(line));
        } else if (!report.tracefs_readable) {
          missing.push_back(tracefs_permission_problem(report));
        }
        break;
      case Requirement::kCgroup2:
        if (!report.cgroup2_mounted) {
          missing.push_back("no cgroup2 mount in " + report.mounts_path +
                            ": mount one with `mount -t cgroup2 none /sys/fs/cgroup`");
        }
        break;
    }
  }
  return missing;
}

std::string_view requirement_name(Requirement requirement) {
  switch (requirement) {
    case Requirement::kBtf:
      return "btf";
    case Requirement::kBpfPrivileges:
      return "bpf_privileges";
    case Requirement::kNetAdmin:
      return "net_admin";
    case Requirement::kNetRaw:
      return "net_raw";
    case Requirement::kTracefs:
      return "tracefs";
    case Requirement::kCgroup2:
      return "cgroup2";
  }
  return "unknown";
}

void log_preflight(const PreflightReport& report) {
  auto yes_no = [](bool v) { return std::string(v ? "yes" : "no"); };
  log_info("preflight",
           {{"kernel", report.kernel_release.empty() ? "unknown" : report.kernel_release},
            {"btf", yes_no(report.btf_present)},
            {"bpf_privileges", yes_no(report.has_bpf_privileges())},
            {"net_admin", yes_no(report.cap_net_admin)},
            {"net_raw", yes_no(report.cap_net_raw)},
            {"tracefs", report.tracefs_mounted ? report.tracefs_path : "no"},
            {"cgroup2", report.cgroup2_mounted ? report.cgroup2_path : "no"},
            {"kprobes", yes_no(report.kprobes_available)},
            {"bpf_stats", yes_no(report.bpf_stats_possible)}});
  if (report.tracefs_mounted_by_us) {
    log_info("mounted tracefs for classic tracepoints", {{"path", report.tracefs_path}});
  }
  const std::vector<Requirement> all = {Requirement::kBtf,      Requirement::kBpfPrivileges,
                                        Requirement::kNetAdmin, Requirement::kNetRaw,
                                        Requirement::kTracefs,  Requirement::kCgroup2};
  for (Requirement need : all) {
    if (need == Requirement::kTracefs && report.tracefs_mounted) {
      // Root-only tracefs is the normal state of a service run without
      // root; it matters only to a program that needs it, which says so.
      if (!report.tracefs_readable) {
        log_info("tracefs not readable",
                 {{"stage", "preflight"}, {"detail", tracefs_permission_problem(report)}});
      }
      continue;
    }
    for (const auto& line : missing_requirements(report, {need})) {
      log_warn(line,
               {{"stage", "preflight"}, {"requirement", std::string(requirement_name(need))}});
    }
  }
}

}  // namespace netobs
