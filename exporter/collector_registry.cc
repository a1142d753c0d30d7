#include "exporter/collector_registry.h"

#include "config/config.h"

namespace netobs {

Status CollectorRegistry::add(CollectorDescriptor descriptor) {
  if (descriptor.name.empty() || !descriptor.factory) {
    return Status::error("collector registration needs a name and a factory");
  }
  if (find(descriptor.name) != nullptr) {
    return Status::error("collector " + descriptor.name +
                         " is registered twice: names must be unique");
  }
  if (descriptor.config && descriptor.config->name != descriptor.name) {
    return Status::error("collector " + descriptor.name + " declares the config section \"" +
                         descriptor.config->name + "\": it must be named after the collector");
  }
  descriptors_.push_back(std::move(descriptor));
  return Status::ok();
}

const CollectorDescriptor* CollectorRegistry::find(std::string_view name) const {
  for (const auto& descriptor : descriptors_) {
    if (descriptor.name == name) return &descriptor;
  }
  return nullptr;
}

std::vector<std::string> CollectorRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& descriptor : descriptors_) names.push_back(descriptor.name);
  return names;
}

CollectorConfigSections CollectorRegistry::config_sections() const {
  CollectorConfigSections sections;
  for (const auto& descriptor : descriptors_) {
    if (descriptor.config) sections.push_back(*descriptor.config);
  }
  return sections;
}

bool CollectorRegistry::restart_needed(std::string_view name, const Config& before,
                                       const Config& after) const {
  const CollectorDescriptor* descriptor = find(name);
  if (descriptor == nullptr) return !(before == after);
  if (descriptor->restart_needed) return descriptor->restart_needed(before, after);
  const CollectorSettings* was = before.collectors.find(name);
  const CollectorSettings* now = after.collectors.find(name);
  const bool own_changed = (was == nullptr) != (now == nullptr) || (was && !was->equals(*now));
  return own_changed || !(before.network == after.network) || !(before.events == after.events);
}

bool collector_enabled(const Config& config, std::string_view name) {
  const CollectorCommon* common = config.collector_common(name);
  return common == nullptr || common->enabled;
}

std::vector<std::string> configuration_costs(const CollectorRegistry& registry,
                                             const Config& config) {
  std::vector<std::string> costs;
  if (config.exporter.bpf_stats) {
    costs.push_back(
        "BPF run-time stats: on (exporter.bpf_stats): two clock reads per run of every BPF "
        "program on this machine");
  }
  for (const auto& d : registry.all()) {
    if (!d.cost_notes || !collector_enabled(config, d.name)) continue;
    for (const auto& note : d.cost_notes(config)) costs.push_back(d.name + ": " + note);
  }
  return costs;
}

}  // namespace netobs
