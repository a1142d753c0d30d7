// Where `netobs stats --trend --from URL` reads metrics; the HTTP exchange
// itself is exporter/http_client.h.
#pragma once

#include <string>

#include "exporter/http_client.h"

namespace netobs {

// "http://host:9723" -> "http://host:9723/metrics"; a URL with a path is kept.
std::string metrics_url(const std::string& url);

}  // namespace netobs
