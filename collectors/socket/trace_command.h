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
#include "exporter/status.h"

namespace netobs {

struct TraceOptions {
  std::string collector = "socket";  // which trace source (--collector)
  std::string format = "csv";        // csv | json
  std::string output_dir;            // empty: stdout
  std::vector<uint32_t> pids;
  std::vector<std::string> comms;
  std::vector<uint16_t> ports;
  std::vector<std::string> protocols;
  std::optional<std::string> config_file;
  double duration_seconds = 0;  // 0: until a signal
  bool help = false;
};

// Something `netobs trace` can stream: the socket collector is built in;
// other collectors with events (dns) register theirs before the command runs
// (netobs_cli.cc). Called on the CLI's main thread only.
struct TraceSource {
  std::string name;  // the --collector value
  std::function<const EventSchema&()> schema;
  // Applies the command's filters to the loaded config; the error names the flag.
  std::function<Status(Config&, const TraceOptions&)> configure;
  // A collector that writes every event to the sink; stop() flushes it.
  std::function<std::unique_ptr<Collector>(std::shared_ptr<EventSink>)> make;
};
void register_trace_source(TraceSource source);

std::string trace_usage();

// Parses the arguments after `trace`; the error names the bad flag and why.
Result<TraceOptions> parse_trace_args(const std::vector<std::string>& args);

// Exit code: 0 ok, 1 runtime failure (cannot load BPF, cannot write), 2 usage error.
int run_trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace netobs
