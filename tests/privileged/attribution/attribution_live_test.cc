// Attribution on the real kernel (root): the exporter's socket collector with
// `attribution: cgroup` while the test's own child processes make loopback
// TCP and UDP traffic from cgroups shaped like real nodes' (Kubernetes with
// the systemd and cgroupfs drivers, a systemd service, a Docker scope),
// created under the cgroup2 mount with a unique prefix and removed after.
// Truth: the number of sends each child made. A fake kubelet serves /pods.
// The dns collector with `attribution: cgroup`: dig run inside those cgroups
// against a real dnsmasq on loopback; truth: the answers dig got.
// The tcp collector with `attribution: cgroup`: connections, bytes by the
// socket's cgroup, against the connections and bytes each child made.
// The drops collector with `attribution: cgroup`: receive-buffer drops by
// the socket's cgroup, against the kernel's UdpRcvbufErrors.
// Also: label slots reclaimed after churn (1000 short-lived process names,
// then a long-running one gets its own series).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h>  // not <netinet/tcp.h>: its tcp_info lacks tcpi_segs_in
#include <signal.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <poll.h>
#include <sstream>
#include <thread>

#include "exporter/attribution/cgroup_resolver.h"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_kubelet.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kUid = "6f9e1c0a-52b4-4d3e-9a77-0c1d2e3f4a5b";
const std::string kUid2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const std::string kId = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
const std::string kId2 = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const std::string kId3 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string underscored(std::string uid) {
  for (char& c : uid) c = c == '-' ? '_' : c;
  return uid;
}

// A loopback UDP socket and TCP listener nobody reads: sends to them
// succeed, and the test's own process never sends.
struct Sinks {
  int udp = -1, tcp = -1;
  uint16_t udp_port = 0, tcp_port = 0;
  Sinks() {
    udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    for (int* fd : {&udp, &tcp}) {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      socklen_t len = sizeof addr;
      ::getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
      (fd == &udp ? udp_port : tcp_port) = ntohs(addr.sin_port);
    }
    int size = 4 << 20;
    ::setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::listen(tcp, 64);
  }
  ~Sinks() {
    ::close(udp);
    ::close(tcp);
  }
};

// A child process with its own comm that makes traffic on command: UDP
// sends of 1 byte, or a TCP connection with N sends of 100 bytes.
class Worker {
 public:
  explicit Worker(const std::string& comm) {
    int cmd[2], ack[2];
    EXPECT_EQ(::pipe2(cmd, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(ack, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_NAME, comm.c_str());
      ::close(cmd[1]);
      ::close(ack[0]);
      serve(cmd[0], ack[1]);
    }
    ::close(cmd[0]);
    ::close(ack[1]);
    cmd_ = cmd[1];
    ack_ = ack[0];
  }
  ~Worker() {
    ::close(cmd_);
    ::close(ack_);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  void udp(int count, uint16_t port) { run(1, count, port); }
  void tcp(int count, uint16_t port) { run(2, count, port); }

 private:
  struct Command {
    int32_t op, count, port;
  };
  void run(int op, int count, uint16_t port) {
    Command c{op, count, port};
    ASSERT_EQ(::write(cmd_, &c, sizeof c), static_cast<ssize_t>(sizeof c));
    char done = 0;
    ASSERT_EQ(::read(ack_, &done, 1), 1);
    ASSERT_EQ(done, 'y') << "worker traffic failed";
  }
  [[noreturn]] static void serve(int cmd, int ack) {
    Command c{};
    while (::read(cmd, &c, sizeof c) == static_cast<ssize_t>(sizeof c)) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(static_cast<uint16_t>(c.port));
      bool ok = true;
      int fd = ::socket(AF_INET, c.op == 1 ? SOCK_DGRAM : SOCK_STREAM, 0);
      if (c.op == 2) ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
      char payload[100] = {};
      for (int i = 0; ok && i < c.count; ++i) {
        ssize_t n = c.op == 1
                        ? ::sendto(fd, payload, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to)
                        : ::send(fd, payload, sizeof payload, 0);
        ok = n == (c.op == 1 ? 1 : static_cast<ssize_t>(sizeof payload));
      }
      ::close(fd);
      char done = ok ? 'y' : 'n';
      if (::write(ack, &done, 1) != 1) break;
    }
    ::_exit(0);
  }

  pid_t pid_ = -1;
  int cmd_ = -1, ack_ = -1;
};

// Cgroups under <cgroup2 mount>/nbat-<pid>/, removed (children first) at the end.
class CgroupTree {
 public:
  CgroupTree() {
    Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
    if (!mount) return;
    root_ = *mount;
    prefix_ = "/nbat-" + std::to_string(::getpid());
    fs::create_directories(root_ + prefix_);
  }
  ~CgroupTree() {
    // Deepest first; a cgroup whose last process just exited may be busy briefly.
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_ + prefix_, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory()) dirs.push_back(it->path());
    }
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.string().size() > b.string().size();
    });
    dirs.push_back(root_ + prefix_);
    for (const fs::path& dir : dirs) remove(dir.string());
  }
  bool ok() const { return !root_.empty(); }
  // Creates <prefix>/<path> and returns its path below the mount.
  std::string make(const std::string& path) {
    fs::create_directories(root_ + prefix_ + "/" + path);
    return prefix_ + "/" + path;
  }
  // The cgroup of kId in pod kUid, as the kubelet's systemd driver names it.
  std::string make_pod_container() {
    return make("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                underscored(kUid) + ".slice/cri-containerd-" + kId + ".scope");
  }
  // The cgroup of kId2 in pod kUid2, as the cgroupfs driver names it.
  std::string make_cgroupfs_pod_container() {
    return make("kubepods/burstable/pod" + kUid2 + "/" + kId2);
  }
  void move(pid_t pid, const std::string& cgroup) {
    std::ofstream procs(root_ + cgroup + "/cgroup.procs");
    procs << pid << "\n";
    procs.flush();
    ASSERT_TRUE(procs.good()) << "moving " << pid << " to " << cgroup;
  }
  static bool remove(const std::string& dir) {
    for (int i = 0; i < 100; ++i) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_, prefix_;
};

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string text;
  for (const auto& [name, value] : labels) {
    if (!text.empty()) text += ",";
    text += name + "=\"" + value + "\"";
  }
  return text;
}

std::map<std::string, std::string> owner(const std::string& container_id,
                                         const std::string& pod_uid, const std::string& unit,
                                         const std::string& pod = "", const std::string& ns = "",
                                         const std::string& container = "") {
  return {{"container_id", container_id},
          {"pod_uid", pod_uid},
          {"unit", unit},
          {"pod", pod},
          {"namespace", ns},
          {"container", container}};
}

double calls(const std::string& text, std::map<std::string, std::string> labels,
             const std::string& protocol) {
  labels["protocol"] = protocol;
  labels["direction"] = "send";
  labels["ip_version"] = "4";
  return testing::metric_value(text, "netobs_socket_calls_total", labels_text(labels)).value_or(-1);
}

// collectors_yaml with attribution by the kubelet at `kubelet`: labels kept,
// a gone cgroup noticed after 1 s, names refreshed every 2 s.
std::string with_kubelet(const std::string& collectors_yaml, const testing::FakeKubelet& kubelet) {
  return collectors_yaml +
         "attribution:\n  label_idle_time: 720h\n  gone_after: 1s\n"
         "  metadata_refresh: 2s\n  kubelet_url: " +
         kubelet.url() + "\n";
}

void require_root() {
  if (testing::running_as_root()) return;
  if (testing::running_in_ci()) FAIL() << "attribution tests need root in CI";
  GTEST_SKIP() << "needs root";
}

TEST(AttributionLive, SocketSeriesCarryContainerPodAndUnitLabels) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::FakeKubelet kubelet;
  kubelet.set_failing(true);  // first: no names, the failures counted
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::ExporterProcess exporter(
      {.collectors = {"socket"},
       .config_yaml = with_kubelet(
           "collectors:\n  socket:\n    attribution: cgroup\n    max_processes: 256\n", kubelet),
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();

  const std::string k8s_systemd = tree.make_pod_container();
  const std::string k8s_cgroupfs = tree.make_cgroupfs_pod_container();
  const std::string service = tree.make("system.slice/nbat-web.service");
  const std::string docker = tree.make("system.slice/docker-" + kId3 + ".scope");

  Sinks sinks;
  Worker a("nbat-a"), b("nbat-b"), c("nbat-c");
  tree.move(a.pid(), k8s_systemd);
  tree.move(b.pid(), k8s_cgroupfs);
  tree.move(c.pid(), service);
  a.udp(7, sinks.udp_port);
  a.tcp(5, sinks.tcp_port);
  b.udp(11, sinks.udp_port);
  c.tcp(3, sinks.tcp_port);

  // The kubelet fails: series flow without names, the failure is counted.
  std::string text = exporter.scrape();
  auto pod_a = owner(kId.substr(0, 12), kUid, "");
  EXPECT_EQ(calls(text, pod_a, "udp"), 7) << text;
  EXPECT_EQ(calls(text, pod_a, "tcp"), 5);
  EXPECT_EQ(calls(text, owner(kId2.substr(0, 12), kUid2, ""), "udp"), 11);
  EXPECT_EQ(calls(text, owner("", "", "nbat-web.service"), "tcp"), 3);
  EXPECT_GE(testing::metric_value(text, "netobs_attribution_metadata_failures_total").value_or(0),
            1)
      << text;

  // The kubelet answers: pod, namespace and container names appear.
  kubelet.set_failing(false);
  auto named_a = owner(kId.substr(0, 12), kUid, "", "web-0", "shop", "nginx");
  text = exporter.scrape_until("netobs_socket_calls_total", labels_text([&] {
                                 auto l = named_a;
                                 l["protocol"] = "udp";
                                 l["direction"] = "send";
                                 l["ip_version"] = "4";
                                 return l;
                               }()),
                               7, 15);
  EXPECT_EQ(calls(text, named_a, "udp"), 7) << text;
  EXPECT_EQ(calls(text, named_a, "tcp"), 5);
  EXPECT_GE(testing::metric_value(text, "netobs_attribution_metadata_refreshes_total").value_or(0),
            1);

  // A process moved to another cgroup counts there from its next operation.
  tree.move(c.pid(), docker);
  c.udp(4, sinks.udp_port);
  text = exporter.scrape();
  EXPECT_EQ(calls(text, owner(kId3.substr(0, 12), "", ""), "udp"), 4) << text;
  EXPECT_EQ(calls(text, owner("", "", "nbat-web.service"), "tcp"), 3);
  EXPECT_EQ(calls(text, owner("", "", "nbat-web.service"), "udp"), 0);

  // A removed cgroup's series age out (gone_after: 1s).
  tree.move(b.pid(), tree.make("."));
  ASSERT_TRUE(CgroupTree::remove(tree.root() + k8s_cgroupfs));
  exporter.scrape();
  std::this_thread::sleep_for(1500ms);
  exporter.scrape();  // frees the slot: its series disappear
  text = exporter.scrape();
  EXPECT_EQ(text.find("container_id=\"" + kId2.substr(0, 12) + "\""), std::string::npos) << text;
  EXPECT_EQ(calls(text, named_a, "udp"), 7);  // still there
  EXPECT_EQ(exporter.terminate(), 0);
}

// A loopback TCP server in the test process: accepts, reads to EOF, closes,
// so each client connection reaches CLOSE (via TIME_WAIT) within a scrape.
class DrainingServer {
 public:
  DrainingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 64);
    thread_ = std::thread([this] { serve(); });
  }
  ~DrainingServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      char buffer[4096];
      pollfd c{conn, POLLIN, 0};
      // Bounded: a client that never closes is dropped after 5 s.
      for (int i = 0; i < 100 && ::poll(&c, 1, 50) >= 0; ++i) {
        if ((c.revents & POLLIN) == 0) continue;
        if (::read(conn, buffer, sizeof buffer) <= 0) break;
      }
      ::close(conn);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

double tcp_value(const std::string& text, const std::string& metric,
                 std::map<std::string, std::string> labels, const std::string& direction = "") {
  if (!direction.empty()) labels["direction"] = direction;
  return testing::metric_value(text, "netobs_tcp_cgroup_" + metric, labels_text(labels))
      .value_or(-1);
}

TEST(AttributionLive, TcpSeriesCarryContainerPodAndUnitLabels) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::FakeKubelet kubelet;
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::ExporterProcess exporter(
      {.collectors = {"tcp"},
       .config_yaml = with_kubelet(
           "collectors:\n  tcp:\n    attribution: cgroup\n    max_cgroups: 4096\n", kubelet),
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();

  const std::string k8s_systemd = tree.make_pod_container();
  const std::string k8s_cgroupfs = tree.make_cgroupfs_pod_container();
  const std::string service = tree.make("system.slice/nbat-web.service");
  const std::string docker = tree.make("system.slice/docker-" + kId3 + ".scope");

  DrainingServer server;
  Worker a("nbat-a"), b("nbat-b"), c("nbat-c");
  tree.move(a.pid(), k8s_systemd);
  tree.move(b.pid(), k8s_cgroupfs);
  tree.move(c.pid(), service);
  // Connections of N sends of 100 bytes each.
  a.tcp(5, server.port());
  a.tcp(2, server.port());
  b.tcp(11, server.port());
  c.tcp(3, server.port());

  auto named_a = owner(kId.substr(0, 12), kUid, "", "web-0", "shop", "nginx");
  auto pod_b = owner(kId2.substr(0, 12), kUid2, "");
  auto unit_c = owner("", "", "nbat-web.service");
  // Closes arrive when the server has drained and closed each connection.
  std::string text = exporter.scrape_until("netobs_tcp_cgroup_connections_closed_total",
                                           labels_text(unit_c), 1, 15);
  text = exporter.scrape_until("netobs_tcp_cgroup_connections_closed_total", labels_text(named_a),
                               2, 15);
  EXPECT_EQ(tcp_value(text, "connections_opened_total", named_a, "active"), 2) << text;
  EXPECT_EQ(tcp_value(text, "connections_opened_total", named_a, "passive"), 0);
  EXPECT_EQ(tcp_value(text, "connections_closed_total", named_a), 2);
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", named_a), 700);
  EXPECT_EQ(tcp_value(text, "received_bytes_total", named_a), 0);
  EXPECT_EQ(tcp_value(text, "connections_opened_total", pod_b, "active"), 1);
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", pod_b), 1100);
  EXPECT_EQ(tcp_value(text, "connections_opened_total", unit_c, "active"), 1);
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", unit_c), 300);
  EXPECT_EQ(tcp_value(text, "retransmits_total", unit_c), 0);

  // A process moved to another cgroup: its next connection counts there.
  tree.move(c.pid(), docker);
  c.tcp(4, server.port());
  auto docker_c = owner(kId3.substr(0, 12), "", "");
  text = exporter.scrape_until("netobs_tcp_cgroup_connections_closed_total", labels_text(docker_c),
                               1, 15);
  EXPECT_EQ(tcp_value(text, "connections_opened_total", docker_c, "active"), 1) << text;
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", docker_c), 400);
  EXPECT_EQ(tcp_value(text, "connections_opened_total", unit_c, "active"), 1);
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", unit_c), 300);
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"tcp\",metric=\"cgroup\""),
            0);

  // A removed cgroup's series age out (gone_after: 1s).
  tree.move(b.pid(), tree.make("."));
  ASSERT_TRUE(CgroupTree::remove(tree.root() + k8s_cgroupfs));
  exporter.scrape();
  std::this_thread::sleep_for(1500ms);
  exporter.scrape();  // deletes the gone cgroup's entry
  text = exporter.scrape();
  EXPECT_EQ(text.find("container_id=\"" + kId2.substr(0, 12) + "\""), std::string::npos) << text;
  EXPECT_EQ(tcp_value(text, "sent_bytes_total", named_a), 700);  // still there
  EXPECT_EQ(exporter.terminate(), 0);
}

// Past max_cgroups, connections fold into the labels-"other" series and are
// counted in netobs_series_dropped_total (other hosts' traffic may take the
// one slot first, so the test checks sums, not which cgroup got it).
TEST(AttributionLive, TcpCgroupsBeyondTheCapFoldIntoOther) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::ExporterProcess exporter(
      {.collectors = {"tcp"},
       .config_yaml = "collectors:\n  tcp:\n    attribution: cgroup\n    max_cgroups: 1\n",
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();
  DrainingServer server;
  Worker a("nbat-a"), b("nbat-b");
  tree.move(a.pid(), tree.make("system.slice/nbat-one.service"));
  tree.move(b.pid(), tree.make("system.slice/nbat-two.service"));
  a.tcp(1, server.port());
  a.tcp(1, server.port());
  b.tcp(1, server.port());
  b.tcp(1, server.port());
  b.tcp(1, server.port());
  const std::string text = exporter.scrape();
  // Our 5 active opens: in the one own series of a or b, or under "other".
  const auto other = owner("other", "other", "other", "other", "other", "other");
  double ours = 0;
  int own_series = 0;
  for (const auto& who : {owner("", "", "nbat-one.service"), owner("", "", "nbat-two.service")}) {
    double v = tcp_value(text, "connections_opened_total", who, "active");
    if (v >= 0) {
      ours += v;
      ++own_series;
    }
  }
  const double folded = tcp_value(text, "connections_opened_total", other, "active");
  EXPECT_LE(own_series, 1) << text;
  EXPECT_GE(folded, 5 - ours) << text;
  EXPECT_GE(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"tcp\",metric=\"cgroup\"")
                .value_or(0),
            5 - ours);
  EXPECT_EQ(exporter.terminate(), 0);
}

// Brings up lo of the calling process's network namespace.
bool loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  ::close(fd);
  return ok;
}

// A child in `cgroup` opens a loopback TCP connection to itself (listener,
// client and accepted socket all in that cgroup) and ping-pongs `rounds`
// 32-byte messages. It reports the segments both sockets received during
// the ping-pong (tcpi_segs_in: every one runs tcp:tcp_probe, one RTT
// sample each) and keeps the connection open until `release` is called, so
// no closing segment adds samples before the test scrapes.
class RttChild {
 public:
  RttChild(const CgroupTree& tree, const std::string& cgroup, int rounds) {
    int result[2], go[2];
    if (::pipe(result) != 0 || ::pipe(go) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(result[0]);
      ::close(go[1]);
      {
        std::ofstream procs(tree.root() + cgroup + "/cgroup.procs");
        procs << ::getpid() << "\n";
        procs.flush();
        if (!procs.good()) ::_exit(2);
      }
      int64_t segments = -1;
      const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      int client = -1, server = -1;
      if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::listen(listener, 4) == 0 &&
          ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        client = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
          server = ::accept(listener, nullptr, nullptr);
        }
      }
      if (server >= 0) {
        auto segs_in = [](int fd) {
          tcp_info info{};
          socklen_t size = sizeof info;
          ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size);
          return static_cast<int64_t>(info.tcpi_segs_in);
        };
        std::this_thread::sleep_for(100ms);
        const int64_t before = segs_in(client) + segs_in(server);
        char buffer[32] = {};
        bool ok = true;
        for (int i = 0; i < rounds && ok; ++i) {
          ok = ::send(client, buffer, sizeof buffer, 0) == sizeof buffer &&
               ::recv(server, buffer, sizeof buffer, MSG_WAITALL) == sizeof buffer &&
               ::send(server, buffer, sizeof buffer, 0) == sizeof buffer &&
               ::recv(client, buffer, sizeof buffer, MSG_WAITALL) == sizeof buffer;
        }
        std::this_thread::sleep_for(300ms);  // delayed ACKs
        if (ok) segments = segs_in(client) + segs_in(server) - before;
      }
      [[maybe_unused]] ssize_t n = ::write(result[1], &segments, sizeof segments);
      char byte;
      n = ::read(go[0], &byte, 1);  // until release()
      ::_exit(0);
    }
    ::close(result[1]);
    ::close(go[0]);
    go_ = go[1];
    if (::read(result[0], &segments_, sizeof segments_) != sizeof segments_) segments_ = -1;
    ::close(result[0]);
  }
  ~RttChild() { release(); }
  int64_t segments() const { return segments_; }
  void release() {
    // A byte, not EOF: a later child holds a copy of this pipe's write end.
    if (go_ >= 0) {
      [[maybe_unused]] ssize_t n = ::write(go_, "x", 1);
      ::close(go_);
    }
    go_ = -1;
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  int64_t segments_ = -1;
};

// The tcp collector with `attribution: cgroup`: the RTT histogram by the
// socket's cgroup has one sample per segment the cgroup's sockets received
// (the kernel's tcpi_segs_in), and the cgroup's series ages out once gone.
TEST(AttributionLive, TcpRttByCgroupCountsEverySegmentReceived) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::FakeKubelet kubelet;
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::ExporterProcess exporter(
      {.collectors = {"tcp"},
       .config_yaml = with_kubelet(
           "collectors:\n  tcp:\n    attribution: cgroup\n    max_cgroups: 4096\n", kubelet),
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();
  const std::string pod_cgroup = tree.make_pod_container();
  const std::string service = tree.make("system.slice/nbat-rtt.service");
  RttChild pod(tree, pod_cgroup, 20);
  RttChild unit(tree, service, 7);
  ASSERT_GE(pod.segments(), 40);
  ASSERT_GE(unit.segments(), 14);
  const std::string count = "netobs_tcp_cgroup_rtt_seconds_count";
  const auto named = owner(kId.substr(0, 12), kUid, "", "web-0", "shop", "nginx");
  const auto unit_labels = owner("", "", "nbat-rtt.service");
  std::string text =
      exporter.scrape_until(count, labels_text(named), static_cast<double>(pod.segments()), 15);
  EXPECT_EQ(testing::metric_value(text, count, labels_text(named)),
            static_cast<double>(pod.segments()))
      << text;
  EXPECT_EQ(testing::metric_value(text, count, labels_text(unit_labels)),
            static_cast<double>(unit.segments()));
  // Loopback RTTs: positive, far below a second on average.
  const double sum =
      testing::metric_value(text, "netobs_tcp_cgroup_rtt_seconds_sum", labels_text(named))
          .value_or(-1);
  EXPECT_GT(sum, 0);
  EXPECT_LT(sum / static_cast<double>(pod.segments()), 0.1);
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"tcp\",metric=\"cgroup\""),
            0);
  pod.release();
  unit.release();

  // A removed cgroup's RTT series ages out (gone_after: 1s).
  ASSERT_TRUE(CgroupTree::remove(tree.root() + service));
  exporter.scrape();
  std::this_thread::sleep_for(1500ms);
  exporter.scrape();  // deletes the gone cgroup's entries
  text = exporter.scrape();
  EXPECT_EQ(text.find("nbat-rtt.service"), std::string::npos) << text;
  EXPECT_TRUE(testing::metric_value(text, count, labels_text(named)).has_value());
  EXPECT_EQ(exporter.terminate(), 0);
}

// A child in `cgroup` with a network namespace of its own (so no other
// traffic of the host counts there) overflows a UDP receive buffer it never
// reads on loopback. Returns Udp RcvbufErrors of that namespace (the
// kernel's count of the drops), or -1.
int64_t overflow_udp_rcvbuf_in(const CgroupTree& tree, const std::string& cgroup, int datagrams) {
  int result_pipe[2];
  if (::pipe(result_pipe) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(result_pipe[0]);
    int64_t errors = -1;
    {
      std::ofstream procs(tree.root() + cgroup + "/cgroup.procs");
      procs << ::getpid() << "\n";
      procs.flush();
      if (!procs.good()) ::_exit(2);
    }
    // Sockets take the cgroup of the process that creates them: after the move.
    if (::unshare(CLONE_NEWNET) != 0 || !loopback_up()) ::_exit(3);
    int receiver = ::socket(AF_INET, SOCK_DGRAM, 0);
    int sender = ::socket(AF_INET, SOCK_DGRAM, 0);
    int tiny = 1;
    ::setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(9000);
    if (::bind(receiver, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(4);
    char payload[1000] = {};
    for (int i = 0; i < datagrams; ++i) {
      ::sendto(sender, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    std::this_thread::sleep_for(200ms);  // loopback delivery (softirq) done
    std::ifstream snmp("/proc/self/net/snmp");
    std::string header, values;
    while (std::getline(snmp, header) && std::getline(snmp, values)) {
      if (header.rfind("Udp: ", 0) != 0) continue;
      std::istringstream names(header), numbers(values);
      std::string name, number;
      while (names >> name && numbers >> number) {
        if (name == "RcvbufErrors") errors = std::stoll(number);
      }
    }
    [[maybe_unused]] ssize_t n = ::write(result_pipe[1], &errors, sizeof errors);
    ::_exit(0);
  }
  ::close(result_pipe[1]);
  int64_t errors = -1;
  if (::read(result_pipe[0], &errors, sizeof errors) != sizeof errors) errors = -1;
  ::close(result_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? errors : -1;
}

double cgroup_drops(const std::string& text, std::map<std::string, std::string> labels) {
  labels["reason"] = "SOCKET_RCVBUFF";
  labels["family"] = "ipv4";
  labels["protocol"] = "udp";
  return testing::metric_value(text, "netobs_drops_cgroup_total", labels_text(labels)).value_or(-1);
}

// The drops collector with `attribution: cgroup`: receive-buffer drops are
// counted for the cgroup of the socket (the drop runs in softirq context,
// not in the receiving process), exactly the kernel's UdpRcvbufErrors.
TEST(AttributionLive, DropsOfASocketCarryItsContainerAndPodLabels) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::FakeKubelet kubelet;
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::ExporterProcess exporter(
      {.collectors = {"drops"},
       .config_yaml = with_kubelet(
           "collectors:\n  drops:\n    attribution: cgroup\n    max_cgroups: 4096\n", kubelet),
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();
  const std::string k8s_systemd = tree.make_pod_container();
  const std::string service = tree.make("system.slice/nbat-drops.service");

  const int64_t pod_drops = overflow_udp_rcvbuf_in(tree, k8s_systemd, 60);
  const int64_t unit_drops = overflow_udp_rcvbuf_in(tree, service, 30);
  ASSERT_GT(pod_drops, 40);
  ASSERT_GT(unit_drops, 15);
  auto named = owner(kId.substr(0, 12), kUid, "", "web-0", "shop", "nginx");
  auto unit = owner("", "", "nbat-drops.service");
  std::string text = exporter.scrape_until(
      "netobs_drops_cgroup_total",
      labels_text(named) + ",reason=\"SOCKET_RCVBUFF\",family=\"ipv4\",protocol=\"udp\"",
      static_cast<double>(pod_drops), 15);
  EXPECT_EQ(cgroup_drops(text, named), static_cast<double>(pod_drops)) << text;
  EXPECT_EQ(cgroup_drops(text, unit), static_cast<double>(unit_drops)) << text;
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"drops\",metric=\"cgroup\""),
            0);

  // A removed cgroup's series age out (gone_after: 1s).
  ASSERT_TRUE(CgroupTree::remove(tree.root() + service));
  exporter.scrape();
  std::this_thread::sleep_for(1500ms);
  exporter.scrape();  // deletes the gone cgroup's entries
  text = exporter.scrape();
  EXPECT_EQ(text.find("nbat-drops.service"), std::string::npos) << text;
  EXPECT_EQ(cgroup_drops(text, named), static_cast<double>(pod_drops));
  EXPECT_EQ(exporter.terminate(), 0);
}

// Past max_cgroups, drops fold into the labels-"other" series and are counted
// in netobs_series_dropped_total (other hosts' socket drops may take the one
// entry first, so the test checks sums).
TEST(AttributionLive, DropsBeyondTheCapFoldIntoOther) {
  require_root();
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  testing::ExporterProcess exporter(
      {.collectors = {"drops"},
       .config_yaml = "collectors:\n  drops:\n    attribution: cgroup\n    max_cgroups: 1\n",
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();
  const auto one = owner("", "", "nbat-one.service"), two = owner("", "", "nbat-two.service");
  const int64_t drops_one =
      overflow_udp_rcvbuf_in(tree, tree.make("system.slice/nbat-one.service"), 30);
  const int64_t drops_two =
      overflow_udp_rcvbuf_in(tree, tree.make("system.slice/nbat-two.service"), 30);
  ASSERT_GT(drops_one, 15);
  ASSERT_GT(drops_two, 15);
  const std::string text = exporter.scrape();
  const double own_one = cgroup_drops(text, one), own_two = cgroup_drops(text, two);
  EXPECT_LE((own_one >= 0) + (own_two >= 0), 1) << text;
  // An own series is exact; the other cgroup's drops are all folded.
  double folded_at_least = 0;
  for (const auto& [own, made] : {std::pair{own_one, drops_one}, std::pair{own_two, drops_two}}) {
    if (own >= 0) {
      EXPECT_EQ(own, static_cast<double>(made));
    } else {
      folded_at_least += static_cast<double>(made);
    }
  }
  // Folded drops keep their reason only (family and protocol "other").
  auto folded = owner("other", "other", "other", "other", "other", "other");
  folded["reason"] = "SOCKET_RCVBUFF";
  folded["family"] = "other";
  folded["protocol"] = "other";
  EXPECT_GE(
      testing::metric_value(text, "netobs_drops_cgroup_total", labels_text(folded)).value_or(-1),
      folded_at_least)
      << text;
  EXPECT_GE(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"drops\",metric=\"cgroup\"")
                .value_or(0),
            folded_at_least);
  EXPECT_EQ(exporter.terminate(), 0);
}

// dnsmasq on 127.0.0.1:<free port> with one name and one NXDOMAIN zone.
class Dnsmasq {
 public:
  explicit Dnsmasq(int port)
      : port_(port),
        process_({"dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                  "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
                  "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-negcache",
                  "--host-record=a.test,10.1.2.3", "--address=/nx.test/"}) {}
  bool wait_ready() {
    for (int i = 0; i < 50; ++i) {
      auto r = testing::run_command(
          {"dig", "@127.0.0.1", "-p", std::to_string(port_), "+tries=1", "+time=1", "a.test", "A"},
          5);
      if (r.exit_code == 0 && r.output.find("status: NOERROR") != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  std::string output() const { return process_.output(); }

 private:
  int port_;
  testing::Subprocess process_;
};

// dig run from inside `cgroup` (the shell moves itself, then execs dig);
// returns dig's status ("NOERROR", "NXDOMAIN", ...).
std::string dig_in(const CgroupTree& tree, const std::string& cgroup, int port,
                   const std::string& name, bool tcp) {
  const std::string command = "echo $$ > '" + tree.root() + cgroup +
                              "/cgroup.procs' && exec dig @127.0.0.1 -p " + std::to_string(port) +
                              " +tries=1 +time=3 " + name + " A" + (tcp ? " +tcp" : "");
  auto r = testing::run_command({"sh", "-c", command}, 15);
  const size_t at = r.output.find("status: ");
  if (at == std::string::npos) return "dig failed: " + r.output;
  return r.output.substr(at + 8, r.output.find(',', at) - at - 8);
}

double dns_responses(const std::string& text, std::map<std::string, std::string> labels,
                     const std::string& rcode) {
  labels["rcode"] = rcode;
  return testing::metric_value(text, "netobs_dns_cgroup_responses_total", labels_text(labels))
      .value_or(-1);
}

// Both DNS hook modes: tc (tcx or clsact) and the packet-socket filter
// (NETOBS_DNS_SOCKET_FILTER=1, inherited by the exporter process).
class DnsAttributionLive : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) ::setenv("NETOBS_DNS_SOCKET_FILTER", "1", 1);
  }
  void TearDown() override { ::unsetenv("NETOBS_DNS_SOCKET_FILTER"); }
};

TEST_P(DnsAttributionLive, DnsSeriesCarryContainerPodAndUnitLabels) {
  require_root();
  for (const char* tool : {"dnsmasq", "dig"}) {
    if (testing::run_command({"sh", "-c", std::string("command -v ") + tool}, 5).exit_code != 0) {
      if (testing::running_in_ci()) FAIL() << tool << " is not installed";
      GTEST_SKIP() << tool << " is not installed (Debian: dnsmasq-base, bind9-dnsutils)";
    }
  }
  CgroupTree tree;
  ASSERT_TRUE(tree.ok()) << "no cgroup2 mount";
  const int port = testing::free_tcp_port();
  Dnsmasq dnsmasq(port);
  ASSERT_TRUE(dnsmasq.wait_ready()) << dnsmasq.output();
  testing::FakeKubelet kubelet;
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::ExporterProcess exporter(
      {.collectors = {"dns"},
       .config_yaml = with_kubelet("collectors:\n  dns:\n    attribution: cgroup\n    ports: [" +
                                       std::to_string(port) + "]\n",
                                   kubelet),
       .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();

  const std::string k8s_systemd = tree.make_pod_container();
  const std::string k8s_cgroupfs = tree.make_cgroupfs_pod_container();
  const std::string service = tree.make("system.slice/nbat-web.service");

  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(dig_in(tree, k8s_systemd, port, "a.test", false), "NOERROR");
  EXPECT_EQ(dig_in(tree, k8s_systemd, port, "x.nx.test", false), "NXDOMAIN");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(dig_in(tree, service, port, "a.test", true), "NOERROR");
  EXPECT_EQ(dig_in(tree, k8s_cgroupfs, port, "a.test", false), "NOERROR");

  auto named_a = owner(kId.substr(0, 12), kUid, "", "web-0", "shop", "nginx");
  auto pod_b = owner(kId2.substr(0, 12), kUid2, "");
  auto unit_c = owner("", "", "nbat-web.service");
  std::string text = exporter.scrape_until("netobs_dns_cgroup_responses_total", labels_text([&] {
                                             auto l = named_a;
                                             l["rcode"] = "NOERROR";
                                             return l;
                                           }()),
                                           3, 15);
  EXPECT_EQ(dns_responses(text, named_a, "NOERROR"), 3) << text;
  EXPECT_EQ(dns_responses(text, named_a, "NXDOMAIN"), 1);
  EXPECT_EQ(dns_responses(text, unit_c, "NOERROR"), 2);
  EXPECT_EQ(dns_responses(text, pod_b, "NOERROR"), 1);
  {
    auto l = named_a;
    l["rcode"] = "NOERROR";
    EXPECT_EQ(testing::metric_value(text, "netobs_dns_cgroup_request_duration_seconds_count",
                                    labels_text(l)),
              3);
  }
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"dns\",metric=\"cgroup\""),
            0);

  // A removed cgroup's series age out (gone_after: 1s).
  ASSERT_TRUE(CgroupTree::remove(tree.root() + k8s_cgroupfs));
  exporter.scrape();
  std::this_thread::sleep_for(1500ms);
  exporter.scrape();  // deletes the gone cgroup's entries
  text = exporter.scrape();
  EXPECT_EQ(text.find("container_id=\"" + kId2.substr(0, 12) + "\""), std::string::npos) << text;
  EXPECT_EQ(dns_responses(text, named_a, "NOERROR"), 3);  // still there
  EXPECT_EQ(exporter.terminate(), 0);
}

INSTANTIATE_TEST_SUITE_P(Hooks, DnsAttributionLive, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "socket_filter" : "tc";
                         });

// Issue: short-lived processes used up the comm slots for good. Now slots
// idle for label_idle_time are freed, and a long-running process folded into
// "other" meanwhile gets its own series.
TEST(AttributionLive, LongRunningProcessGetsItsSlotAfterChurn) {
  require_root();
  testing::ExporterProcess exporter({.collectors = {"socket"},
                                     .config_yaml =
                                         "collectors:\n  socket:\n    max_processes: 64\n"
                                         "attribution:\n  label_idle_time: 2s\n",
                                     .scrape_with_curl = true});
  ASSERT_TRUE(exporter.wait_ready("/metrics", 30)) << exporter.output();
  Sinks sinks;
  Worker long_running("nbat-long");
  constexpr int kChurn = 1000;
  constexpr int kBatch = 50;
  for (int first = 0; first < kChurn; first += kBatch) {
    std::vector<pid_t> children;
    for (int i = first; i < first + kBatch; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        char name[24];  // the kernel keeps the first 15 characters
        std::snprintf(name, sizeof name, "nbat-c%04d", i);
        ::prctl(PR_SET_NAME, name);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(sinks.udp_port);
        int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        char byte = 0;
        ::_exit(::sendto(fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == 1 ? 0
                                                                                            : 1);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  long_running.udp(5, sinks.udp_port);
  std::string text = exporter.scrape();
  const std::string long_series =
      "comm=\"nbat-long\",direction=\"send\",ip_version=\"4\",protocol=\"udp\"";
  EXPECT_FALSE(testing::metric_value(text, "netobs_socket_calls_total", long_series).has_value())
      << "expected nbat-long folded into other while the churned names hold every slot";
  // Folding is counted: every distinct name beyond the 64 slots.
  EXPECT_GE(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"socket\",metric=\"comm\"")
                .value_or(0),
            kChurn - 64);

  std::this_thread::sleep_for(2500ms);
  text = exporter.scrape();  // the churned names idle > 2 s: slots freed
  EXPECT_FALSE(testing::metric_value(
                   text, "netobs_socket_calls_total",
                   "comm=\"nbat-c0001\",direction=\"send\",ip_version=\"4\",protocol=\"udp\"")
                   .has_value());
  long_running.udp(9, sinks.udp_port);
  text = exporter.scrape();
  EXPECT_EQ(testing::metric_value(text, "netobs_socket_calls_total", long_series), 9) << text;
  EXPECT_EQ(exporter.terminate(), 0);
}

}  // namespace
}  // namespace netobs
