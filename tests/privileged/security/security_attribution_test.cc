// Container and pod attributes in security alerts: a child of this test,
// moved into a Kubernetes-shaped cgroup the test creates under the cgroup2
// mount (kubepods.slice/.../cri-containerd-<id>.scope), connects to a
// suspicious port in a namespace the test creates; pod names come from a
// static /pods document (the attribution section's pods_file). The alert
// carries the container id, the pod uid, name and namespace and the
// container name, and the cgroup id of that directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "collectors/security/security_collector.h"
#include "collectors/security/security_config.h"
#include "exporter/attribution/attribution.h"
#include "exporter/attribution/cgroup_resolver.h"
#include "exporter/bpf/preflight.h"
#include "exporter/builtin_config.h"
#include "exporter/events/event_sink.h"
#include "tests/support/fake_kubelet.h"
#include "tests/support/line_sink.h"
#include "tests/support/netns.h"
#include "tests/support/tcp_netns.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kUid = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a";
const std::string kId = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";

using testing::LineSink;

// <cgroup2 mount>/nb-se-<pid>/<path>, removed (deepest first) at the end.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& path) {
    Result<std::string> mount = CgroupResolver::find_cgroup2_mount();
    if (!mount) return;
    top_ = *mount + "/nb-se-" + std::to_string(::getpid());
    dir_ = top_ + "/" + path;
    fs::create_directories(dir_);
  }
  ~TestCgroup() {
    if (top_.empty()) return;
    for (fs::path p = dir_; p.string().size() >= top_.size(); p = p.parent_path()) {
      for (int i = 0; i < 100 && ::rmdir(p.c_str()) != 0 && errno == EBUSY; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  const std::string& dir() const { return dir_; }
  // The cgroup v2 id: the kernfs inode number of its directory.
  uint64_t id() const {
    struct stat st {};
    return ::stat(dir_.c_str(), &st) == 0 ? st.st_ino : 0;
  }
  bool move(pid_t pid) const {
    std::ofstream procs(dir_ + "/cgroup.procs");
    procs << pid << "\n";
    procs.flush();
    return procs.good();
  }

 private:
  std::string top_, dir_;
};

TEST(SecurityAttributionTest, AlertsCarryTheContainerAndPodOfTheConnectingProcess) {
  NETOBS_REQUIRE_ROOT();
  std::string uid_ = kUid;
  for (char& c : uid_) c = c == '-' ? '_' : c;
  TestCgroup cgroup("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid_ +
                    ".slice/cri-containerd-" + kId + ".scope");
  ASSERT_FALSE(cgroup.dir().empty()) << "no cgroup2 mount";
  ASSERT_TRUE(fs::is_directory(cgroup.dir()));
  const uint64_t cgroup_id = cgroup.id();
  ASSERT_NE(cgroup_id, 0u);

  testing::Netns ns("nb-se-k" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  testing::TempDir dir;
  Config config = default_config();
  config.attribution.pods_file =
      dir.write("pods.json", testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = ns.path();
  security.suspicious_ports = {4444};
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink});
  PreflightReport preflight = run_preflight();
  Status started = collector.start({config, preflight});
  ASSERT_TRUE(started) << started.message();
  // The collector's resolver is the shared one: wait until it has read the
  // pods document (alerts never wait for it).
  Result<std::shared_ptr<Attribution>> attribution =
      Attribution::shared(attribution_options(config));
  ASSERT_TRUE(attribution) << attribution.status().message();
  for (int i = 0; i < 100 && (*attribution)->labels(cgroup_id).pod.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*attribution)->labels(cgroup_id).pod, "web-0");

  // The child waits until it is in the cgroup, connects, and stays until
  // released (its /proc/PID/exe is read when the alert is written).
  int go[2], done[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(done, O_CLOEXEC), 0);
  int listener = -1;
  const pid_t pid = ns.run([&] {
    listener = tcptest::listen_on("127.0.0.1", 4444, 8);
    const pid_t child = fork();
    if (child == 0) {
      close(go[1]);  // else the release read below never sees EOF
      close(done[0]);
      char byte;
      if (read(go[0], &byte, 1) != 1) _exit(1);
      const int fd = tcptest::connect_to("127.0.0.1", 4444);
      byte = fd >= 0 ? 1 : 0;
      (void)!write(done[1], &byte, 1);
      (void)!read(go[0], &byte, 1);  // EOF: released
      _exit(0);
    }
    return child;
  });
  ASSERT_GE(listener, 0);
  ASSERT_GT(pid, 0);
  close(go[0]);
  close(done[1]);
  ASSERT_TRUE(cgroup.move(pid));
  char byte = 1;
  ASSERT_EQ(write(go[1], &byte, 1), 1);
  ASSERT_EQ(read(done[0], &byte, 1), 1);
  EXPECT_EQ(byte, 1);

  for (int i = 0; i < 60 && sink->lines().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  close(go[1]);
  waitpid(pid, nullptr, 0);
  close(done[0]);
  close(listener);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<std::string> lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"net.peer.ip\":\"127.0.0.1\",\"net.peer.port\":4444,"
                                  "\"process.pid\":" +
                                  std::to_string(pid) + ","));
  EXPECT_THAT(lines[0],
              HasSubstr("\"container.id\":\"" + kId.substr(0, 12) + "\",\"k8s.pod.uid\":\"" + kUid +
                        "\",\"k8s.pod.name\":\"web-0\",\"k8s.namespace.name\":\"shop\","
                        "\"k8s.container.name\":\"nginx\",\"network.direction\""));
  EXPECT_THAT(lines[0], HasSubstr("\"netobs.cgroup.id\":" + std::to_string(cgroup_id) + ","));
  EXPECT_EQ(collector.snapshot().detections[static_cast<size_t>(DetectionType::kSuspiciousPort)],
            1u);
  collector.stop();
}

// attribution: none keeps only the cgroup id.
TEST(SecurityAttributionTest, NoneLeavesThemOut) {
  NETOBS_REQUIRE_ROOT();
  testing::Netns ns("nb-se-n" + std::to_string(getpid()));
  ASSERT_EQ(ns.create(), "");
  Config config = default_config();
  SecurityConfig& security = config.collector<SecurityConfig>();
  security.common.enabled = true;
  security.network_namespace = ns.path();
  security.suspicious_ports = {4444};
  security.attribution = "none";
  auto sink = std::make_shared<LineSink>();
  SecurityCollector collector({.event_sink = sink});
  PreflightReport preflight = run_preflight();
  ASSERT_TRUE(collector.start({config, preflight}));
  ns.run([] {
    const int listener = tcptest::listen_on("127.0.0.1", 4444, 8);
    const int client = tcptest::connect_to("127.0.0.1", 4444);
    close(client);
    close(listener);
  });
  for (int i = 0; i < 60 && sink->lines().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(sink->lines().size(), 1u);
  EXPECT_THAT(sink->lines()[0], ::testing::Not(HasSubstr("container.id")));
  EXPECT_THAT(sink->lines()[0], ::testing::Not(HasSubstr("netobs.systemd.unit")));
  EXPECT_THAT(sink->lines()[0], HasSubstr("\"netobs.cgroup.id\":"));
  collector.stop();
}

}  // namespace
}  // namespace netobs
