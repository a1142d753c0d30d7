// Which network interfaces the xdp collector attaches to: include globs
// (collectors.xdp.interfaces, else network.interfaces; empty: all) minus
// network.exclude_interfaces. Pure value type; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace netobs {

struct Config;

class InterfaceSelector {
 public:
  InterfaceSelector() = default;
  InterfaceSelector(std::vector<std::string> include, std::vector<std::string> exclude);
  static InterfaceSelector from_config(const Config& config);

  // fnmatch(3) globs; exclusion wins over inclusion.
  bool matches(std::string_view name) const;
  // For log lines: `include=[eth0,veth*] exclude=[lo]`.
  std::string describe() const;

 private:
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
};

}  // namespace netobs
