// `netobs trace`: streams the socket collector's send/receive events
// (the 14 fields of network event capture) to stdout or to a directory, without the HTTP
// server. Runs on the CLI's main thread until SIGINT/SIGTERM or --duration.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "collectors/socket/socket_config.h"
#include "config/config.h"
#include "exporter/collector.h"
#include "exporter/events/event_sink.h"
#include "exporter/events/trace_source.h"
#include "exporter/status.h"
#include "exporter/subcommand.h"

namespace netobs {

// The socket collector's own source: every TCP/UDP send and receive.
TraceSource socket_trace_source();

// The socket collector's subcommands (`netobs trace`).
std::vector<Subcommand> socket_subcommands();
std::string trace_usage();

// Exit code: 0 ok, 1 runtime failure (cannot load BPF, cannot write), 2 usage error.
int run_trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace netobs
