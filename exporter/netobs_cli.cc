// netobs: the command-line tool for people at a terminal. `netobs check` is
// the exporter's own; every other subcommand comes from a collector's
// descriptor (exporter/builtin_collectors.cc lists the collectors).
#include <iostream>
#include <string>
#include <vector>

#include "exporter/cli_check.h"
#include "exporter/collector_registry.h"
#include "exporter/subcommand.h"
#include "exporter/version.h"

namespace netobs {
namespace {

std::vector<Subcommand> all_subcommands() {
  std::vector<Subcommand> commands = {check_subcommand()};
  for (const CollectorDescriptor& descriptor : builtin_registry().all()) {
    if (!descriptor.subcommands) continue;
    for (Subcommand& command : descriptor.subcommands()) commands.push_back(std::move(command));
  }
  return commands;
}

int run(int argc, char** argv) {
  return run_subcommands(
      all_subcommands(), std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr,
      std::string("netobs version ") + kVersion + " (revision " + kRevision + ")");
}

}  // namespace
}  // namespace netobs

int main(int argc, char** argv) { return netobs::run(argc, argv); }
