#include "collectors/flows/flows_command.h"

#include <signal.h>
#include <time.h>

#include <optional>
#include <string>

#include "collectors/flows/flows_collector.h"
#include "collectors/flows/flows_config.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

struct TopologyOptions {
  double duration_seconds = 10;
  bool dot = false;
  bool json = false;
  std::string netns;
  std::optional<std::string> config_file;
};

TopologyOptions parse_options(const ParsedFlags& flags) {
  TopologyOptions options;
  for (const auto& [flag, text] : flags.entries()) {
    const std::string& arg = flag->name;
    if (arg == "--duration") {
      options.duration_seconds = parse_seconds_flag(arg, text);
    } else if (arg == "--dot") {
      options.dot = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--netns") {
      options.netns = text;
    } else if (arg == "--config.file") {
      options.config_file = text;
    }
  }
  if (options.dot && options.json) throw UsageError("--dot and --json: choose one");
  return options;
}

int run_topology(const TopologyOptions& options, std::ostream& out, std::ostream& err) {
  ConfigLoadResult loaded =
      options.config_file ? load_config_file(*options.config_file) : load_default_config();
  if (!loaded.ok()) {
    err << "netobs topology: invalid config:\n" << loaded.format_errors() << "\n";
    return 2;
  }
  Config config = std::move(loaded.config);
  FlowsConfig& flows = config.collector<FlowsConfig>();
  if (!options.netns.empty()) flows.network_namespace = options.netns;
  // The whole run is the window.
  flows.topology_window_seconds = options.duration_seconds + 3600;

  const sigset_t signals = block_stop_signals();
  install_libbpf_logger();
  PreflightReport preflight = run_preflight();
  FlowsCollector collector;
  Status started = collector.start({config, preflight});
  if (!started) {
    err << "netobs topology: cannot start: " << started.message() << "\n";
    return 1;
  }
  err << "netobs topology: watching TCP connections for " << options.duration_seconds
      << " s; Ctrl-C stops early\n"
      << std::flush;
  const double whole = static_cast<double>(static_cast<long>(options.duration_seconds));
  timespec wait{static_cast<time_t>(whole),
                static_cast<long>((options.duration_seconds - whole) * 1e9)};
  sigtimedwait(&signals, nullptr, &wait);
  Result<Topology> topology = collector.topology();
  collector.stop();
  if (!topology) {
    err << "netobs topology: " << topology.status().message() << "\n";
    return 1;
  }
  if (options.dot) {
    out << render_topology_dot(*topology);
  } else if (options.json) {
    out << render_topology_json(*topology);
  } else {
    out << render_topology_table(*topology);
  }
  return 0;
}

Subcommand topology_subcommand() {
  Subcommand command;
  command.name = "topology";
  command.summary = "the service map: who connects to whom, with rates, errors and RTT";
  command.description =
      "Watches TCP connections for a while and prints the edges client -> server\n"
      "it saw (local processes or remote addresses to listening addresses or\n"
      "configured services), with connection rate, failures, bytes,\n"
      "retransmissions and RTT. The exporter serves the same at /topology.\n"
      "Needs CAP_BPF and CAP_PERFMON.\n";
  command.flag_groups = {
      {"options:",
       {{"--duration", "-d", "SEC", "how long to watch (default 10)"},
        {"--dot", "", "", "print a Graphviz digraph (dot -Tsvg) instead of a table"},
        {"--json", "", "", "print the /topology JSON document instead of a table"},
        {"--netns", "", "PATH", "only connections in this network namespace (/run/netns/NAME)"},
        {"--config.file", "", "FILE", "netobs.yaml for the flows section (services, protocols)"}}}};
  command.run = [](const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
    return run_topology(parse_options(flags), out, err);
  };
  return command;
}

}  // namespace

std::vector<Subcommand> flows_subcommands() { return {topology_subcommand()}; }

}  // namespace netobs
