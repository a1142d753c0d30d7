// exporter/net/cidr: parsing networks and telling external addresses apart.
#include "exporter/net/cidr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

namespace netobs {
namespace {

std::array<uint8_t, 16> bytes_of(int family, const char* text) {
  std::array<uint8_t, 16> out{};
  EXPECT_EQ(inet_pton(family, text, out.data()), 1) << text;
  return out;
}

bool external(const char* text) {
  const int family = std::string(text).find(':') == std::string::npos ? AF_INET : AF_INET6;
  return is_external_address(family, bytes_of(family, text).data());
}

TEST(CidrTest, ParsesNetworksAndSingleAddresses) {
  Result<Cidr> net = parse_cidr("10.1.0.0/16");
  ASSERT_TRUE(net) << net.status().message();
  EXPECT_EQ(net->family, AF_INET);
  EXPECT_EQ(net->prefix_len, 16);
  EXPECT_EQ(net->to_string(), "10.1.0.0/16");
  Result<Cidr> host = parse_cidr("198.51.100.50");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_len, 32);
  Result<Cidr> v6 = parse_cidr("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->to_string(), "2001:db8::/32");
}

TEST(CidrTest, ErrorsNameTheProblem) {
  EXPECT_NE(parse_cidr("10.0.0.300/8").status().message().find("not an IPv4 or IPv6"),
            std::string::npos);
  EXPECT_NE(parse_cidr("10.0.0.0/33").status().message().find("0..32"), std::string::npos);
  EXPECT_NE(parse_cidr("10.0.0.1/8").status().message().find("did you mean \"10.0.0.0/8\""),
            std::string::npos);
  Result<Cidr> loose = parse_cidr("10.0.0.1/8", /*strict=*/false);
  ASSERT_TRUE(loose);
  EXPECT_EQ(loose->to_string(), "10.0.0.0/8");
}

TEST(CidrTest, Contains) {
  const Cidr net = *parse_cidr("203.0.113.0/25");
  EXPECT_TRUE(net.contains(AF_INET, bytes_of(AF_INET, "203.0.113.7").data()));
  EXPECT_FALSE(net.contains(AF_INET, bytes_of(AF_INET, "203.0.113.200").data()));
  EXPECT_FALSE(net.contains(AF_INET6, bytes_of(AF_INET6, "::1").data()));
  const Cidr odd = *parse_cidr("100.64.0.0/10");
  EXPECT_TRUE(odd.contains(AF_INET, bytes_of(AF_INET, "100.127.255.255").data()));
  EXPECT_FALSE(odd.contains(AF_INET, bytes_of(AF_INET, "100.128.0.0").data()));
}

TEST(CidrTest, ExternalAddresses) {
  for (const char* inside : {"10.2.3.4", "172.31.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1",
                             "100.64.0.1", "192.0.2.1", "198.51.100.50", "203.0.113.7", "::1",
                             "fe80::1", "fd00::1", "2001:db8::5", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(external(inside)) << inside;
  }
  for (const char* outside :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2a00:1450::1", "::ffff:8.8.4.4"}) {
    EXPECT_TRUE(external(outside)) << outside;
  }
}

TEST(CidrTest, FormatsMappedAddressesAsIpv4WhenAsked) {
  const auto mapped = bytes_of(AF_INET6, "::ffff:198.51.100.50");
  EXPECT_EQ(format_address(AF_INET6, mapped.data(), /*unmap=*/true), "198.51.100.50");
  EXPECT_EQ(format_address(AF_INET6, mapped.data()), "::ffff:198.51.100.50");
}

}  // namespace
}  // namespace netobs
