// A minimal blocking HTTP/1.0 GET, enough for `netobs stats --trend --from`
// to read a netobs exporter's /metrics and for the attribution metadata to read
// a kubelet's /pods. Plain http only (no TLS); headers such as a bearer token
// can be added. Any thread may call it.
#pragma once

#include <string>
#include <vector>

#include "exporter/status.h"

namespace netobs {

// "http://host:9723" -> "http://host:9723/metrics"; a URL with a path is kept.
std::string metrics_url(const std::string& url);

// The body of a 200 response, or an error naming the URL and what failed.
// The whole exchange is bounded by `timeout_seconds`; the body by 64 MiB.
// `extra_headers` are whole header lines without CRLF ("Authorization: Bearer ...").
Result<std::string> http_get(const std::string& url, double timeout_seconds,
                             const std::vector<std::string>& extra_headers = {});

}  // namespace netobs
