#include "exporter/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cctype>
#include <cstdlib>

#include "exporter/errno_name.h"

namespace netobs {
namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  bool tls = false;
  std::string host;
  std::string port = "80";
  std::string path = "/";
};

Result<Url> parse_url(const std::string& text) {
  Url url;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    rest = text.substr(8);
    url.tls = true;
    url.port = "443";
  } else {
    return Status::error("\"" + text + "\": only http:// and https:// URLs are supported");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) url.path = rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {  // [::1]:9723
    size_t close = authority.find(']');
    if (close == std::string::npos) return Status::error("\"" + text + "\": bad IPv6 address");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      url.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) url.port = authority.substr(colon + 1);
  }
  if (url.host.empty() || url.port.empty()) {
    return Status::error("\"" + text + "\": expected http[s]://host:port[/path]");
  }
  return url;
}

class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Connects to the first address that answers; -1 with `error` set otherwise.
int connect_any(const Url& url, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &result);
  if (rc != 0) {
    error = std::string("cannot resolve: ") + gai_strerror(rc);
    return -1;
  }
  int connected = -1;
  for (addrinfo* ai = result; ai != nullptr && connected < 0; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      connected = fd;
      break;
    }
    if (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error == 0) {
        connected = fd;
        break;
      }
      error = errno_text(so_error);
    } else {
      error = errno == EINPROGRESS ? "connect timed out" : errno_text(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(result);
  return connected;
}

std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t line_end = body.find("\r\n", pos);
    if (line_end == std::string::npos) break;
    size_t size = std::strtoul(body.substr(pos, line_end - pos).c_str(), nullptr, 16);
    if (size == 0) break;
    pos = line_end + 2;
    out.append(body, pos, std::min(size, body.size() - pos));
    pos += size + 2;
  }
  return out;
}

// OpenSSL's queued errors of this thread, "; "-separated.
std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

// A connected socket, with TLS on it for https:// URLs. Sends and receives
// wait with poll() until the deadline (the socket is non-blocking).
class Connection {
 public:
  Connection(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The TLS handshake: the server's certificate chain checked against the
  // CA file (or the system's CAs) and its name against the URL's host,
  // unless insecure_skip_verify.
  Status start_tls(const Url& url, const HttpTls& tls) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return Status::error("TLS setup failed: " + openssl_errors());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    // A server that closes without close_notify ends the body (HTTP/1.0 framing).
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (tls.insecure_skip_verify) {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      if (!tls.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx_, tls.ca_file.c_str(), nullptr) != 1) {
          return Status::error("cannot load the CA file " + tls.ca_file + " (" + openssl_errors() +
                               "); give a readable PEM file of CA certificates");
        }
      } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
        return Status::error("cannot load the system's CA certificates: " + openssl_errors());
      }
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) {
      return Status::error("TLS setup failed: " + openssl_errors());
    }
    in6_addr address{};
    const bool is_ip = ::inet_pton(AF_INET, url.host.c_str(), &address) == 1 ||
                       ::inet_pton(AF_INET6, url.host.c_str(), &address) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, url.host.c_str());
      SSL_set1_host(ssl_, url.host.c_str());
    }
    while (true) {
      ERR_clear_error();
      const int rc = SSL_connect(ssl_);
      if (rc == 1) return Status::ok();
      const int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!wait_for(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_)) {
          return Status::error("TLS handshake timed out");
        }
        continue;
      }
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        return Status::error(std::string("TLS handshake failed: the server's certificate is not "
                                         "trusted: ") +
                             X509_verify_cert_error_string(verify) +
                             (tls.ca_file.empty()
                                  ? "; set the CA file to the CA that signed it"
                                  : "; is " + tls.ca_file + " the CA that signed it?"));
      }
      std::string detail = openssl_errors();
      if (detail.empty()) detail = error == SSL_ERROR_SYSCALL ? errno_text(errno) : "closed";
      return Status::error("TLS handshake failed: " + detail + " (is it an https server?)");
    }
  }

  Status send_all(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const size_t left = data.size() - sent;
      if (ssl_) {
        ERR_clear_error();
        const int n =
            SSL_write(ssl_, data.data() + sent, static_cast<int>(std::min<size_t>(left, 1 << 30)));
        if (n > 0) {
          sent += static_cast<size_t>(n);
          continue;
        }
        if (Status wait = wait_tls(n); !wait) return wait;
        continue;
      }
      if (!wait_for(fd_, POLLOUT, deadline_)) return Status::error("timed out");
      ssize_t n = ::send(fd_, data.data() + sent, left, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return Status::error(errno_text(errno));
      if (n > 0) sent += static_cast<size_t>(n);
    }
    return Status::ok();
  }

  // Everything until the server closes, at most `max` bytes.
  Status receive_all(std::string& out, size_t max) {
    char buffer[65536];
    while (true) {
      if (ssl_) {
        ERR_clear_error();
        const int n = SSL_read(ssl_, buffer, sizeof buffer);
        if (n > 0) {
          out.append(buffer, static_cast<size_t>(n));
        } else if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) {
          return Status::ok();
        } else if (Status wait = wait_tls(n); !wait) {
          return wait;
        }
      } else {
        if (!wait_for(fd_, POLLIN, deadline_)) return Status::error("timed out");
        ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n == 0) return Status::ok();
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          return Status::error(errno_text(errno));
        }
        out.append(buffer, static_cast<size_t>(n));
      }
      if (out.size() > max) return Status::error("response too large");
    }
  }

 private:
  // After an SSL_read/SSL_write that returned `rc` <= 0: waits for what TLS
  // wants, or names the error.
  Status wait_tls(int rc) {
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_)) {
        return Status::error("timed out");
      }
      return Status::ok();
    }
    std::string detail = openssl_errors();
    if (detail.empty()) detail = error == SSL_ERROR_SYSCALL ? errno_text(errno) : "TLS error";
    return Status::error(detail);
  }

  int fd_;
  Clock::time_point deadline_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

Result<HttpResponse> http_request(const HttpRequest& request, double timeout_seconds) {
  const std::string what = request.method + " " + request.url;
  Result<Url> url = parse_url(request.url);
  if (!url) return url.status();
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(timeout_seconds));
  std::string error;
  FdGuard fd(connect_any(*url, deadline, error));
  if (fd.get() < 0) return Status::error(what + ": " + error);

  std::string wire = request.method + " " + url->path + " HTTP/1.0\r\nHost: " + url->host +
                     "\r\nConnection: close\r\n";
  if (!request.accept.empty()) wire += "Accept: " + request.accept + "\r\n";
  for (const std::string& header : request.headers) wire += header + "\r\n";
  if (!request.content_type.empty()) {
    wire += "Content-Type: " + request.content_type +
            "\r\nContent-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  Connection connection(fd.get(), deadline);
  if (url->tls) {
    if (Status tls = connection.start_tls(*url, request.tls); !tls) {
      return Status::error(what + ": " + tls.message());
    }
  }
  if (Status sent = connection.send_all(wire); !sent) {
    return Status::error(what + ": " + sent.message());
  }
  std::string response;
  constexpr size_t kMaxResponse = 64 << 20;
  if (Status received = connection.receive_all(response, kMaxResponse); !received) {
    return Status::error(what + ": " + received.message());
  }
  size_t header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/", 0) != 0 || header_end == std::string::npos) {
    return Status::error(what + ": not an HTTP response");
  }
  size_t space = response.find(' ');
  HttpResponse out;
  out.status = std::atoi(response.substr(space + 1, 3).c_str());
  out.status_line = response.substr(space + 1, response.find("\r\n") - space - 1);
  std::string headers = response.substr(0, header_end);
  out.body = response.substr(header_end + 4);
  std::string lower = headers;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower.find("transfer-encoding: chunked") != std::string::npos) out.body = dechunk(out.body);
  return out;
}

Result<std::string> http_get(const std::string& url, double timeout_seconds,
                             std::vector<std::string> headers) {
  Result<HttpResponse> response = http_request(
      {.method = "GET", .url = url, .accept = "text/plain", .headers = std::move(headers)},
      timeout_seconds);
  if (!response) return response.status();
  if (response->status != 200) {
    return Status::error("GET " + url + ": HTTP status " + response->status_line);
  }
  return std::move(response->body);
}

}  // namespace netobs
