// A minimal blocking HTTP/1.0 client: `netobs stats --trend --from` reads a
// netobs exporter's /metrics with it, the security collector POSTs alerts to
// a webhook, attribution reads a kubelet's /pods. http:// over a plain
// socket, https:// over OpenSSL (the server's certificate verified against a
// CA file or the system's CAs, and its name against the URL's host, unless
// told otherwise). Any thread may call it.
#pragma once

#include <string>
#include <vector>

#include "exporter/status.h"

namespace netobs {

// How https:// URLs are checked.
struct HttpTls {
  std::string ca_file;  // PEM CA certificates; "": the system's (/etc/ssl/certs)
  // Accept any certificate (no CA nor name check): the connection is still
  // encrypted, but anyone on the path can pose as the server.
  bool insecure_skip_verify = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http[s]://host[:port][/path]
  std::string body;
  std::string content_type;  // set with a body: sends Content-Type and Content-Length
  std::string accept;
  // Further whole header lines without CRLF ("Authorization: Bearer ...").
  std::vector<std::string> headers;
  HttpTls tls;  // https:// only
};

struct HttpResponse {
  int status = 0;           // 200
  std::string status_line;  // "200 OK"
  std::string body;
};

// One exchange bounded by `timeout_seconds` (the response by 64 MiB); any
// status is a response, an error names the method, URL and what failed.
Result<HttpResponse> http_request(const HttpRequest& request, double timeout_seconds);

// The body of a 200 response to a GET, or an error naming the URL and what failed.
Result<std::string> http_get(const std::string& url, double timeout_seconds,
                             std::vector<std::string> headers = {});

}  // namespace netobs
