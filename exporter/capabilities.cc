#include "exporter/capabilities.h"

#include <algorithm>
#include <iterator>

#include "collectors/dns/dns_config.h"
#include "collectors/drops/drops_config.h"
#include "collectors/flows/flows_config.h"
#include "collectors/security/security_config.h"
#include "collectors/socket/socket_config.h"
#include "collectors/tcp/tcp_config.h"

namespace netobs {
namespace {

struct CapabilityInfo {
  const char* name;
  const char* why;
};

constexpr CapabilityInfo kBpf = {"CAP_BPF", "load BPF programs and create maps"};
constexpr CapabilityInfo kPerfmon = {"CAP_PERFMON",
                                     "attach tracing programs, read kernel memory in BPF"};
constexpr CapabilityInfo kNetAdmin = {"CAP_NET_ADMIN", "load and attach tc and XDP programs"};
constexpr CapabilityInfo kNetRaw = {"CAP_NET_RAW", "open packet sockets (socket filters)"};
constexpr CapabilityInfo kDacReadSearch = {
    "CAP_DAC_READ_SEARCH",
    "resolve new cgroup ids to paths (open_by_handle_at), attribution: cgroup"};
// The order of the list printed and of the packaged unit's lines.
constexpr CapabilityInfo kListOrder[] = {kBpf, kPerfmon, kNetAdmin, kNetRaw, kDacReadSearch};

// The capabilities that grant a requirement. BTF, tracefs and cgroup2 are
// properties of the machine, not privileges: none.
std::vector<CapabilityInfo> capabilities_for(Requirement requirement) {
  switch (requirement) {
    case Requirement::kBpfPrivileges:
      return {kBpf, kPerfmon};
    case Requirement::kNetAdmin:
      return {kNetAdmin};
    case Requirement::kNetRaw:
      return {kNetRaw};
    case Requirement::kBtf:
    case Requirement::kTracefs:
    case Requirement::kCgroup2:
      return {};
  }
  return {};
}

void add_need(ServicePlan& plan, const CapabilityInfo& info, const std::string& collector) {
  auto it = std::find_if(plan.capabilities.begin(), plan.capabilities.end(),
                         [&](const CapabilityNeed& c) { return c.name == info.name; });
  if (it == plan.capabilities.end()) {
    plan.capabilities.push_back({info.name, info.why, {}});
    it = plan.capabilities.end() - 1;
  }
  if (std::find(it->needed_by.begin(), it->needed_by.end(), collector) == it->needed_by.end()) {
    it->needed_by.push_back(collector);
  }
}

size_t list_rank(const std::string& name) {
  for (size_t i = 0; i < std::size(kListOrder); ++i) {
    if (name == kListOrder[i].name) return i;
  }
  return std::size(kListOrder);
}

bool under_state_dir(const std::string& path) {
  const std::string dir(kServiceStateDir);
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

// Settings that need more than the descriptor's requirements.
void add_setting_notes(const Config& config, ServicePlan& plan) {
  auto enabled = [&plan](std::string_view name) {
    return std::find(plan.enabled_collectors.begin(), plan.enabled_collectors.end(), name) !=
           plan.enabled_collectors.end();
  };
  if (enabled("socket") && config.collector<SocketConfig>().syscall_details) {
    plan.notes.push_back(
        "socket: collectors.socket.syscall_details uses classic syscall tracepoints, which "
        "need tracefs mounted and readable; tracefs is root-only, so as the netobs user these "
        "optional hooks are skipped (no MSG_* send flags, no operation latency) and the "
        "collector still runs. Fix: set syscall_details: false, or run the service as root "
        "(User=root in a drop-in) with tracefs mounted by the host "
        "(mount -t tracefs tracefs /sys/kernel/tracing).");
  }
  if (config.exporter.bpf_stats) {
    plan.notes.push_back(
        "exporter.bpf_stats: switching on the kernel's BPF run-time statistics needs "
        "CAP_SYS_ADMIN, which the unit does not grant. Fix: let the host set "
        "`sysctl kernel.bpf_stats_enabled=1` (netobs then reads the statistics without it).");
  }
  const std::string& netns = config.collector<TcpConfig>().network_namespace;
  if (enabled("tcp") && !netns.empty()) {
    plan.notes.push_back("tcp: collectors.tcp.network_namespace enters " + netns +
                         " with setns(), which needs CAP_SYS_ADMIN and RestrictNamespaces=net; "
                         "add both to the drop-in, or leave the setting empty.");
  }
}

}  // namespace

ServicePlan plan_service(const Config& config, const CollectorRegistry& registry) {
  ServicePlan plan;
  for (const auto& d : registry.all()) {
    if (!collector_enabled(config, d.name)) continue;
    plan.enabled_collectors.push_back(d.name);
    for (Requirement need : d.needs) {
      for (const auto& info : capabilities_for(need)) add_need(plan, info, d.name);
    }
  }
  const SocketConfig& socket = config.collector<SocketConfig>();
  if (collector_enabled(config, "socket") && socket.per_process && socket.attribution == "cgroup") {
    add_need(plan, kDacReadSearch, "socket");
  }
  if (collector_enabled(config, "tcp") && config.collector<TcpConfig>().attribution == "cgroup") {
    add_need(plan, kDacReadSearch, "tcp");
  }
  if (collector_enabled(config, "dns") && config.collector<DnsConfig>().attribution == "cgroup") {
    add_need(plan, kDacReadSearch, "dns");
  }
  if (collector_enabled(config, "flows") &&
      config.collector<FlowsConfig>().attribution == "cgroup") {
    add_need(plan, kDacReadSearch, "flows");
  }
  const SecurityConfig& security = config.collector<SecurityConfig>();
  if (collector_enabled(config, "security") && security.dns_answers &&
      !security.blocklists.empty()) {
    add_need(plan, kNetRaw, "security");  // the DNS-answer packet socket
  }
  if (collector_enabled(config, "drops") &&
      config.collector<DropsConfig>().attribution == "cgroup") {
    add_need(plan, kDacReadSearch, "drops");
  }
  std::sort(plan.capabilities.begin(), plan.capabilities.end(),
            [](const CapabilityNeed& a, const CapabilityNeed& b) {
              return list_rank(a.name) < list_rank(b.name);
            });
  if (!config.events.output_dir.empty() && !under_state_dir(config.events.output_dir)) {
    plan.read_write_paths.push_back(config.events.output_dir);
  }
  add_setting_notes(config, plan);
  return plan;
}

std::string capability_list(const ServicePlan& plan) {
  std::string out;
  for (const auto& c : plan.capabilities) out += (out.empty() ? "" : " ") + c.name;
  return out;
}

std::string render_systemd_dropin(const ServicePlan& plan) {
  const std::string caps = capability_list(plan);
  std::string out = "[Service]\n";
  out += "# The empty lines reset the packaged unit's lists; the next lines set them.\n";
  out += "AmbientCapabilities=\n";
  if (!caps.empty()) out += "AmbientCapabilities=" + caps + "\n";
  out += "CapabilityBoundingSet=\n";
  if (!caps.empty()) out += "CapabilityBoundingSet=" + caps + "\n";
  for (const auto& path : plan.read_write_paths) {
    out += "# events.output_dir is outside " + std::string(kServiceStateDir) + "\n";
    out += "ReadWritePaths=" + path + "\n";
  }
  return out;
}

std::string format_service_plan(const ServicePlan& plan) {
  std::string out = "capabilities for netobs.service (enabled collectors:";
  for (const auto& name : plan.enabled_collectors) out += " " + name;
  out += "):\n";
  if (plan.capabilities.empty()) out += "  none\n";
  for (const auto& c : plan.capabilities) {
    std::string users;
    for (const auto& name : c.needed_by) users += (users.empty() ? "" : ", ") + name;
    out += "  " + c.name + std::string(15 - std::min<size_t>(c.name.size(), 14), ' ') + users +
           ": " + c.why + "\n";
  }
  if (!plan.notes.empty()) {
    out += "\nnot granted by capabilities:\n";
    for (const auto& note : plan.notes) out += "  - " + note + "\n";
  }
  out +=
      "\ndrop-in (`systemctl edit netobs`, or "
      "/etc/systemd/system/netobs.service.d/capabilities.conf, then `systemctl daemon-reload`):\n";
  out += render_systemd_dropin(plan);
  return out;
}

}  // namespace netobs
