// Which /proc/net SNMP fields are counters and which are not. Every field is
// a counter unless it is in the gauge table (settings and current levels such
// as Tcp CurrEstab or Ip DefaultTTL), so fields added by newer kernels are
// exported as counters, which is what the kernel adds in practice.
#pragma once

#include <span>
#include <string_view>

namespace netobs {

enum class MibType { kCounter, kGauge };

struct GaugeField {
  std::string_view group;
  std::string_view field;
  std::string_view why;  // what the value means, for the README and --help
};

// The fields exported as gauges, in /proc order.
std::span<const GaugeField> gauge_fields();

MibType mib_field_type(std::string_view group, std::string_view field);

}  // namespace netobs
