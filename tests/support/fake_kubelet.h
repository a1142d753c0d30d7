// A fake kubelet for attribution tests: serves a `/pods` document on a free
// loopback port from its own thread, or HTTP 500 while failing(true).
// Remembers the Authorization header of the last request.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tests/support/test_support.h"

namespace netobs::testing {

class FakeKubelet {
 public:
  FakeKubelet() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeKubelet() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  FakeKubelet(const FakeKubelet&) = delete;
  FakeKubelet& operator=(const FakeKubelet&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pods"; }
  void set_pods(const std::string& json) {
    std::lock_guard lock(mutex_);
    body_ = json;
  }
  void set_failing(bool failing) { failing_ = failing; }
  int requests() const { return requests_; }
  std::string last_authorization() const {
    std::lock_guard lock(mutex_);
    return authorization_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd c{client, POLLIN, 0};
        if (::poll(&c, 1, 2000) <= 0) break;
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      std::string response;
      {
        std::lock_guard lock(mutex_);
        size_t auth = request.find("Authorization: ");
        authorization_ = auth == std::string::npos
                             ? ""
                             : request.substr(auth + 15, request.find("\r\n", auth) - auth - 15);
        if (failing_) {
          response = "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        } else {
          response = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body_.size()) + "\r\n\r\n" + body_;
        }
      }
      ++requests_;
      ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failing_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string body_ = R"({"kind":"PodList","items":[]})";
  std::string authorization_;
  std::thread thread_;
};

// A /pods document with one pod and one container.
// A fake kubelet over TLS, as real nodes serve it (https://<node>:10250/pods
// with a service-account token): Python's http.server wrapped in its ssl
// module, with the certificate and key given (tests/support/test_certs.h
// makes them). Answers GET /pods with the document only when the request
// carries "Authorization: Bearer <token>", else 401.
class FakeHttpsKubelet {
 public:
  FakeHttpsKubelet(const TempDir& dir, const std::string& cert, const std::string& key,
                   const std::string& pods_json, const std::string& token) {
    const std::string script = dir.write("fake_kubelet.py", R"(import http.server, ssl, sys
cert, key, pods, token = sys.argv[1:5]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/pods":
            code, body = 404, b""
        elif self.headers.get("Authorization") != "Bearer " + token:
            code, body = 401, b"Unauthorized"
        else:
            code, body = 200, open(pods, "rb").read()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("port", server.server_address[1], flush=True)
server.serve_forever()
)");
    const std::string pods = dir.write("kubelet_pods.json", pods_json);
    process_ = std::make_unique<Subprocess>(
        std::vector<std::string>{"python3", script, cert, key, pods, token});
    for (int i = 0; i < 500 && port_ == 0 && process_->running(); ++i) {
      const std::string out = process_->output();
      const size_t at = out.find("port ");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        port_ = std::stoi(out.substr(at + 5));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  bool ok() const { return port_ != 0; }
  std::string output() const { return process_->output(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/pods"; }

 private:
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

inline std::string pod_list_json(const std::string& uid, const std::string& name,
                                 const std::string& namespace_name, const std::string& container,
                                 const std::string& container_id) {
  return R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":")" +
         name + R"(","namespace":")" + namespace_name + R"(","uid":")" + uid +
         R"(","labels":{"app":"x"}},"spec":{"containers":[{"name":")" + container +
         R"(","image":"nginx"}]},"status":{"phase":"Running","containerStatuses":[{"name":")" +
         container + R"(","containerID":"containerd://)" + container_id +
         R"(","ready":true,"restartCount":0}]}}]})";
}

}  // namespace netobs::testing
