// netobs: the command-line tool for people at a terminal. Subcommands share
// the exporter's collectors and parsers; each comes from its collector's
// folder as a Subcommand table.
#include <iostream>
#include <string>
#include <vector>

#include "collectors/dns/dns_trace.h"
#include "collectors/drops/drops_command.h"
#include "collectors/snmp/stats_command.h"
#include "collectors/socket/trace_command.h"
#include "collectors/tcp/conns_command.h"
#include "exporter/cli_check.h"
#include "exporter/subcommand.h"
#include "exporter/version.h"

namespace netobs {
namespace {

std::vector<Subcommand> all_subcommands() {
  std::vector<Subcommand> commands = {check_subcommand()};
  for (auto* collector_commands :
       {snmp_subcommands, tcp_subcommands, socket_subcommands, drops_subcommands}) {
    for (Subcommand& c : collector_commands()) commands.push_back(std::move(c));
  }
  return commands;
}

int run(int argc, char** argv) {
  // `netobs trace --collector dns` streams DNS exchanges through the same sinks.
  register_trace_source({"dns", dns_trace_schema,
                         [](Config& config, const TraceOptions& options) {
                           return configure_dns_trace(config, options.ports);
                         },
                         make_dns_trace_collector});
  return run_subcommands(
      all_subcommands(), std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr,
      std::string("netobs version ") + kVersion + " (revision " + kRevision + ")");
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) { return netobs::run(argc, argv); }
