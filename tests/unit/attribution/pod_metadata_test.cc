// Pod metadata: the /pods document parser, and the refresh thread against a
// fake kubelet (names appear; a failing kubelet is counted and lookups keep
// answering without names, never blocking).
#include "exporter/attribution/pod_metadata.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fake_kubelet.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using namespace std::chrono_literals;

const std::string kUid = "6f9e1c0a-52b4-4d3e-9a77-0c1d2e3f4a5b";
const std::string kId = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

TEST(ParsePodList, NamesAndContainers) {
  Result<PodList> pods =
      parse_pod_list(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  ASSERT_TRUE(pods) << pods.message();
  ASSERT_EQ(pods->size(), 1u);
  const PodInfo& pod = pods->at(kUid);
  EXPECT_EQ(pod.name, "web-0");
  EXPECT_EQ(pod.namespace_name, "shop");
  EXPECT_EQ(pod.containers, (std::map<std::string, std::string>{{"4f1a2b3c4d5e", "nginx"}}));
}

TEST(ParsePodList, InitContainersAndPodsWithoutStatus) {
  Result<PodList> pods = parse_pod_list(R"({"items":[
    {"metadata":{"name":"a","namespace":"n","uid":"u1"},
     "status":{"initContainerStatuses":[{"name":"init","containerID":"cri-o://abcdef0123456789"}],
               "containerStatuses":[{"name":"main"}]}},
    {"metadata":{"name":"b","namespace":"n","uid":"u2"}},
    {"metadata":{"name":"no-uid"}}]})");
  ASSERT_TRUE(pods) << pods.message();
  ASSERT_EQ(pods->size(), 2u);
  EXPECT_EQ(pods->at("u1").containers,
            (std::map<std::string, std::string>{{"abcdef012345", "init"}}));
  EXPECT_TRUE(pods->at("u2").containers.empty());
}

TEST(ParsePodList, BadDocumentsNameTheProblem) {
  EXPECT_EQ(parse_pod_list("{\"items\": [").message().rfind("pod list is not valid JSON", 0), 0u);
  EXPECT_EQ(parse_pod_list("{\"kind\":\"Status\"}").message(),
            "pod list has no \"items\" array (expected the kubelet's /pods document)");
  EXPECT_EQ(parse_pod_list("[]").message(),
            "pod list has no \"items\" array (expected the kubelet's /pods document)");
  Result<PodList> empty = parse_pod_list(R"({"items":null})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(PodMetadata, ReadsTheKubeletAndCountsFailures) {
  testing::FakeKubelet kubelet;
  kubelet.set_pods(testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId));
  testing::TempDir dir;
  std::string token = dir.write("token", "s3cret\n");
  PodMetadata metadata({.kubelet_url = kubelet.url(),
                        .token_file = token,
                        .static_file = "",
                        .refresh_interval = 200ms,
                        .min_backoff = 20ms,
                        .timeout_seconds = 2});
  ASSERT_TRUE(wait_until([&] { return metadata.pod(kUid).has_value(); }, 5s));
  EXPECT_EQ(metadata.pod(kUid)->name, "web-0");
  EXPECT_EQ(kubelet.last_authorization(), "Bearer s3cret");
  EXPECT_EQ(metadata.stats().failures, 0u);

  kubelet.set_failing(true);
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 2; }, 5s));
  // The cache keeps the last good list; lookups answer at once.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(metadata.pod(kUid)->namespace_name, "shop");
  EXPECT_FALSE(metadata.pod("unknown-uid").has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_NE(metadata.stats().last_error.find("HTTP status 500"), std::string::npos)
      << metadata.stats().last_error;

  kubelet.set_failing(false);
  uint64_t refreshes = metadata.stats().refreshes;
  ASSERT_TRUE(wait_until([&] { return metadata.stats().refreshes > refreshes; }, 5s));
}

TEST(PodMetadata, UnreachableKubeletNeverBlocksLookups) {
  int port = testing::free_tcp_port();  // nothing listens there
  PodMetadata metadata({.kubelet_url = "http://127.0.0.1:" + std::to_string(port) + "/pods",
                        .token_file = "",
                        .static_file = "",
                        .refresh_interval = 1s,
                        .min_backoff = 20ms,
                        .timeout_seconds = 1});
  EXPECT_FALSE(metadata.pod(kUid).has_value());
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 1; }, 5s));
  EXPECT_EQ(metadata.stats().refreshes, 0u);
}

TEST(PodMetadata, StaticFile) {
  testing::TempDir dir;
  std::string file =
      dir.write("pods.json", testing::pod_list_json(kUid, "db-1", "data", "pg", kId));
  PodMetadata metadata({.kubelet_url = "", .token_file = "", .static_file = file});
  ASSERT_TRUE(wait_until([&] { return metadata.pod(kUid).has_value(); }, 5s));
  EXPECT_EQ(metadata.pod(kUid)->containers.at("4f1a2b3c4d5e"), "pg");
}

}  // namespace
}  // namespace netobs
