// `netobs trace --collector dns`: what the trace command (collectors/socket/
// trace_command.cc) needs to stream DNS exchanges instead of socket events.
// Called on the CLI's main thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "collectors/dns/dns_config.h"
#include "config/config.h"
#include "exporter/collector.h"
#include "exporter/events/event_sink.h"
#include "exporter/events/trace_source.h"

namespace netobs {

// The rows the dns collector writes: build the trace's sink with this schema
// (its kind "dns" names the output folder and file prefix).
const EventSchema& dns_trace_schema();

// Adjusts a loaded config for tracing: the dns collector on, `ports` (when
// not empty) as its DNS ports, and metric-only extras (server labels, domain
// sampling) off. Returns an error naming the flag when `ports` is invalid.
Status configure_dns_trace(Config& config, const std::vector<uint16_t>& ports);

// A dns collector that writes every exchange (capture_* switches of
// config.dns apply) to `sink`. Start it with the adjusted config; stop() it
// to flush. bpf_status().events_lost counts records the ring buffer dropped.
std::unique_ptr<Collector> make_dns_trace_collector(std::shared_ptr<EventSink> sink);

// The three above as `netobs trace --collector dns` uses them.
TraceSource dns_trace_source();

}  // namespace netobs
