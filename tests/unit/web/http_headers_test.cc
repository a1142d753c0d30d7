#include "exporter/web/http_headers.h"

#include <gtest/gtest.h>

namespace netobs::web {
namespace {

TEST(AcceptEncodingTest, QValuesAndCaseDecide) {
  EXPECT_FALSE(accepts_gzip(nullptr));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("GZIP"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("gzip ; Q=1.0 , identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("Gzip; q=0, identity"));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzipped"));  // a different coding, not a substring match
  EXPECT_FALSE(accepts_gzip("notgzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));  // an explicit gzip entry wins over *
  EXPECT_TRUE(accepts_gzip("*;q=0, gzip"));
  EXPECT_FALSE(accepts_gzip("gzip;q=2"));  // malformed q: the entry is ignored
  EXPECT_FALSE(accepts_gzip("gzip;q=abc"));
}

TEST(KeepAliveTest, ConnectionHeaderThenVersion) {
  EXPECT_TRUE(wants_keep_alive(nullptr, "1.1"));
  EXPECT_FALSE(wants_keep_alive(nullptr, "1.0"));
  EXPECT_TRUE(wants_keep_alive("keep-alive", "1.0"));
  EXPECT_TRUE(wants_keep_alive("Keep-Alive", "1.1"));
  EXPECT_FALSE(wants_keep_alive("close", "1.1"));
  EXPECT_FALSE(wants_keep_alive("Close", "1.1"));
  EXPECT_FALSE(wants_keep_alive("upgrade", "1.1"));
}

}  // namespace
}  // namespace netobs::web

namespace netobs::web {
namespace {

TEST(AbsoluteUriTest, PathOfAbsoluteForm) {
  EXPECT_EQ(absolute_uri_path("http://example.com:9723/metrics"), "/metrics");
  EXPECT_EQ(absolute_uri_path("HTTP://example.com/metrics?x=1"), "/metrics");
  EXPECT_EQ(absolute_uri_path("https://[::1]:9723/"), "/");
  EXPECT_EQ(absolute_uri_path("http://example.com"), std::nullopt);
  EXPECT_EQ(absolute_uri_path("http:///metrics"), std::nullopt);
  EXPECT_EQ(absolute_uri_path("/metrics"), std::nullopt);
  EXPECT_EQ(absolute_uri_path("ftp://example.com/metrics"), std::nullopt);
  EXPECT_EQ(absolute_uri_path("*"), std::nullopt);
}

}  // namespace
}  // namespace netobs::web
