// netobs: the command-line tool for people at a terminal. Subcommands share
// the exporter's collectors and parsers.
#include <iostream>
#include <string>
#include <vector>

#include "collectors/dns/dns_trace.h"
#include "collectors/drops/drops_command.h"
#include "collectors/snmp/stats_command.h"
#include "collectors/socket/trace_command.h"
#include "collectors/tcp/conns_command.h"
#include "exporter/cli_check.h"
#include "exporter/version.h"

namespace netobs {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&, std::ostream&, std::ostream&);
};

constexpr Command kCommands[] = {
    {"check", "validate a config and report what this machine supports", run_check_command},
    {"stats", "system TCP/UDP/IP counters with deltas, rates and ratios", run_stats_command},
    {"conns", "TCP connections with tcp_info, filters, deltas and --explain", run_conns_command},
    {"trace", "stream every TCP/UDP send and receive as CSV or JSON events", run_trace_command},
    {"drops", "packets the kernel drops, by reason, kernel function and interface",
     run_drops_command},
};

void print_usage(std::ostream& out) {
  out << "usage: netobs <command> [flags]\n\ncommands:\n";
  for (const auto& c : kCommands) {
    out << "  " << c.name << std::string(10 - std::string(c.name).size(), ' ') << c.summary << "\n";
  }
  out << "\nRun `netobs <command> --help` for a command's flags. `netobs --version` prints the "
         "version.\n";
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string command = args[0];
  if (command == "-h" || command == "--help" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "netobs version " << kVersion << " (revision " << kRevision << ")\n";
    return 0;
  }
  // `netobs trace --collector dns` streams DNS exchanges through the same sinks.
  register_trace_source({"dns", dns_trace_schema,
                         [](Config& config, const TraceOptions& options) {
                           return configure_dns_trace(config, options.ports);
                         },
                         make_dns_trace_collector});
  for (const auto& c : kCommands) {
    if (command == c.name) return c.run({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  std::cerr << "netobs: unknown command \"" << command << "\"\n\n";
  print_usage(std::cerr);
  return 2;
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) { return netobs::run(argc, argv); }
