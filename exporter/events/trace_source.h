// What `netobs trace` can stream: a collector with events lists a
// TraceSource in its descriptor (the socket collector's send/receive events,
// the dns collector's exchanges). Used on the CLI's main thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/collector.h"
#include "exporter/events/event_sink.h"
#include "exporter/status.h"

namespace netobs {

// `netobs trace`'s flags, as every source sees them.
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
};

struct TraceSource {
  std::string name;  // the --collector value: the collector's name
  std::function<const EventSchema&()> schema;
  // Applies the command's filters to the loaded config; the error names the flag.
  std::function<Status(Config&, const TraceOptions&)> configure;
  // A collector that writes every event to the sink; stop() flushes it.
  std::function<std::unique_ptr<Collector>(std::shared_ptr<EventSink>)> make;
};

}  // namespace netobs
