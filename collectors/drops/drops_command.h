// `netobs drops`: a live view of the packets the kernel drops, like
// dropwatch: per interval, the top reasons with the kernel function where
// the drop happened (the tracepoint's location through /proc/kallsyms), the
// interface and protocol; filters, --json, --interval, --count.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "collectors/drops/drop_reasons.h"
#include "collectors/drops/drops_metrics.h"
#include "exporter/net/process_owners.h"
#include "exporter/subcommand.h"

namespace netobs {

// Filters of the command; empty fields match everything.
struct DropsFilter {
  std::vector<std::string> reasons;  // names as shown ("NETFILTER_DROP")
  std::vector<std::string> interfaces;
  std::vector<std::string> protocols;  // "tcp", "udp", "none"...
};

// One line of an interval: drops that share reason, location and labels.
struct DropsRow {
  uint64_t packets = 0;
  uint32_t reason_value = 0;
  std::string reason;
  uint64_t location = 0;
  std::string function;  // "tcp_v4_rcv"; "" when unresolved
  std::string where;     // "tcp_v4_rcv+0x1a3" or "0x..."
  std::string interface;
  std::string family;
  std::string protocol;
  int pid = 0;  // the process holding the packet's socket; 0 unknown
  std::string comm;
};

// Socket inode -> the process that holds it (the first, after a fork).
using DropsOwners = std::unordered_map<uint32_t, SocketOwner>;

// Drops between two snapshots of a collector started with by_location (and
// by_owner: `owners` names the process of each socket inode), filtered,
// largest first (ties by reason, then location).
std::vector<DropsRow> drops_interval_rows(const DropsSnapshot& before, const DropsSnapshot& after,
                                          const DropReasons& reasons, const KernelSymbols& symbols,
                                          const DropsFilter& filter,
                                          const DropsOwners& owners = {});

// One interval as a table (top rows, 0: all) or as one JSON object per line.
void print_drops_table(const std::vector<DropsRow>& rows, double interval_seconds, size_t top,
                       std::ostream& out);
void print_drops_json(const std::vector<DropsRow>& rows, double interval_seconds, size_t top,
                      std::ostream& out);

std::string drops_usage();

// `args` are the arguments after `drops`. Exit code: 0 ok, 1 runtime failure
// (cannot load BPF, kernel without drop reasons), 2 usage error.
int run_drops_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The drops collector's subcommands (`netobs drops`), on the real machine.
std::vector<Subcommand> drops_subcommands();

}  // namespace netobs
