#include "exporter/cli_check.h"

#include "exporter/builtin_config.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/bpf/preflight.h"
#include "exporter/capabilities.h"
#include "exporter/collector_registry.h"

namespace netobs {
namespace {

constexpr const char* kDescription =
    "Validates the config (the built-in one without --config.file) and reports, for\n"
    "each collector, whether it can run on this machine, which attach type each of\n"
    "its BPF programs would use, and what is missing with the fix. Changes nothing.\n"
    "Exit code: 0 when every enabled collector can run, 1 when one cannot, 2 for an\n"
    "invalid config or usage error.\n";

int check_machine(const std::optional<std::string>& config_file, bool systemd, std::ostream& out);

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string format_preflight(const PreflightReport& r) {
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    out += "  " + key + std::string(key.size() < 22 ? 22 - key.size() : 1, ' ') + value + "\n";
  };
  line("kernel", r.kernel_release.empty() ? "unknown" : r.kernel_release);
  line("BTF", r.btf_present ? "yes (" + r.btf_path + ")" : "NO (" + r.btf_path + " missing)");
  std::string caps;
  for (const auto& [held, name] :
       {std::pair{r.cap_bpf, "CAP_BPF"}, std::pair{r.cap_perfmon, "CAP_PERFMON"},
        std::pair{r.cap_sys_admin, "CAP_SYS_ADMIN"}}) {
    if (held) caps += (caps.empty() ? "" : ", ") + std::string(name);
  }
  line("BPF privileges", r.has_bpf_privileges()
                             ? "yes (" + caps + ")"
                             : "NO (needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN)");
  line("CAP_NET_ADMIN", yes_no(r.cap_net_admin));
  line("CAP_NET_RAW", yes_no(r.cap_net_raw));
  line("tracefs", !r.tracefs_mounted ? "not mounted (the exporter mounts it at " + r.tracefs_path +
                                           " when it has CAP_SYS_ADMIN)"
                  : r.tracefs_readable ? "mounted at " + r.tracefs_path
                                       : "NOT READABLE: " + tracefs_permission_problem(r));
  auto sysctl = [](const std::optional<int>& value) {
    return value ? std::to_string(*value) : std::string("unknown");
  };
  line("perf_event_paranoid",
       sysctl(r.perf_event_paranoid) +
           (r.cap_perfmon || r.cap_sys_admin || r.perf_event_paranoid.value_or(2) <= -1
                ? ""
                : " (without CAP_PERFMON, tracepoints and kprobes cannot be attached: grant "
                  "CAP_PERFMON or set kernel.perf_event_paranoid=-1)"));
  line("unprivileged_bpf_disabled",
       sysctl(r.unprivileged_bpf_disabled) +
           (r.cap_bpf || r.cap_sys_admin || r.unprivileged_bpf_disabled.value_or(1) == 0
                ? ""
                : " (without CAP_BPF, bpf() is refused: grant CAP_BPF)"));
  line("cgroup v2", r.cgroup2_mounted ? r.cgroup2_path : "not mounted");
  line("kprobes", yes_no(r.kprobes_available));
  line("BPF run-time stats", r.bpf_stats_possible ? "possible"
                                                  : "not possible (needs CAP_SYS_ADMIN "
                                                    "or kernel.bpf_stats_enabled=1)");
  return out;
}

}  // namespace

Subcommand check_subcommand() {
  return {.name = "check",
          .summary = "validate a config and report what this machine supports",
          .description = kDescription,
          .flag_groups = {{"options:",
                           {{"--config.file", "", "FILE",
                             "the config to validate (default: the built-in one)"},
                            {"--systemd", "", "",
                             "instead, print the capabilities the enabled collectors need\n"
                             "and the netobs.service drop-in that grants them (exit code 0)"}}}},
          .epilog = "",
          .run = [](const ParsedFlags& flags, std::ostream& out, std::ostream&) {
            return check_machine(flags.last("--config.file"), flags.has("--systemd"), out);
          }};
}

namespace {

int check_machine(const std::optional<std::string>& config_file, bool systemd, std::ostream& out) {
  ConfigLoadResult loaded = config_file ? load_config_file(*config_file) : load_default_config();
  out << "config: " << loaded.config.source;
  if (!loaded.ok()) {
    out << ": INVALID\n";
    for (const auto& e : loaded.errors) out << "  " << e.to_string() << "\n";
    if (loaded.more_errors > 0) out << "  " << loaded.more_errors_line() << "\n";
    return 2;
  }
  out << ": ok\n";
  for (const auto& w : loaded.warnings) out << "  warning: " << w << "\n";

  CollectorRegistry registry;
  register_builtin_collectors(registry);
  if (systemd) {
    out << "\n" << format_service_plan(plan_service(loaded.config, registry));
    return 0;
  }

  PreflightOptions options;
  options.allow_mount = false;  // check changes nothing on the machine
  PreflightReport preflight = run_preflight(options);
  out << "\nmachine:\n" << format_preflight(preflight);

  bool all_can_run = true;
  out << "\ncollectors:\n";
  for (const auto& d : registry.all()) {
    const CollectorCommon* common = loaded.config.collector_common(d.name);
    const bool enabled = common != nullptr && common->enabled;
    std::vector<std::string> missing = missing_requirements(preflight, d.needs);
    const bool can_run = missing.empty();
    if (enabled && !can_run) all_can_run = false;
    out << "  " << d.name << ": " << (enabled ? "enabled" : "disabled") << ", "
        << (can_run ? "can run here" : "CANNOT run here") << "\n";
    for (const auto& line : missing) out << "    missing: " << line << "\n";
    for (const auto& ladder : d.ladders) {
      std::string reasons;
      Result<size_t> chosen = probe_ladder(ladder, preflight, &reasons);
      if (chosen) {
        out << "    program " << ladder.name << ": " << attach_kind_name(ladder.rungs[*chosen].kind)
            << "\n";
      } else {
        out << "    program " << ladder.name << ": no usable attach type (" << chosen.message()
            << ")\n";
      }
      if (!reasons.empty()) out << "      " << reasons << "\n";
    }
  }
  const std::vector<std::string> costs = configuration_costs(registry, loaded.config);
  if (!costs.empty()) {
    out << "\nwhat this configuration costs:\n";
    for (const auto& cost : costs) out << "  " << cost << "\n";
  }
  return all_can_run ? 0 : 1;
}

}  // namespace

}  // namespace netobs
