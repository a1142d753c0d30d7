#include "collectors/socket/trace_command.h"

#include <signal.h>

#include <charconv>
#include <ctime>
#include <memory>

#include "collectors/socket/socket_collector.h"
#include "collectors/socket/socket_format.h"
#include "exporter/builtin_config.h"
#include "exporter/bpf/libbpf_logging.h"
#include "exporter/bpf/preflight.h"
#include "exporter/log.h"

namespace netobs {
namespace {

Result<uint64_t> parse_number(const std::string& flag, const std::string& text, uint64_t min,
                              uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::error(flag + " needs a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got \"" + text + "\"");
  }
  return value;
}

std::vector<TraceSource>& extra_sources() {
  static std::vector<TraceSource> sources;
  return sources;
}

TraceSource socket_source() {
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

std::optional<TraceSource> find_source(const std::string& name) {
  if (name == "socket") return socket_source();
  for (const auto& source : extra_sources()) {
    if (source.name == name) return source;
  }
  return std::nullopt;
}

}  // namespace

void register_trace_source(TraceSource source) { extra_sources().push_back(std::move(source)); }

std::string trace_usage() {
  return R"(usage: netobs trace [options]

Streams every TCP/UDP send and receive as an event (the 14 fields of network event capture:
timestamp, PID, command, protocol, IP version, addresses, ports, size,
direction, latency, error, MSG_* flags) until Ctrl-C. Needs root (or CAP_BPF
and CAP_PERFMON).

options:
  --collector NAME     what to trace: socket (default) or another collector
                       with events (dns)
  --format csv|json    output format (default csv; json is JSON lines)
  --output DIR         write files under DIR/<machine-id>/<start time>/nw/
                       (rotated by events.rotate_bytes) instead of stdout
  --pid P              only process P (repeatable)
  --comm NAME          only processes named NAME (repeatable, <= 15 chars)
  --port N             only operations whose local or remote port is N (repeatable)
  --protocol tcp|udp   only this protocol (repeatable; default both)
  --config FILE        take ring buffer size, sampling and filters from FILE
  --duration SECONDS   stop after this long (default: run until a signal)
  -h, --help           this text
)";
}

Result<TraceOptions> parse_trace_args(const std::vector<std::string>& args) {
  TraceOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      continue;
    }
    std::string flag = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto take = [&]() -> Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) return Status::error(flag + " needs a value");
      return args[++i];
    };
    Result<std::string> v = std::string();
    if (flag == "--collector") {
      if (!(v = take())) return v.status();
      options.collector = *v;
    } else if (flag == "--format") {
      if (!(v = take())) return v.status();
      if (*v != "csv" && *v != "json") {
        return Status::error("--format must be csv or json, got \"" + *v + "\"");
      }
      options.format = *v;
    } else if (flag == "--output") {
      if (!(v = take())) return v.status();
      if (v->empty()) return Status::error("--output needs a directory");
      options.output_dir = *v;
    } else if (flag == "--pid") {
      if (!(v = take())) return v.status();
      auto pid = parse_number("--pid", *v, 1, 4194304);
      if (!pid) return pid.status();
      options.pids.push_back(static_cast<uint32_t>(*pid));
    } else if (flag == "--comm") {
      if (!(v = take())) return v.status();
      if (v->empty() || v->size() > 15) {
        return Status::error("--comm \"" + *v +
                             "\": a process name has 1 to 15 characters (the kernel keeps 15)");
      }
      options.comms.push_back(*v);
    } else if (flag == "--port") {
      if (!(v = take())) return v.status();
      auto port = parse_number("--port", *v, 1, 65535);
      if (!port) return port.status();
      options.ports.push_back(static_cast<uint16_t>(*port));
    } else if (flag == "--protocol") {
      if (!(v = take())) return v.status();
      if (*v != "tcp" && *v != "udp") {
        return Status::error("--protocol must be tcp or udp, got \"" + *v + "\"");
      }
      options.protocols.push_back(*v);
    } else if (flag == "--config") {
      if (!(v = take())) return v.status();
      options.config_file = *v;
    } else if (flag == "--duration") {
      if (!(v = take())) return v.status();
      char* end = nullptr;
      double seconds = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || !(seconds > 0) || seconds > 31536000) {
        return Status::error("--duration needs a number of seconds > 0, got \"" + *v + "\"");
      }
      options.duration_seconds = seconds;
    } else {
      return Status::error("unknown option \"" + arg + "\"");
    }
  }
  return options;
}

int run_trace_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Result<TraceOptions> parsed = parse_trace_args(args);
  if (!parsed) {
    err << "netobs trace: " << parsed.message() << "\n\n" << trace_usage();
    return 2;
  }
  const TraceOptions& options = *parsed;
  if (options.help) {
    out << trace_usage();
    return 0;
  }
  ConfigLoadResult loaded =
      options.config_file ? load_config_file(*options.config_file) : load_default_config();
  if (!loaded.ok()) {
    err << "netobs trace: invalid config:\n" << loaded.format_errors() << "\n";
    return 2;
  }
  std::optional<TraceSource> source = find_source(options.collector);
  if (!source) {
    std::string known = "socket";
    for (const auto& s : extra_sources()) known += ", " + s.name;
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
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

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

}  // namespace netobs
