// WebState: the web config in force follows the file and the files it
// names; a broken new version is counted and the running one kept.
#include "exporter/web/web_state.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_certs.h"
#include "tests/support/test_support.h"

namespace netobs::web {
namespace {

class WebStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = testing::make_test_certs(dir_.path());
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  std::string file(const std::string& name) const { return dir_.path() + "/" + name; }
  testing::TempDir dir_;
};

const std::string kTls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

std::string subject_of(const LoadedWebConfig& config) {
  char text[256] = "";
  X509_NAME_oneline(X509_get_subject_name(config.tls->cert), text, sizeof text);
  return text;
}

TEST_F(WebStateTest, NoFileMeansPlainHttpWithoutUsers) {
  WebState state;
  ASSERT_TRUE(state.load("").is_ok());
  EXPECT_FALSE(state.tls_enabled());
  EXPECT_TRUE(state.current()->config.users.empty());
  EXPECT_EQ(state.current()->tls, nullptr);
}

TEST_F(WebStateTest, FollowsChangesAndKeepsTheLastGoodVersion) {
  const std::string path = dir_.write("web.yml", kTls);
  WebState state;
  ASSERT_TRUE(state.load(path).is_ok());
  EXPECT_TRUE(state.tls_enabled());
  auto first = state.current();
  EXPECT_EQ(subject_of(*first), "/CN=localhost");
  EXPECT_EQ(state.current(), first);  // nothing changed: the same object

  // A certificate renamed over the old one is picked up.
  std::filesystem::copy_file(file("rotated.crt"), file("new.crt"));
  std::filesystem::copy_file(file("rotated.key"), file("new.key"));
  std::filesystem::rename(file("new.key"), file("server.key"));
  std::filesystem::rename(file("new.crt"), file("server.crt"));
  EXPECT_EQ(subject_of(*state.current()), "/CN=rotated.localhost");
  EXPECT_TRUE(state.last_reload_ok());

  // A broken version: counted once (not per request), the last good one kept.
  dir_.write("web.yml", kTls + "  min_version: TLS9\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(subject_of(*state.current()), "/CN=rotated.localhost");
  EXPECT_EQ(state.reload_failures(), 1u);
  EXPECT_FALSE(state.last_reload_ok());

  // TLS cannot be turned off without a restart.
  dir_.write("web.yml", "basic_auth_users: {}\n");
  EXPECT_NE(state.current()->tls, nullptr);
  EXPECT_EQ(state.reload_failures(), 2u);

  // Fixed: applied, users included.
  dir_.write("web.yml", kTls + "basic_auth_users:\n  alice: " + BasicAuth::kDummyHash + "\n");
  auto fixed = state.current();
  EXPECT_TRUE(state.last_reload_ok());
  EXPECT_EQ(fixed->config.users.count("alice"), 1u);
}

TEST_F(WebStateTest, BadFileAtLoadIsAnError) {
  WebState state;
  Status status = state.load(dir_.write("web.yml", kTls + "  cipher_suites: [RC4]\n"));
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.message(), "unknown cipher: RC4");
}

}  // namespace
}  // namespace netobs::web
