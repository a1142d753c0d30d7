#include "config/config.h"

#include <utility>

namespace netobs {

CollectorSections::CollectorSections(const CollectorSections& other) { *this = other; }

CollectorSections& CollectorSections::operator=(const CollectorSections& other) {
  if (this == &other) return *this;
  sections_.clear();
  for (const auto& [name, settings] : other.sections_)
    sections_.emplace_back(name, settings->clone());
  return *this;
}

bool CollectorSections::operator==(const CollectorSections& other) const {
  if (sections_.size() != other.sections_.size()) return false;
  for (const auto& [name, settings] : sections_) {
    const CollectorSettings* theirs = other.find(name);
    if (theirs == nullptr || !settings->equals(*theirs)) return false;
  }
  return true;
}

CollectorSettings* CollectorSections::find(std::string_view name) {
  return const_cast<CollectorSettings*>(std::as_const(*this).find(name));
}

const CollectorSettings* CollectorSections::find(std::string_view name) const {
  for (const auto& [section_name, settings] : sections_) {
    if (section_name == name) return settings.get();
  }
  return nullptr;
}

void CollectorSections::put(std::string name, std::unique_ptr<CollectorSettings> settings) {
  for (auto& [section_name, existing] : sections_) {
    if (section_name == name) {
      existing = std::move(settings);
      return;
    }
  }
  sections_.emplace_back(std::move(name), std::move(settings));
}

std::vector<std::string> CollectorSections::names() const {
  std::vector<std::string> names;
  for (const auto& [name, settings] : sections_) names.push_back(name);
  return names;
}

CollectorCommon* Config::collector_common(std::string_view name) {
  return const_cast<CollectorCommon*>(std::as_const(*this).collector_common(name));
}

const CollectorCommon* Config::collector_common(std::string_view name) const {
  const CollectorSettings* settings = collectors.find(name);
  return settings == nullptr ? nullptr : &settings->common;
}

}  // namespace netobs
