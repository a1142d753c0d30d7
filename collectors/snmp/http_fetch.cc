#include "collectors/snmp/http_fetch.h"

namespace netobs {

std::string metrics_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  size_t start = url.rfind(kScheme, 0) == 0 ? kScheme.size() : 0;
  size_t slash = url.find('/', start);
  if (slash == std::string::npos) return url + "/metrics";
  if (slash == url.size() - 1) return url + "metrics";
  return url;
}

}  // namespace netobs
