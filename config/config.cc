#include "config/config.h"

#include <utility>

namespace netobs {

CollectorCommon* Config::collector_common(std::string_view name) {
  return const_cast<CollectorCommon*>(std::as_const(*this).collector_common(name));
}

const CollectorCommon* Config::collector_common(std::string_view name) const {
  if (name == "snmp") return &snmp.common;
  if (name == "socket") return &socket.common;
  if (name == "tcp") return &tcp.common;
  if (name == "dns") return &dns.common;
  if (name == "xdp") return &xdp.common;
  return nullptr;
}

}  // namespace netobs
