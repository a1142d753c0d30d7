#include "exporter/http_client.h"

#include <fcntl.h>
#include <netdb.h>
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
  std::string host;
  std::string port = "80";
  std::string path = "/";
};

Result<Url> parse_url(const std::string& text) {
  constexpr std::string_view kScheme = "http://";
  if (text.rfind(kScheme, 0) != 0) {
    return Status::error("\"" + text + "\": only http:// URLs are supported");
  }
  std::string rest = text.substr(kScheme.size());
  Url url;
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
    return Status::error("\"" + text + "\": expected http://host:port[/path]");
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
  size_t sent = 0;
  while (sent < wire.size()) {
    if (!wait_for(fd.get(), POLLOUT, deadline)) return Status::error(what + ": timed out");
    ssize_t n = ::send(fd.get(), wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Status::error(what + ": " + errno_text(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string response;
  constexpr size_t kMaxResponse = 64 << 20;
  char buffer[65536];
  while (true) {
    if (!wait_for(fd.get(), POLLIN, deadline)) return Status::error(what + ": timed out");
    ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::error(what + ": " + errno_text(errno));
    }
    response.append(buffer, static_cast<size_t>(n));
    if (response.size() > kMaxResponse) return Status::error(what + ": response too large");
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
