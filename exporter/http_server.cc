#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "exporter/log.h"
#include "exporter/text_format.h"
#include "exporter/metric_builder.h"
#include "exporter/version.h"
#include "exporter/web/http_headers.h"
#include "exporter/web/openssl_names.h"

namespace netobs {
namespace {

constexpr std::string_view kPlainText = "text/plain; charset=utf-8";

// civetweb serves each connection on one of its --web.max-connections
// threads and hands a new connection to the thread that has waited longest,
// so with short connections every thread serves one in turn and keeps the
// stack pages its deepest call touched (24-28 KiB each instead of 8 when
// idle: over a MiB for 64 threads). Once a connection is closed, the thread's stack below the
// caller's frame holds nothing: hand those pages back to the kernel.
__attribute__((noinline)) void release_unused_stack() {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  // No thread_local cache of the bounds: a larger static TLS block moves
  // every thread's first frames down, across a page boundary (+4 KiB for
  // each of the 256 threads, measured).
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  const int got = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (got != 0 || addr == nullptr) return;
  const uintptr_t stack_low = reinterpret_cast<uintptr_t>(addr);
  // Keep the page holding this frame's locals and the madvise call's own
  // few bytes of stack (1 KiB below the frame is far more than they use).
  const uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const uintptr_t begin = (stack_low + page - 1) & ~(page - 1);
  const uintptr_t end = (here - 1024) & ~(page - 1);
  if (here > stack_low && end > begin) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

Result<int> parse_port(std::string_view text, const std::string& address) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || port < 0 ||
      port > 65535) {
    return Status::error("listen address \"" + address +
                         "\" has no valid port: use host:port, :port or [v6]:port with a port "
                         "from 0 to 65535");
  }
  return port;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Writes status line, headers and body with one write: separate small writes
// cost an extra round of the TCP stack per response.
// `response` is scratch space (reused across scrapes by the caller).
// `extra_headers` are complete "Name: value\r\n" lines.
int send_response(mg_connection* conn, int status, const char* status_text, std::string_view type,
                  std::string_view extra_headers, const std::string& body, bool head_only,
                  bool keep_alive, std::string& response) {
  char number[24];
  response.clear();
  response += "HTTP/1.1 ";
  response.append(number, std::to_chars(number, number + sizeof number, status).ptr);
  response += ' ';
  response += status_text;
  if (!type.empty()) {
    response += "\r\nContent-Type: ";
    response += type;
  }
  response += "\r\n";
  response += extra_headers;
  response += "Content-Length: ";
  response.append(number, std::to_chars(number, number + sizeof number, body.size()).ptr);
  response += keep_alive ? "\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n"
                         : "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head_only) response += body;
  mg_write(conn, response.data(), response.size());
  return status;
}

// Whether this connection stays open after the response (civetweb decides
// the same way; a request body we did not read means closing).
bool keep_connection(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  const bool keep = request->content_length <= 0 &&
                    mg_get_header(conn, "Transfer-Encoding") == nullptr &&
                    web::wants_keep_alive(mg_get_header(conn, "Connection"),
                                          request->http_version ? request->http_version : "");
  if (!keep) mg_disable_connection_keep_alive(conn);
  return keep;
}

std::string peer_address(const sockaddr_storage& address, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    port = ntohs(v6.sin6_port);
  } else {
    port = -1;
  }
  return text;
}

// civetweb has no call to end a connection from another thread than its
// handler's: find the socket by its addresses (the client's address and port
// and our port identify it while the handler runs) and shut it down; civetweb
// closes the descriptor when the handler returns. Only used when a collector
// overran, so the scan of the descriptor table does not matter.
void shut_down_client_socket(const mg_request_info& request) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  std::string_view remote = request.remote_addr;
  while (dirent* entry = readdir(fds)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(fds)) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) continue;
    int port = -1;
    std::string peer = peer_address(address, port);
    std::string_view peer_view = peer;
    if (peer_view.starts_with("::ffff:") && !remote.starts_with("::ffff:")) {
      peer_view.remove_prefix(7);  // IPv4-mapped on a dual-stack socket
    }
    if (port != request.remote_port || peer_view != remote) continue;
    length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) continue;
    peer_address(address, port);
    if (port != request.server_port) continue;
    shutdown(fd, SHUT_RDWR);  // queued data is still sent before the FIN
    break;
  }
  closedir(fds);
}

// Credentials are checked in serve() (the web config's users). Without an
// authorization handler civetweb looks for a .htpasswd file on the way to
// every request's path: one failed stat() per request.
int allow_in_serve(mg_connection*, void*) { return 1; }

int log_civetweb_message(const mg_connection*, const char* message) {
  std::string text = message;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  log_warn("http server", {{"err", text}});
  return 1;
}

}  // namespace

Result<std::string> civetweb_listening_ports(const std::string& address) {
  if (address.empty()) {
    return Status::error("listen address is empty: use host:port or :port, e.g. :9723");
  }
  if (address[0] == '[') {
    auto close = address.find("]:");
    if (close == std::string::npos) {
      return Status::error("listen address \"" + address + "\" is not [v6]:port");
    }
    Result<int> port = parse_port(std::string_view(address).substr(close + 2), address);
    if (!port) return port.status();
    return address;
  }
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::error("listen address \"" + address +
                         "\" has no port: use host:port or :port, e.g. :9723");
  }
  std::string host = address.substr(0, colon);
  Result<int> port = parse_port(std::string_view(address).substr(colon + 1), address);
  if (!port) return port.status();
  if (host.empty()) return "+" + std::to_string(*port);  // IPv4 and IPv6, all addresses
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + std::to_string(*port);
}

double scrape_budget_seconds(const char* timeout_header, double fallback_seconds) {
  double seconds = fallback_seconds;
  if (timeout_header != nullptr) {
    char* end = nullptr;
    double parsed = std::strtod(timeout_header, &end);
    if (end != timeout_header && parsed > 0 && parsed < 3600) seconds = parsed;
  }
  // Leave time to serialize and send: 10 % of the budget, at most half a second.
  return seconds - std::min(0.5, seconds * 0.1);
}

std::string render_landing_page(const std::vector<CollectorSummary>& collectors,
                                const std::vector<std::string>& costs,
                                const std::string& telemetry_path) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>netobs</title>"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
          ".active{color:#070}.error{color:#b00}.disabled{color:#888}</style></head><body>\n"
       << "<h1>netobs</h1>\n<p>Linux network observability exporter, version "
       << html_escape(kVersion) << " (revision " << html_escape(kRevision) << ").</p>\n"
       << "<p><a href=\"" << html_escape(telemetry_path) << "\">Metrics</a> &middot; "
       << "<a href=\"/healthz\">Health</a></p>\n"
       << "<h2>Collectors</h2>\n<table><tr><th>collector</th><th>state</th><th>programs "
          "(attach type)</th><th>last error</th><th>description</th></tr>\n";
  for (const auto& c : collectors) {
    std::string programs;
    for (const auto& p : c.bpf.programs) {
      programs += (programs.empty() ? "" : ", ") + p.program + " (" +
                  (p.attached ? p.attach : "not attached") + ")";
    }
    html << "<tr><td>" << html_escape(c.name) << "</td><td class=\"" << html_escape(c.state)
         << "\">" << html_escape(c.state) << "</td><td>"
         << (programs.empty() ? "-" : html_escape(programs)) << "</td><td>"
         << html_escape(c.last_error) << "</td><td>" << html_escape(c.description)
         << "</td></tr>\n";
  }
  html << "</table>\n";
  if (!costs.empty()) {
    html << "<h2>What this configuration costs</h2>\n<ul>\n";
    for (const auto& cost : costs) html << "<li>" << html_escape(cost) << "</li>\n";
    html << "</ul>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

HttpServer::HttpServer(CollectorManager& manager) : manager_(manager) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const HttpOptions& options) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });
  options_ = options;
  Status web = web_.load(options.web_config_file);
  if (!web.is_ok()) {
    return Status::error("invalid web config " + options.web_config_file + ": " + web.message());
  }
  Result<std::string> ports = civetweb_listening_ports(options.listen_address);
  if (!ports) return ports.status();
  if (web_.tls_enabled()) {
    Status openssl = web::load_openssl_for_civetweb();
    if (!openssl.is_ok()) return openssl;
    *ports += 's';
  }
  // civetweb serves one connection per thread, idle keep-alive ones
  // included. Scrapes beyond max_requests get a 503 from our handler, so the
  // threads must outnumber them by a few (for / and /healthz) in any case.
  const std::string threads = std::to_string(
      std::clamp(std::max(options.max_connections, options.max_requests + 4), 4, 1024));
  const std::string header_timeout = std::to_string(kHeaderTimeoutMs);
  const std::string keep_alive_idle = std::to_string(kKeepAliveIdleMs);
  mg_callbacks callbacks{};
  callbacks.log_message = log_civetweb_message;
  callbacks.connection_close = &HttpServer::on_connection_close;
  if (web_.tls_enabled()) callbacks.init_ssl = &HttpServer::init_ssl;

  auto try_start = [&](const std::string& listening) -> Status {
    // clang-format off
    const char* config[] = {
        "listening_ports", listening.c_str(),
        "num_threads", threads.c_str(),
        "request_timeout_ms", header_timeout.c_str(),
        "keep_alive_timeout_ms", keep_alive_idle.c_str(),
        "enable_keep_alive", "yes",
        // A response is one write; without this, the tail segment of a body
        // larger than a segment could wait for the client's delayed ACK.
        "tcp_nodelay", "1",
        // Absolute URIs name this server by any host name.
        "enable_auth_domain_check", "no",
        // Per-connection buffer for a request head (a scrape's is < 1 KiB):
        // 8 KiB instead of civetweb's 16, for every connection thread.
        "max_request_size", "8192",
        nullptr};
    // clang-format on
    char error_text[256] = "";
    unsigned error_code = 0;
    mg_error_data error{&error_code, error_text, sizeof(error_text)};
    mg_init_data init{&callbacks, this, config};
    context_ = mg_start2(&init, &error);
    if (context_ == nullptr) {
      const std::string text = error_text;
      return Status::error("cannot listen on " + options.listen_address + ": " + text +
                           " (is the port in use? pick another with --web.listen-address)");
    }
    return Status::ok();
  };
  Status status = try_start(*ports);
  if (!status.is_ok() && (*ports)[0] == '+') {
    // No IPv6 on this host: listen on IPv4 only.
    status = try_start(ports->substr(1));
  }
  if (!status.is_ok()) return status;
  mg_set_request_handler(context_, "/", &HttpServer::handle_request, this);
  mg_set_auth_handler(context_, "/", allow_in_serve, nullptr);
  log_info("listening", {{"address", options.listen_address},
                         {"telemetry_path", options.telemetry_path},
                         {"tls", web_.tls_enabled() ? "on" : "off"},
                         {"web_config", options.web_config_file}});
  return Status::ok();
}

void HttpServer::stop() {
  if (context_ == nullptr) return;
  mg_context* context = std::exchange(context_, nullptr);
  // mg_stop waits for every handler. A handler whose collector overran runs
  // until that collector returns (its client was answered at the deadline);
  // one stuck for good must not stop the exporter from exiting and detaching
  // its BPF programs, so give up waiting after a while.
  auto stopped = std::make_shared<std::promise<void>>();
  std::future<void> done = stopped->get_future();
  std::thread([context, stopped] {
    mg_stop(context);
    stopped->set_value();
  }).detach();
  if (done.wait_for(kStopWait) == std::future_status::timeout) {
    log_warn(
        "http server: a scrape handler is still inside a collector that overran; not waiting for "
        "it",
        {{"waited_seconds", std::to_string(kStopWait.count())}});
  }
}

std::vector<int> HttpServer::listening_ports() const {
  std::vector<int> out;
  if (context_ == nullptr) return out;
  mg_server_port ports[8]{};
  int n = mg_get_server_ports(context_, 8, ports);
  for (int i = 0; i < n; ++i) out.push_back(ports[i].port);
  return out;
}

int HttpServer::init_ssl(void* ssl_ctx, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  web::configure_server_ctx(
      static_cast<SSL_CTX*>(ssl_ctx),
      [](void* arg) {
        auto config = static_cast<web::WebState*>(arg)->current();
        return config ? config->tls : nullptr;
      },
      &self->web_);
  return 1;  // certificates come per connection from the web config
}

bool HttpServer::take_rate_token(const web::WebConfig& config) {
  if (config.rate_limit_interval_seconds <= 0) return true;
  // golang.org/x/time/rate semantics: one token per interval, at most burst.
  std::lock_guard<std::mutex> lock(rate_mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double burst = config.rate_limit_burst;
  if (rate_tokens_ < 0) {
    rate_tokens_ = burst;
  } else {
    rate_tokens_ =
        std::min(burst, rate_tokens_ + std::chrono::duration<double>(now - rate_updated_).count() /
                                           config.rate_limit_interval_seconds);
  }
  rate_updated_ = now;
  if (rate_tokens_ < 1) return false;
  rate_tokens_ -= 1;
  return true;
}

int HttpServer::handle_request(mg_connection* conn, void* self_ptr) {
  const mg_request_info* request = mg_get_request_info(conn);
  return static_cast<HttpServer*>(self_ptr)->serve(
      conn, request->local_uri ? request->local_uri : "", keep_connection(conn));
}

void HttpServer::on_connection_close(const mg_connection* closing) {
  // civetweb 1.15 closes without an answer when the request target is "*"
  // (OPTIONS *) or an absolute URI naming another port: answer those here,
  // while the socket is still open. Other closes have no request pending
  // (civetweb clears it before waiting for the next one) or a local URI.
  answer_unanswered(const_cast<mg_connection*>(closing));
  release_unused_stack();
}

void HttpServer::answer_unanswered(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  if (request == nullptr || request->request_method == nullptr || request->request_uri == nullptr ||
      request->local_uri != nullptr || request->http_version == nullptr) {
    return;
  }
  const std::string_view version = request->http_version;
  if (version != "1.0" && version != "1.1") return;  // civetweb answered 505
  const std::string_view target = request->request_uri;
  std::optional<std::string> path =
      target == "*" ? std::optional<std::string>("*") : web::absolute_uri_path(target);
  if (!path) return;  // civetweb answered 400
  auto* self = static_cast<HttpServer*>(mg_get_user_data(mg_get_context(conn)));
  if (self != nullptr) self->serve(conn, *path, false);
}

int HttpServer::serve(mg_connection* conn, const std::string& path, bool keep_alive) {
  const mg_request_info* request = mg_get_request_info(conn);
  const std::string method = request->request_method ? request->request_method : "";
  const bool head = method == "HEAD";
  std::shared_ptr<const web::LoadedWebConfig> web = web_.current();
  std::string headers;
  for (const auto& [name, value] : web->config.headers) headers += name + ": " + value + "\r\n";
  auto reply = [&](int status, const char* status_text, const std::string& body,
                   std::string_view extra = "", std::string_view type = kPlainText) {
    std::string response;
    return send_response(conn, status, status_text, type, headers + std::string(extra), body, head,
                         keep_alive, response);
  };
  if (!take_rate_token(web->config)) return reply(429, "Too Many Requests", "Too Many Requests\n");
  // Every path, / and /healthz included, needs the credentials when users
  // are configured (as exporter-toolkit's handler wraps the whole mux).
  if (!web->config.users.empty() &&
      !web_.auth().allowed(web->config.users, mg_get_header(conn, "Authorization"))) {
    return reply(401, "Unauthorized", "Unauthorized\n", "WWW-Authenticate: Basic\r\n");
  }
  if (method == "OPTIONS") {
    return reply(204, "No Content", "", "Allow: GET, HEAD, OPTIONS\r\n", "");
  }
  if (path == "*") return reply(400, "Bad Request", "the target * is only for OPTIONS\n");
  if (method != "GET" && !head) {
    return reply(405, "Method Not Allowed", "only GET and HEAD are supported\n",
                 "Allow: GET, HEAD, OPTIONS\r\n");
  }
  if (path == options_.telemetry_path) return serve_metrics(conn, headers, keep_alive);
  if (path == "/healthz") return reply(200, "OK", "ok\n");
  if (path == "/" || path == "/index.html") {
    return reply(
        200, "OK",
        render_landing_page(manager_.summaries(), manager_.costs(), options_.telemetry_path), "",
        "text/html; charset=utf-8");
  }
  if (auto answer = manager_.json_endpoint(path)) {
    return answer->status == 200 ? reply(200, "OK", answer->body, "", "application/json")
                                 : reply(answer->status, "Service Unavailable", answer->body);
  }
  return reply(404, "Not Found", "not found: metrics are at " + options_.telemetry_path + "\n");
}

int HttpServer::serve_metrics(mg_connection* conn, const std::string& extra_headers,
                              bool keep_alive) {
  const bool head = std::string_view(mg_get_request_info(conn)->request_method) == "HEAD";
  // Counted until the response is sent (on the watchdog thread when a
  // collector overran), not until the handler returns.
  struct InFlight {
    std::atomic<int>& count;
    int value;
    bool released = false;
    explicit InFlight(std::atomic<int>& c) : count(c), value(++c) {}
    void release() {
      if (!released) --count;
      released = true;
    }
    ~InFlight() { release(); }
  } in_flight(in_flight_);
  if (in_flight.value > options_.max_requests) {
    std::string response;
    return send_response(conn, 503, "Service Unavailable", kPlainText, extra_headers,
                         "too many concurrent scrapes (limit " +
                             std::to_string(options_.max_requests) + ", see --web.max-requests)\n",
                         head, keep_alive, response);
  }
  const double budget =
      scrape_budget_seconds(mg_get_header(conn, "X-Prometheus-Scrape-Timeout-Seconds"),
                            manager_.scrape_timeout_seconds());
  const auto deadline = CollectorManager::Clock::now() +
                        std::chrono::duration_cast<CollectorManager::Clock::duration>(
                            std::chrono::duration<double>(budget));
  const bool gzip = web::accepts_gzip(mg_get_header(conn, "Accept-Encoding"));

  const auto handler_thread = std::this_thread::get_id();
  std::atomic<bool> answered_elsewhere{false};
  manager_.scrape(deadline, [&](std::vector<prometheus::MetricFamily>&& families) {
    append_web_metrics(families);
    std::unique_ptr<ResponseBuffers> buffers = take_buffers();
    buffers->body.clear();
    render_text_format(families, buffers->body);
    families.clear();  // free the series before the write, not after
    const std::string* body = &buffers->body;
    std::string headers = extra_headers;
    if (gzip && buffers->gzip.compress(buffers->body, buffers->compressed)) {
      body = &buffers->compressed;
      headers += "Content-Encoding: gzip\r\n";
    }
    headers += "Vary: Accept-Encoding\r\n";
    const bool on_handler_thread = std::this_thread::get_id() == handler_thread;
    send_response(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", headers, *body, head,
                  keep_alive && on_handler_thread, buffers->response);
    give_back_buffers(std::move(buffers));
    // On the watchdog thread (a collector overran on the handler thread): the
    // client has its answer, but civetweb closes the connection only when the
    // handler returns. Clients reading to EOF must not wait for that.
    if (!on_handler_thread) {
      answered_elsewhere = true;
      shut_down_client_socket(*mg_get_request_info(conn));
    }
    in_flight.release();
  });
  if (answered_elsewhere) mg_disable_connection_keep_alive(conn);
  return 200;
}

void HttpServer::append_web_metrics(std::vector<prometheus::MetricFamily>& families) {
  FamilyBuilder("netobs_web_config_last_reload_successful",
                "Whether the last re-read of the web config file (--web.config.file) succeeded.",
                prometheus::MetricType::Gauge)
      .gauge({}, web_.last_reload_ok() ? 1 : 0)
      .append_to(families);
  FamilyBuilder("netobs_web_config_reload_failures_total",
                "Re-reads of a changed web config file that failed; the previous one stayed "
                "in force.",
                prometheus::MetricType::Counter)
      .counter({}, static_cast<double>(web_.reload_failures()))
      .append_to(families);
}

std::unique_ptr<HttpServer::ResponseBuffers> HttpServer::take_buffers() {
  {
    std::lock_guard<std::mutex> lock(buffers_mutex_);
    if (!spare_buffers_.empty()) {
      std::unique_ptr<ResponseBuffers> buffers = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
      return buffers;
    }
  }
  return std::make_unique<ResponseBuffers>();
}

void HttpServer::give_back_buffers(std::unique_ptr<ResponseBuffers> buffers) {
  // Keep a few for concurrent scrapes; more would only hold memory.
  constexpr size_t kMaxSpare = 2;
  constexpr size_t kMaxKeptBytes = 4 << 20;
  if (buffers->body.capacity() + buffers->compressed.capacity() + buffers->response.capacity() >
      kMaxKeptBytes) {
    return;
  }
  std::lock_guard<std::mutex> lock(buffers_mutex_);
  if (spare_buffers_.size() < kMaxSpare) spare_buffers_.push_back(std::move(buffers));
}

}  // namespace netobs
