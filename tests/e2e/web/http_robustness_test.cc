// The exporter's HTTP server under slow, idle and odd clients: idle
// connections and a slowloris client do not block a scrape, concurrent
// scrapes all complete, keep-alive and pipelining work, and absolute URIs,
// OPTIONS, HTTP/0.9 and Accept-Encoding q-values get proper answers.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends until it closes or `seconds` pass.
std::string read_until_close(int fd, double seconds, bool* closed = nullptr) {
  std::string out;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  if (closed) *closed = false;
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
    if (poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char buffer[65536];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// Sends `request` raw on a new connection; what comes back until close.
std::string raw_exchange(int port, const std::string& request, double seconds = 10,
                         bool* closed = nullptr) {
  int fd = connect_to(port);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out = read_until_close(fd, seconds, closed);
  close(fd);
  return out;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Resident pages of each of the process's connection-thread stacks: the
// anonymous writable mappings of the size most of them share (civetweb
// gives every thread the same stack size), read from /proc/PID/pagemap.
std::vector<int> thread_stack_pages(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::map<uint64_t, std::vector<uint64_t>> by_size;  // size -> start addresses
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, name;
    in >> range >> perms >> offset >> dev >> inode >> name;
    if (!name.empty() || perms.rfind("rw", 0) != 0) continue;
    const uint64_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    by_size[end - start].push_back(start);
  }
  auto most = by_size.begin();
  for (auto it = by_size.begin(); it != by_size.end(); ++it) {
    if (it->second.size() > most->second.size()) most = it;
  }
  std::vector<int> pages;
  if (most == by_size.end()) return pages;
  FILE* pagemap = std::fopen(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), "rb");
  if (pagemap == nullptr) return pages;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (uint64_t start : most->second) {
    int present = 0;
    for (uint64_t at = start; at < start + most->first; at += page) {
      uint64_t entry = 0;
      if (std::fseek(pagemap, static_cast<long>(at / page * 8), SEEK_SET) != 0 ||
          std::fread(&entry, sizeof entry, 1, pagemap) != 1) {
        break;
      }
      present += (entry >> 63) & 1;
    }
    pages.push_back(present);
  }
  std::fclose(pagemap);
  return pages;
}

class HttpRobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::free_tcp_port();
    exporter_ = std::make_unique<testing::Subprocess>(std::vector<std::string>{
        testing::exporter_binary(), "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--collector.disable-defaults", "--collector.snmp"});
    ASSERT_TRUE(testing::wait_for_http(port_, "/healthz", 20)) << exporter_->output();
  }
  void TearDown() override {
    exporter_->signal(SIGTERM);
    EXPECT_EQ(exporter_->wait(20), 0) << exporter_->output();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  int port_ = 0;
  std::unique_ptr<testing::Subprocess> exporter_;
};

TEST_F(HttpRobustnessTest, IdleConnectionsAndSlowlorisDoNotBlockAScrape) {
  // Connections that never send a byte, up to the default
  // --web.max-connections (64) with the slowloris client and the scrape:
  // 62 is more than --web.max-requests + 4 (the thread count that used to be
  // the limit), and the scrape takes the last free connection.
  constexpr int kIdle = 62;
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // A slowloris client: one header byte per second, never finishing.
  std::atomic<bool> stop{false};
  std::atomic<bool> slowloris_cut_off{false};
  std::thread slowloris([&] {
    int fd = connect_to(port_);
    const std::string header = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaa";
    for (size_t i = 0; i < header.size() && !stop; ++i) {
      if (send(fd, &header[i], 1, MSG_NOSIGNAL) != 1) {
        slowloris_cut_off = true;
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 1000) > 0) {  // the server answered or closed
        slowloris_cut_off = true;
        break;
      }
    }
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  const auto start = Clock::now();
  auto scrape = testing::http_request("127.0.0.1", port_, "/metrics", {}, 5);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->body, HasSubstr("netobs_build_info{"));
  EXPECT_LT(seconds, 2.0) << "a scrape waited behind idle/slow connections";

  // The server cuts idle and slow clients off after its header timeout (5 s).
  size_t closed_idle = 0;
  for (int fd : idle) {
    bool closed = false;
    read_until_close(fd, closed_idle == 0 ? 10 : 0.5, &closed);
    if (closed) ++closed_idle;
    close(fd);
  }
  EXPECT_EQ(closed_idle, idle.size());
  for (int i = 0; i < 100 && !slowloris_cut_off; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop = true;
  slowloris.join();
  EXPECT_TRUE(slowloris_cut_off) << "slowloris kept its connection for 20+ s";
}

// At the limit: with every connection taken by an idle client, a scrape
// waits in the listen backlog (it is neither refused nor lost) and is served
// once the server cuts the idle clients off after its header timeout (5 s).
TEST(HttpConnectionLimitTest, ScrapeBeyondTheLimitWaitsForAFreeConnection) {
  constexpr int kLimit = 8;
  const int port = testing::free_tcp_port();
  testing::Subprocess exporter(
      {testing::exporter_binary(), "--web.listen-address=127.0.0.1:" + std::to_string(port),
       "--web.max-connections=" + std::to_string(kLimit), "--web.max-requests=2",
       "--collector.disable-defaults", "--collector.snmp"});
  ASSERT_TRUE(testing::wait_for_http(port, "/healthz", 20)) << exporter.output();
  std::vector<int> idle;
  for (int i = 0; i < kLimit; ++i) {
    int fd = connect_to(port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto start = Clock::now();
  const std::string answer =
      raw_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 20);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_THAT(answer, HasSubstr("200 OK"));
  EXPECT_THAT(answer, HasSubstr("netobs_build_info{"));
  // Served only after a slot freed: the limit holds (the idle clients were
  // cut off at their header timeout, 5 s after they connected).
  EXPECT_GT(seconds, 3.0) << "served with all " << kLimit << " connections taken";
  for (int fd : idle) {
    bool closed = false;
    read_until_close(fd, 2, &closed);
    EXPECT_TRUE(closed);
    close(fd);
  }
  exporter.signal(SIGTERM);
  EXPECT_EQ(exporter.wait(20), 0) << exporter.output();
}

TEST_F(HttpRobustnessTest, ConcurrentScrapesAllComplete) {
  constexpr int kClients = 12;
  constexpr int kScrapesEach = 5;
  std::atomic<int> complete{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kScrapesEach; ++i) {
        auto r = testing::http_request("127.0.0.1", port_, "/metrics", {}, 15);
        if (r && r->status == 200 && r->body.find("netobs_build_info{") != std::string::npos &&
            r->body.ends_with("\n")) {
          ++complete;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(complete.load(), kClients * kScrapesEach);
}

TEST_F(HttpRobustnessTest, KeepAliveAndPipelinedRequests) {
  // Two requests in one packet: two answers, in order, on one connection.
  std::string out = raw_exchange(port_, "GET /healthz HTTP/1.1\r\nHost: " + host() +
                                            "\r\n\r\nGET /metrics HTTP/1.1\r\nHost: " + host() +
                                            "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 2u) << out;
  const auto second = out.find("HTTP/1.1 200 OK\r\n", 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_THAT(out.substr(0, second), HasSubstr("Connection: keep-alive\r\n"));
  EXPECT_THAT(out.substr(0, second), HasSubstr("\r\n\r\nok\n"));
  EXPECT_THAT(out.substr(second), HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(out.substr(second), HasSubstr("netobs_build_info{"));

  // Keep-alive: the connection stays open for the next request.
  int fd = connect_to(port_);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: " + host() + "\r\n\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    bool closed = false;
    std::string answer = read_until_close(fd, 1, &closed);
    EXPECT_FALSE(closed) << "request " << i;
    EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(answer, HasSubstr("Connection: keep-alive\r\n"));
  }
  close(fd);

  // HTTP/1.0 without keep-alive: answered, then closed.
  bool closed = false;
  out = raw_exchange(port_, "GET /healthz HTTP/1.0\r\n\r\n", 10, &closed);
  EXPECT_THAT(out, HasSubstr("200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(closed);
}

TEST_F(HttpRobustnessTest, AbsoluteUriOptionsAndOldVersionsGetAnswers) {
  std::string out =
      raw_exchange(port_, "GET http://" + host() + "/metrics HTTP/1.1\r\nHost: " + host() +
                              "\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("netobs_build_info{"));
  out =
      raw_exchange(port_, "GET http://localhost:" + std::to_string(port_) +
                              "/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK\r\n"));

  // An absolute URI naming another port (as through a proxy) is still ours.
  out = raw_exchange(port_, "GET http://example.com/metrics HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(out, HasSubstr("netobs_build_info{"));

  out = raw_exchange(port_, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 204 No Content\r\n"));
  EXPECT_THAT(out, HasSubstr("Allow: GET, HEAD, OPTIONS\r\n"));
  out = raw_exchange(port_, "GET * HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 400 Bad Request\r\n"));

  out = raw_exchange(port_, "OPTIONS /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 204 No Content\r\n"));
  EXPECT_THAT(out, HasSubstr("Allow: GET, HEAD, OPTIONS\r\n"));

  out = raw_exchange(port_, "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(out, HasSubstr("Allow: GET, HEAD, OPTIONS\r\n"));

  // HTTP/0.9 (no version, no headers): an error answer, not a silent close.
  bool closed = false;
  out = raw_exchange(port_, "GET /metrics\r\n", 12, &closed);
  EXPECT_THAT(out, HasSubstr(" 400 ")) << out;
  EXPECT_TRUE(closed);

  out = raw_exchange(port_, "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n");
  EXPECT_THAT(out, HasSubstr(" 505 ")) << out;
}

TEST_F(HttpRobustnessTest, OnlyTheExactTelemetryPathServesMetrics) {
  for (const char* path :
       {"/metrics/", "/metricsx", "/METRICS", "/metrics/../metrics2", "/x/metrics"}) {
    auto r = testing::http_request("127.0.0.1", port_, path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_THAT(r->body, Not(HasSubstr("netobs_build_info"))) << path;
  }
  auto query = testing::http_request("127.0.0.1", port_, "/metrics?format=text");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 200);
  EXPECT_THAT(query->body, HasSubstr("netobs_build_info{"));
}

TEST_F(HttpRobustnessTest, AcceptEncodingQValuesDecideGzip) {
  struct Want {
    const char* accept_encoding;
    bool gzip;
  };
  for (const Want& want : std::vector<Want>{{"gzip", true},
                                            {"GZip", true},
                                            {"deflate, gzip;q=0.5", true},
                                            {"*", true},
                                            {"gzip;q=0", false},
                                            {"gzip; q=0.0, identity", false},
                                            {"identity", false},
                                            {"*;q=0", false},
                                            {"br", false}}) {
    std::string out = raw_exchange(port_, std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n") +
                                              "Accept-Encoding: " + want.accept_encoding +
                                              "\r\nConnection: close\r\n\r\n");
    const auto body = out.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos) << want.accept_encoding;
    EXPECT_EQ(out.substr(0, body).find("Content-Encoding: gzip") != std::string::npos, want.gzip)
        << want.accept_encoding;
    // The body really is gzip (magic 1f 8b) or really plain text.
    EXPECT_EQ(out.compare(body + 4, 2, "\x1f\x8b") == 0, want.gzip) << want.accept_encoding;
  }
}

}  // namespace
}  // namespace netobs

namespace netobs {
namespace {

// civetweb hands each new connection to the thread that has waited longest,
// so 300 short connections reach every one of the 64 connection threads.
// A thread that served a scrape hands its stack pages back when the
// connection closes (it kept 6-7 pages instead of 2 before), and the
// exporter runs without glibc's per-thread caches of freed blocks.
TEST_F(HttpRobustnessTest, ConnectionThreadsKeepNoMemoryAfterShortConnections) {
  const std::vector<int> idle = thread_stack_pages(exporter_->pid());
  ASSERT_GE(idle.size(), 64u);
  // What a thread that has not served yet holds (the /healthz wait used one).
  std::map<int, int> idle_counts;
  for (int pages : idle) ++idle_counts[pages];
  const int idle_pages =
      std::max_element(idle_counts.begin(), idle_counts.end(), [](auto& a, auto& b) {
        return a.second < b.second;
      })->first;
  for (int i = 0; i < 300; ++i) {
    const std::string answer = raw_exchange(
        port_,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    ASSERT_THAT(answer, HasSubstr("200 OK")) << "scrape " << i;
  }
  const std::vector<int> served = thread_stack_pages(exporter_->pid());
  ASSERT_EQ(served.size(), idle.size());
  size_t grown = 0;
  int most = 0;
  for (int pages : served) {
    grown += pages > idle_pages ? 1 : 0;
    most = std::max(most, pages);
  }
  EXPECT_EQ(grown, 0u) << "of " << served.size() << " thread stacks, " << grown
                       << " hold more than " << idle_pages << " pages (up to " << most << ")";
  const std::string environ =
      testing::read_file("/proc/" + std::to_string(exporter_->pid()) + "/environ");
  EXPECT_THAT(environ, HasSubstr("GLIBC_TUNABLES=glibc.malloc.tcache_count=0"));
  // Restarted under its own name (not "exe", as executing /proc/self/exe gives).
  EXPECT_EQ(testing::read_file("/proc/" + std::to_string(exporter_->pid()) + "/comm"),
            "netobs_exporter\n");
}

}  // namespace
}  // namespace netobs
