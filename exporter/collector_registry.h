// The list of collectors netobs knows, filled by one explicit function
// (register_builtin_collectors in builtin_collectors.cc). Read-only after
// startup; the CLI and the exporter each build their own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/bpf/attach_ladder.h"
#include "exporter/collector.h"
#include "exporter/requirement.h"
#include "exporter/status.h"

namespace netobs {

struct CollectorDescriptor {
  std::string name;         // config key, --collector.<name>, `collector` label
  std::string description;  // one line for --help and the landing page
  std::vector<Requirement> needs;
  std::vector<HookLadder> ladders;  // one per BPF program, for `netobs check`
  std::function<std::unique_ptr<Collector>()> factory;
};

class CollectorRegistry {
 public:
  // Refuses a second collector with the same name.
  Status add(CollectorDescriptor descriptor);
  const std::vector<CollectorDescriptor>& all() const { return descriptors_; }
  const CollectorDescriptor* find(std::string_view name) const;

 private:
  std::vector<CollectorDescriptor> descriptors_;
};

struct Config;
// Whether the config enables collector `name`; a collector without a config
// section (test collectors) is always enabled.
bool collector_enabled(const Config& config, std::string_view name);

// The one place where production collectors are registered.
void register_builtin_collectors(CollectorRegistry& registry);

}  // namespace netobs
