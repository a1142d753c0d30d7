// Which network interfaces a collector watches: include globs (empty: all)
// minus exclude globs, by default network.interfaces minus
// network.exclude_interfaces. Shared by xdp, dns and drops. Pure value type;
// any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netobs {

struct NetworkFilters;

class InterfaceSelector {
 public:
  InterfaceSelector() = default;
  InterfaceSelector(std::vector<std::string> include, std::vector<std::string> exclude);
  // network.interfaces minus network.exclude_interfaces.
  static InterfaceSelector from_network(const NetworkFilters& network);

  // fnmatch(3) globs; exclusion wins over inclusion.
  bool matches(std::string_view name) const;
  // True when it selects every interface (no include, no exclude).
  bool selects_all() const { return include_.empty() && exclude_.empty(); }
  bool has_includes() const { return !include_.empty(); }
  // For log lines: `include=[eth0,veth*] exclude=[lo]`.
  std::string describe() const;

 private:
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
};

}  // namespace netobs
