#include "exporter/net/interface_selector.h"

#include <fnmatch.h>

#include "config/config.h"

namespace netobs {
namespace {

bool any_matches(const std::vector<std::string>& globs, const std::string& name) {
  for (const std::string& glob : globs) {
    if (fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

}  // namespace

InterfaceSelector::InterfaceSelector(std::vector<std::string> include,
                                     std::vector<std::string> exclude)
    : include_(std::move(include)), exclude_(std::move(exclude)) {}

InterfaceSelector InterfaceSelector::from_network(const NetworkFilters& network) {
  return InterfaceSelector(network.interfaces, network.exclude_interfaces);
}

bool InterfaceSelector::matches(std::string_view name) const {
  const std::string text(name);
  if (text.empty() || any_matches(exclude_, text)) return false;
  return include_.empty() || any_matches(include_, text);
}

std::string InterfaceSelector::describe() const {
  return "include=" + (include_.empty() ? std::string("[*]") : join(include_)) +
         " exclude=" + join(exclude_);
}

}  // namespace netobs
