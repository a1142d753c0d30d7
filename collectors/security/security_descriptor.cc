// What netobs knows about the security collector: the registration function
// (exporter/builtin_collectors.cc) adds this descriptor.
#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "exporter/collector_registry.h"

namespace netobs {

CollectorDescriptor security_descriptor() {
  return CollectorDescriptor{
      .name = std::string(SecurityCollector::kName),
      .description =
          "Suspicious connections (blocklisted CIDRs, suspicious ports, external addresses) "
          "matched in the kernel on connect and accept, as JSON alerts (sock:inet_sock_set_state)",
      .config = security_config_section(),
      .needs = {Requirement::kBtf, Requirement::kBpfPrivileges},
      .ladders = SecurityCollector::ladders(),
      .factory = [] { return std::make_unique<SecurityCollector>(); }};
}

}  // namespace netobs
