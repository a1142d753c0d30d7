// The list of collectors netobs knows, filled by one explicit function
// (register_builtin_collectors in builtin_collectors.cc): one line per
// collector, each adding the descriptor its folder provides. Read-only after
// startup; the CLI and the exporter each build their own.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config_section.h"
#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"
#include "exporter/events/trace_source.h"
#include "exporter/requirement.h"
#include "exporter/status.h"
#include "exporter/subcommand.h"

namespace netobs {

struct Config;

// Everything netobs needs to know about one collector. Each collector's
// folder provides one (collectors/<name>/<name>_descriptor.cc).
struct CollectorDescriptor {
  std::string name;         // config key, --collector.<name>, `collector` label
  std::string description;  // one line for --help and the landing page
  // Its `collectors.<name>` section: defaults (on/off among them), fields,
  // validation. A collector without settings (test collectors) leaves it
  // empty and is always enabled.
  std::optional<CollectorConfigSection> config;
  std::vector<Requirement> needs;   // checked by preflight before start
  std::vector<HookLadder> ladders;  // one per BPF program, for `netobs check`
  std::function<std::unique_ptr<Collector>()> factory;
  // Whether a reload from `before` to `after` must restart the collector.
  // Unset: when its own section, `network` or `events` changed.
  std::function<bool(const Config& before, const Config& after)> restart_needed;
  // Its `netobs` subcommands (e.g. tcp: `netobs conns`); may be unset.
  std::function<std::vector<Subcommand>()> subcommands;
  // What `netobs trace --collector <name>` streams, for collectors with events.
  std::optional<TraceSource> trace_source;
  // What running it with `config` costs the machine, one line per item
  // (`netobs check` and the landing page). Unset: nothing worth saying.
  std::function<std::vector<std::string>(const Config& config)> cost_notes;
  // HTTP paths (e.g. "/topology") the exporter answers with the collector's
  // Collector::json_endpoint() while it runs.
  std::vector<std::string> json_endpoints;
};

class CollectorRegistry {
 public:
  // Refuses a second collector with the same name.
  Status add(CollectorDescriptor descriptor);
  const std::vector<CollectorDescriptor>& all() const { return descriptors_; }
  const CollectorDescriptor* find(std::string_view name) const;
  std::vector<std::string> names() const;
  // The config sections of every registered collector, for the loader.
  CollectorConfigSections config_sections() const;
  // Whether collector `name` must restart when the config goes from `before`
  // to `after` (an unknown name: when anything changed).
  bool restart_needed(std::string_view name, const Config& before, const Config& after) const;

 private:
  std::vector<CollectorDescriptor> descriptors_;
};

// Whether the config enables collector `name`; a collector without a config
// section (test collectors) is always enabled.
bool collector_enabled(const Config& config, std::string_view name);

// What `config` costs the machine, one line per item: the exporter's own
// (BPF run-time stats), then each enabled collector's cost_notes as
// "<collector>: <note>". For `netobs check` and the landing page.
std::vector<std::string> configuration_costs(const CollectorRegistry& registry,
                                             const Config& config);

// The one place where production collectors are registered.
void register_builtin_collectors(CollectorRegistry& registry);
// A registry filled by register_builtin_collectors, built on first use.
const CollectorRegistry& builtin_registry();

}  // namespace netobs
