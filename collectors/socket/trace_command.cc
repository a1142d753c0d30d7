#include "collectors/socket/trace_command.h"

#include <signal.h>

#include <charconv>
#include <ctime>
#include <memory>

#include "collectors/socket/socket_collector.h"
#include "collectors/socket/socket_format.h"
#include "exporter/builtin_config.h"
#include "exporter/collector_registry.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/log.h"
#include "exporter/subcommand.h"

namespace netobs {

TraceSource socket_trace_source() {
  return {"socket", []() -> const EventSchema& { return socket_event_schema(); },
          [](Config& config, const TraceOptions& options) {
            // Metrics are not served: one slot, no per-process table.
            config.collector<SocketConfig>().common.enabled = true;
            config.collector<SocketConfig>().per_process = false;
            if (!options.pids.empty()) config.collector<SocketConfig>().pids = options.pids;
            if (!options.comms.empty()) config.collector<SocketConfig>().comms = options.comms;
            if (!options.protocols.empty())
              config.collector<SocketConfig>().protocols = options.protocols;
            if (!options.ports.empty()) config.network.include_ports = options.ports;
            return Status::ok();
          },
          [](std::shared_ptr<EventSink> sink) -> std::unique_ptr<Collector> {
            return std::make_unique<SocketCollector>(
                SocketCollector::Options{.event_sink = std::move(sink)});
          }};
}

namespace {

// The sources of the registered collectors, in registration order.
std::vector<TraceSource> trace_sources() {
  std::vector<TraceSource> sources;
  for (const CollectorDescriptor& descriptor : builtin_registry().all()) {
    if (descriptor.trace_source) sources.push_back(*descriptor.trace_source);
  }
  return sources;
}

std::optional<TraceSource> find_source(const std::string& name) {
  for (TraceSource& source : trace_sources()) {
    if (source.name == name) return source;
  }
  return std::nullopt;
}

TraceOptions parse_trace_options(const ParsedFlags& flags) {
  TraceOptions options;
  for (const auto& [flag, v] : flags.entries()) {
    const std::string& name = flag->name;
    if (name == "--collector") {
      options.collector = v;
    } else if (name == "--format") {
      if (v != "csv" && v != "json") {
        throw UsageError("--format must be csv or json, got \"" + v + "\"");
      }
      options.format = v;
    } else if (name == "--output") {
      if (v.empty()) throw UsageError("--output needs a directory");
      options.output_dir = v;
    } else if (name == "--pid") {
      options.pids.push_back(static_cast<uint32_t>(parse_whole_flag("--pid", v, 1, 4194304)));
    } else if (name == "--comm") {
      if (v.empty() || v.size() > 15) {
        throw UsageError("--comm \"" + v +
                         "\": a process name has 1 to 15 characters (the kernel keeps 15)");
      }
      options.comms.push_back(v);
    } else if (name == "--port") {
      options.ports.push_back(static_cast<uint16_t>(parse_whole_flag("--port", v, 1, 65535)));
    } else if (name == "--protocol") {
      if (v != "tcp" && v != "udp") {
        throw UsageError("--protocol must be tcp or udp, got \"" + v + "\"");
      }
      options.protocols.push_back(v);
    } else if (name == "--config.file") {
      options.config_file = v;
    } else if (name == "--duration") {
      char* end = nullptr;
      double seconds = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(seconds > 0) || seconds > 31536000) {
        throw UsageError("--duration needs a number of seconds > 0, got \"" + v + "\"");
      }
      options.duration_seconds = seconds;
    }
  }
  return options;
}

int run_trace(const TraceOptions& options, std::ostream& out, std::ostream& err);

}  // namespace

Subcommand trace_subcommand() {
  Subcommand command;
  command.name = "trace";
  command.summary = "stream every TCP/UDP send and receive as CSV or JSON events";
  command.description =
      R"(Streams every TCP/UDP send and receive as a network event (14 fields:
timestamp, PID, command, protocol, IP version, addresses, ports, size,
direction, latency, error, MSG_* flags) until Ctrl-C. Needs root (or CAP_BPF
and CAP_PERFMON).
)";
  command.flag_groups = {
      {"options:",
       {{"--collector", "", "NAME",
         "what to trace: socket (default) or another collector\nwith events (dns)"},
        {"--format", "", "csv|json", "output format (default csv; json is JSON lines)"},
        {"--output", "", "DIR",
         "write files under DIR/<machine-id>/<start time>/nw/\n"
         "(rotated by events.rotate_bytes) instead of stdout"},
        {"--pid", "", "P", "only process P (repeatable)"},
        {"--comm", "", "NAME", "only processes named NAME (repeatable, <= 15 chars)"},
        {"--port", "", "N", "only operations whose local or remote port is N (repeatable)"},
        {"--protocol", "", "tcp|udp", "only this protocol (repeatable; default both)"},
        {"--config.file", "", "FILE", "take ring buffer size, sampling and filters from FILE"},
        {"--duration", "", "SECONDS", "stop after this long (default: run until a signal)"}}}};
  command.run = [](const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
    return run_trace(parse_trace_options(flags), out, err);
  };
  return command;
}

std::vector<Subcommand> socket_subcommands() { return {trace_subcommand()}; }

std::string trace_usage() { return subcommand_usage(trace_subcommand()); }

int run_trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_subcommand(trace_subcommand(), args, out, err);
}

namespace {

int run_trace(const TraceOptions& options, std::ostream& out, std::ostream& err) {
  ConfigLoadResult loaded =
      options.config_file ? load_config_file(*options.config_file) : load_default_config();
  if (!loaded.ok()) {
    err << "netobs trace: invalid config:\n" << loaded.format_errors() << "\n";
    return 2;
  }
  std::optional<TraceSource> source = find_source(options.collector);
  if (!source) {
    std::string known;
    for (const auto& s : trace_sources()) known += (known.empty() ? "" : ", ") + s.name;
    err << "netobs trace: --collector \"" << options.collector << "\" has no events to trace ("
        << known << " do)\n";
    return 2;
  }
  Config config = loaded.config;
  config.events.format = options.format;
  if (Status configured = source->configure(config, options); !configured) {
    err << "netobs trace: " << configured.message() << "\n";
    return 2;
  }
  const EventSchema& schema = source->schema();

  Result<EventFormat> format = parse_event_format(options.format);
  if (!format) {
    err << "netobs trace: " << format.message() << "\n";
    return 2;
  }
  std::shared_ptr<EventSink> sink;
  if (options.output_dir.empty()) {
    sink = std::make_shared<StreamEventSink>(out, *format, schema);
  } else {
    Result<std::string> dir =
        event_run_directory(options.output_dir, schema.kind, std::time(nullptr));
    if (!dir) {
      err << "netobs trace: " << dir.message() << "\n";
      return 1;
    }
    auto file_sink = RotatingFileEventSink::open(
        {.directory = *dir, .format = *format, .rotate_bytes = config.events.rotate_bytes}, schema);
    if (!file_sink) {
      err << "netobs trace: " << file_sink.message() << "\n";
      return 1;
    }
    err << "netobs trace: writing events to " << *dir << "\n";
    sink = std::move(*file_sink);
  }

  // Signals are taken with sigtimedwait on this thread: block them before
  // the reader thread exists so it inherits the mask.
  const sigset_t signals = block_stop_signals();

  install_libbpf_logger();
  PreflightReport preflight = run_preflight();
  std::unique_ptr<Collector> collector = source->make(sink);
  Status started = collector->start({config, preflight});
  if (!started) {
    err << "netobs trace: cannot start: " << started.message() << "\n";
    return 1;
  }
  err << "netobs trace: tracing; Ctrl-C stops\n" << std::flush;
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += static_cast<time_t>(options.duration_seconds);
  deadline.tv_nsec +=
      static_cast<long>((options.duration_seconds -
                         static_cast<double>(static_cast<long>(options.duration_seconds))) *
                        1e9);
  while (true) {
    timespec wait{1, 0};
    if (options.duration_seconds > 0) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t left =
          (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
      if (left <= 0) break;
      if (left < 1000000000LL) wait = {0, static_cast<long>(left)};
    }
    if (sigtimedwait(&signals, nullptr, &wait) > 0) break;
  }
  const BpfStatus bpf = collector->bpf_status();
  collector->stop();
  err << "netobs trace: " << sink->rows_written() << " events written, " << bpf.events_lost
      << " lost (ring buffer full)\n";
  return 0;
}

}  // namespace

}  // namespace netobs
