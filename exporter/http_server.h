// HttpServer: the exporter's civetweb server. Serves the metrics path (from
// the CollectorManager), a landing page at / and /healthz. Owned by main;
// civetweb's worker threads call the handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "exporter/collector_manager.h"
#include "exporter/status.h"

struct mg_context;
struct mg_connection;

namespace netobs {

struct HttpOptions {
  std::string listen_address = ":9723";
  std::string telemetry_path = "/metrics";
  int max_requests = 40;
};

// Turns "host:port", ":port" or "[v6]:port" into civetweb's listening_ports
// syntax; an error names what is wrong with the address.
Result<std::string> civetweb_listening_ports(const std::string& listen_address);

// Scrape deadline: the scraper's X-Prometheus-Scrape-Timeout-Seconds (less a
// small margin for serialization and the network) or `fallback_seconds`.
double scrape_budget_seconds(const char* timeout_header, double fallback_seconds);

std::string render_landing_page(const std::vector<CollectorSummary>& collectors,
                                const std::string& telemetry_path);

class HttpServer {
 public:
  explicit HttpServer(CollectorManager& manager);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status start(const HttpOptions& options);
  void stop();
  std::vector<int> listening_ports() const;

 private:
  static int handle_request(mg_connection* conn, void* self);
  int serve_metrics(mg_connection* conn);

  CollectorManager& manager_;
  HttpOptions options_;
  mg_context* context_ = nullptr;
  std::atomic<int> in_flight_{0};
};

}  // namespace netobs
