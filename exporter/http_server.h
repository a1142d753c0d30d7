// HttpServer: the exporter's civetweb server. Serves the metrics path (from
// the CollectorManager), a landing page at / and /healthz. Owned by main;
// civetweb's worker threads call the handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/collector_manager.h"
#include "exporter/status.h"
#include "exporter/text_format.h"
#include "exporter/web/web_state.h"

struct mg_context;
struct mg_connection;

namespace netobs {

struct HttpOptions {
  std::string listen_address = ":9723";
  std::string telemetry_path = "/metrics";
  int max_requests = 40;
  // Connections served at once (idle keep-alive ones included); more wait in
  // the listen backlog. Separate from max_requests so that idle or slow
  // clients cannot take the threads scrapes need. civetweb keeps one thread
  // per connection slot (8 KiB resident each when idle); Prometheus holds one
  // or two keep-alive connections per server, so 64 leaves room for many
  // servers, curl and browsers.
  int max_connections = 64;
  std::string web_config_file;  // TLS and basic auth; "" = plain HTTP
};

// civetweb timeouts: a request's headers must arrive within
// kHeaderTimeoutMs of its first byte (slow clients are cut off), an idle
// keep-alive connection is closed after kKeepAliveIdleMs.
inline constexpr int kHeaderTimeoutMs = 5000;
inline constexpr int kKeepAliveIdleMs = 10000;

// Turns "host:port", ":port" or "[v6]:port" into civetweb's listening_ports
// syntax; an error names what is wrong with the address.
Result<std::string> civetweb_listening_ports(const std::string& listen_address);

// Scrape deadline: the scraper's X-Prometheus-Scrape-Timeout-Seconds (less a
// small margin for serialization and the network) or `fallback_seconds`.
double scrape_budget_seconds(const char* timeout_header, double fallback_seconds);

std::string render_landing_page(const std::vector<CollectorSummary>& collectors,
                                const std::vector<std::string>& costs,
                                const std::string& telemetry_path);

class HttpServer {
 public:
  explicit HttpServer(CollectorManager& manager);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status start(const HttpOptions& options);
  // Stops serving; waits at most kStopWait for scrapes in progress.
  void stop();
  static constexpr std::chrono::seconds kStopWait{5};
  std::vector<int> listening_ports() const;

 private:
  // Scratch memory of one scrape response, pooled so that a scrape does not
  // allocate (and page-fault) ~100 KiB of buffers and zlib state each time.
  struct ResponseBuffers {
    std::string body;
    std::string compressed;
    std::string response;
    GzipCompressor gzip;
  };

  static int handle_request(mg_connection* conn, void* self);
  static void on_connection_close(const mg_connection* conn);
  static void answer_unanswered(mg_connection* conn);
  // Answers one request for `path` (the local path, or "*").
  int serve(mg_connection* conn, const std::string& path, bool keep_alive);
  static int init_ssl(void* ssl_ctx, void* self);
  int serve_metrics(mg_connection* conn, const std::string& extra_headers, bool keep_alive);
  // Token bucket of the web config's rate_limit; false: answer 429.
  bool take_rate_token(const web::WebConfig& config);
  void append_web_metrics(std::vector<prometheus::MetricFamily>& families);
  std::unique_ptr<ResponseBuffers> take_buffers();
  void give_back_buffers(std::unique_ptr<ResponseBuffers> buffers);

  CollectorManager& manager_;
  HttpOptions options_;
  mg_context* context_ = nullptr;
  std::atomic<int> in_flight_{0};
  web::WebState web_;
  std::mutex rate_mutex_;
  double rate_tokens_ = -1;  // guarded by rate_mutex_; -1: not started
  std::chrono::steady_clock::time_point rate_updated_;
  std::mutex buffers_mutex_;
  std::vector<std::unique_ptr<ResponseBuffers>> spare_buffers_;  // guarded by buffers_mutex_
};

}  // namespace netobs
