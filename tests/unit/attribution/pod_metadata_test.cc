// Pod metadata: the /pods document parser, and the refresh thread against a
// fake kubelet (names appear; a failing kubelet is counted and lookups keep
// answering without names, never blocking). Over https as a real kubelet
// serves it: certificates made by the openssl CLI, a Python TLS server that
// checks the bearer token; a wrong CA, a bad CA file or a wrong token fail
// (counted, with a message naming the problem).
#include "exporter/attribution/pod_metadata.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fake_kubelet.h"
#include "tests/support/test_certs.h"
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

class PodMetadataHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CommandResult certs = testing::make_test_certs(dir_.path());
    ASSERT_EQ(certs.exit_code, 0) << certs.output;
    token_ = dir_.write("token", "kubelet-t0ken\n");
    kubelet_ = std::make_unique<testing::FakeHttpsKubelet>(
        dir_, dir_.path() + "/server.crt", dir_.path() + "/server.key",
        testing::pod_list_json(kUid, "web-0", "shop", "nginx", kId), "kubelet-t0ken");
    ASSERT_TRUE(kubelet_->ok()) << kubelet_->output();
  }
  PodMetadata::Options options(const std::string& ca_file, bool insecure = false) const {
    return {.kubelet_url = kubelet_->url(),
            .token_file = token_,
            .tls = {.ca_file = ca_file, .insecure_skip_verify = insecure},
            .static_file = "",
            .refresh_interval = 10s,
            .min_backoff = 20ms,
            .timeout_seconds = 5};
  }
  std::string ca(const std::string& name) const { return dir_.path() + "/" + name + ".crt"; }

  testing::TempDir dir_;
  std::string token_;
  std::unique_ptr<testing::FakeHttpsKubelet> kubelet_;
};

TEST_F(PodMetadataHttps, VerifiedAgainstTheCaWithTheToken) {
  PodMetadata metadata(options(ca("ca")));
  ASSERT_TRUE(wait_until([&] { return metadata.pod(kUid).has_value(); }, 10s))
      << metadata.stats().last_error;
  EXPECT_EQ(metadata.pod(kUid)->name, "web-0");
  EXPECT_EQ(metadata.pod(kUid)->containers.at("4f1a2b3c4d5e"), "nginx");
  EXPECT_EQ(metadata.stats().failures, 0u);
  EXPECT_EQ(metadata.stats().refreshes, 1u);
}

TEST_F(PodMetadataHttps, WrongCaFailsCountedAndLookupsKeepAnswering) {
  PodMetadata metadata(options(ca("rogue_ca")));
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 2; }, 10s));
  const std::string error = metadata.stats().last_error;
  EXPECT_NE(error.find("not trusted"), std::string::npos) << error;
  EXPECT_NE(error.find("rogue_ca.crt"), std::string::npos) << error;
  EXPECT_EQ(metadata.stats().refreshes, 0u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(metadata.pod(kUid).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
}

TEST_F(PodMetadataHttps, SystemCasDoNotTrustATestCa) {
  PodMetadata metadata(options(""));
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 1; }, 10s));
  EXPECT_NE(metadata.stats().last_error.find("not trusted"), std::string::npos)
      << metadata.stats().last_error;
}

TEST_F(PodMetadataHttps, InsecureSkipVerifyAcceptsAnyCertificate) {
  PodMetadata metadata(options("", true));
  ASSERT_TRUE(wait_until([&] { return metadata.pod(kUid).has_value(); }, 10s))
      << metadata.stats().last_error;
  EXPECT_EQ(metadata.pod(kUid)->namespace_name, "shop");
}

TEST_F(PodMetadataHttps, BadCaFileAndWrongTokenNameTheProblem) {
  const std::string not_pem = dir_.write("not_pem.crt", "not a certificate\n");
  PodMetadata bad_ca(options(not_pem));
  ASSERT_TRUE(wait_until([&] { return bad_ca.stats().failures >= 1; }, 10s));
  EXPECT_NE(bad_ca.stats().last_error.find("cannot load the CA file " + not_pem), std::string::npos)
      << bad_ca.stats().last_error;

  PodMetadata::Options wrong_token = options(ca("ca"));
  wrong_token.token_file = dir_.write("other_token", "guess\n");
  PodMetadata metadata(wrong_token);
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 1; }, 10s));
  EXPECT_NE(metadata.stats().last_error.find("HTTP status 401"), std::string::npos)
      << metadata.stats().last_error;
  EXPECT_FALSE(metadata.pod(kUid).has_value());
}

// (The fake answers plain HTTP after 2 s without a request line: before
// the client's 5 s timeout.)
TEST(PodMetadata, PlainHttpServerOnAnHttpsUrlFailsTheHandshake) {
  testing::FakeKubelet kubelet;
  std::string url = kubelet.url();
  url.replace(0, 4, "https");
  PodMetadata metadata({.kubelet_url = url,
                        .token_file = "",
                        .static_file = "",
                        .refresh_interval = 10s,
                        .min_backoff = 20ms,
                        .timeout_seconds = 5});
  ASSERT_TRUE(wait_until([&] { return metadata.stats().failures >= 1; }, 10s));
  EXPECT_NE(metadata.stats().last_error.find("TLS handshake failed"), std::string::npos)
      << metadata.stats().last_error;
}

}  // namespace
}  // namespace netobs
