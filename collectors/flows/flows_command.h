// `netobs topology`: runs the flows collector for a while (--duration) and
// prints the service topology it saw as a table, JSON (the /topology
// document) or a Graphviz digraph (--dot).
#pragma once

#include <vector>

#include "exporter/subcommand.h"

namespace netobs {

// The flows collector's subcommands (`netobs topology`), on the real machine.
std::vector<Subcommand> flows_subcommands();

}  // namespace netobs
