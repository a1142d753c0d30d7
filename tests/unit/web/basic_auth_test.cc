// Basic auth against bcrypt hashes: exporter-toolkit's dummy hash (bcrypt of
// "fakepassword", made by Go's x/crypto/bcrypt) is the independent truth that
// libxcrypt's crypt_rn computes bcrypt as Go does.
#include "exporter/web/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>

namespace netobs::web {
namespace {

std::string header(const std::string& user_colon_password) {
  // base64 by a table: the test must not share the decoder it checks.
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const std::string& in = user_colon_password;
  for (size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

// A $2b$ hash at the lowest cost, so the tests stay fast.
std::string hash_of(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt), nullptr);
  auto data = std::make_unique<crypt_data>();
  return crypt_rn(password.c_str(), salt, data.get(), sizeof(crypt_data));
}

TEST(BcryptTest, MatchesGoHashes) {
  EXPECT_TRUE(bcrypt_matches("fakepassword", BasicAuth::kDummyHash));
  EXPECT_FALSE(bcrypt_matches("fakepassword2", BasicAuth::kDummyHash));
  EXPECT_FALSE(bcrypt_matches("", BasicAuth::kDummyHash));
  EXPECT_FALSE(bcrypt_matches("fakepassword", "doe"));
}

TEST(BasicAuthHeaderTest, ParsesLikeGo) {
  std::string user, password;
  ASSERT_TRUE(parse_basic_authorization(header("alice:s3cr:et"), user, password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "s3cr:et");  // split at the first colon
  ASSERT_TRUE(parse_basic_authorization("bAsIc " + header("bob:x").substr(6), user, password));
  EXPECT_EQ(user, "bob");
  ASSERT_TRUE(parse_basic_authorization(header(":"), user, password));
  EXPECT_EQ(user, "");
  EXPECT_FALSE(parse_basic_authorization("Bearer abc", user, password));
  EXPECT_FALSE(parse_basic_authorization("Basic !!!!", user, password));
  EXPECT_FALSE(parse_basic_authorization("Basic YWxpY2U", user, password));  // unpadded
  EXPECT_FALSE(parse_basic_authorization(header("nocolon"), user, password));
  EXPECT_FALSE(parse_basic_authorization("Basic", user, password));
}

TEST(BasicAuthTest, RightPasswordOnlyAndCachesResults) {
  const std::map<std::string, std::string> users = {{"alice", hash_of("wonderland")},
                                                    {"bob", hash_of("builder")}};
  BasicAuth auth;
  EXPECT_TRUE(auth.allowed(users, header("alice:wonderland").c_str()));
  EXPECT_FALSE(auth.allowed(users, header("alice:builder").c_str()));
  EXPECT_FALSE(auth.allowed(users, header("bob:wonderland").c_str()));
  EXPECT_TRUE(auth.allowed(users, header("bob:builder").c_str()));
  EXPECT_FALSE(auth.allowed(users, nullptr));
  EXPECT_FALSE(auth.allowed(users, "Basic"));
  EXPECT_EQ(auth.bcrypt_runs(), 4u);
  // Repeats come from the cache: no bcrypt per scrape.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(auth.allowed(users, header("alice:wonderland").c_str()));
    EXPECT_FALSE(auth.allowed(users, header("alice:builder").c_str()));
  }
  EXPECT_EQ(auth.bcrypt_runs(), 4u);
  // A changed hash (config re-read) is a different cache entry.
  const std::map<std::string, std::string> changed = {{"alice", hash_of("looking-glass")}};
  EXPECT_FALSE(auth.allowed(changed, header("alice:wonderland").c_str()));
  EXPECT_TRUE(auth.allowed(changed, header("alice:looking-glass").c_str()));
}

TEST(BasicAuthTest, UnknownUserRunsBcryptOnTheDummyHashAndIsRefused) {
  const std::map<std::string, std::string> users = {{"alice", hash_of("wonderland")}};
  BasicAuth auth;
  // Not even the dummy hash's own password lets an unknown user in.
  EXPECT_FALSE(auth.allowed(users, header("mallory:fakepassword").c_str()));
  EXPECT_FALSE(auth.allowed(users, header("mallory:wonderland").c_str()));
  EXPECT_EQ(auth.bcrypt_runs(), 2u);  // the same work as for a known user
}

TEST(BasicAuthTest, CacheIsBounded) {
  const std::map<std::string, std::string> users = {{"alice", hash_of("wonderland")}};
  BasicAuth auth;
  for (size_t i = 0; i < BasicAuth::kCacheSize + 10; ++i) {
    EXPECT_FALSE(auth.allowed(users, header("alice:guess" + std::to_string(i)).c_str()));
  }
  const size_t runs = auth.bcrypt_runs();
  // The oldest guesses were evicted: checking one again runs bcrypt again.
  EXPECT_FALSE(auth.allowed(users, header("alice:guess0").c_str()));
  EXPECT_EQ(auth.bcrypt_runs(), runs + 1);
}

TEST(BasicAuthTest, ConcurrentChecksAgree) {
  const std::map<std::string, std::string> users = {{"alice", hash_of("wonderland")}};
  BasicAuth auth;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool right = (t + i) % 2 == 0;
        if (auth.allowed(users, header(right ? "alice:wonderland" : "alice:nope").c_str()) !=
            right) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace netobs::web
