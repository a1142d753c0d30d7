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
  descriptors_.push_back(std::move(descriptor));
  return Status::ok();
}

const CollectorDescriptor* CollectorRegistry::find(std::string_view name) const {
  for (const auto& descriptor : descriptors_) {
    if (descriptor.name == name) return &descriptor;
  }
  return nullptr;
}

bool collector_enabled(const Config& config, std::string_view name) {
  const CollectorCommon* common = config.collector_common(name);
  return common == nullptr || common->enabled;
}

}  // namespace netobs
