// The xdp collector's part of the config schema: seed-003 keys, defaults,
// limits and the errors that name them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "collectors/xdp/xdp_config.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, "test.yaml"); }

TEST(ConfigXdpTest, DefaultsAreOffWithRate1000AndTop10) {
  const ConfigLoadResult r = load_default_config();
  ASSERT_TRUE(r.ok()) << r.format_errors();
  EXPECT_FALSE(r.config.collector<XdpConfig>().common.enabled);
  EXPECT_EQ(r.config.collector<XdpConfig>().sample_rate, 1000u);
  EXPECT_EQ(r.config.collector<XdpConfig>().mode, "auto");
  EXPECT_EQ(r.config.collector<XdpConfig>().top_talkers, 10u);
  EXPECT_TRUE(r.config.collector<XdpConfig>().interfaces.empty());
  EXPECT_EQ(r.config.collector<XdpConfig>(), XdpConfig{});
}

TEST(ConfigXdpTest, SeedSnippetKeysLand) {
  const ConfigLoadResult r = load(R"(agent:
  network:
    xdp:
      enabled: true
      sample_rate: 0
      interfaces: [eth0, "veth*"]
      filters:
        ports: [80, 443, 8080]
        protocols: [tcp, udp]
    exclude_interfaces: [lo, docker0]
collectors:
  xdp:
    mode: generic
    top_talkers: 0
)");
  ASSERT_TRUE(r.ok()) << r.format_errors();
  EXPECT_TRUE(r.config.collector<XdpConfig>().common.enabled);
  EXPECT_EQ(r.config.collector<XdpConfig>().sample_rate, 1u);  // 0 means every packet
  EXPECT_THAT(r.config.collector<XdpConfig>().interfaces, ElementsAre("eth0", "veth*"));
  EXPECT_THAT(r.config.collector<XdpConfig>().filter_ports, ElementsAre(80, 443, 8080));
  EXPECT_THAT(r.config.collector<XdpConfig>().filter_protocols, ElementsAre("tcp", "udp"));
  EXPECT_THAT(r.config.network.exclude_interfaces, ElementsAre("lo", "docker0"));
  EXPECT_EQ(r.config.collector<XdpConfig>().mode, "generic");
  EXPECT_EQ(r.config.collector<XdpConfig>().top_talkers, 0u);
}

TEST(ConfigXdpTest, MoreThan64PortsIsAnErrorNamingTheLimit) {
  std::string ports;
  for (int p = 1; p <= 65; ++p) ports += (p > 1 ? ", " : "") + std::to_string(p);
  const ConfigLoadResult r =
      load("collectors:\n  xdp:\n    filters:\n      ports: [" + ports + "]\n");
  ASSERT_EQ(r.errors.size(), 1u) << r.format_errors();
  EXPECT_EQ(r.errors[0].key_path, "collectors.xdp.filters.ports");
  EXPECT_THAT(r.errors[0].message, HasSubstr("at most 64 ports (got 65)"));
}

TEST(ConfigXdpTest, ModeTcIsAccepted) {
  const ConfigLoadResult r = load("collectors:\n  xdp:\n    mode: tc\n");
  ASSERT_TRUE(r.ok()) << r.format_errors();
  EXPECT_EQ(r.config.collector<XdpConfig>().mode, "tc");
}

TEST(ConfigXdpTest, BadValuesAreErrors) {
  EXPECT_FALSE(load("collectors:\n  xdp:\n    mode: turbo\n").ok());
  EXPECT_FALSE(load("collectors:\n  xdp:\n    top_talkers: 1001\n").ok());
  EXPECT_FALSE(load("collectors:\n  xdp:\n    sample_rate: -1\n").ok());
  EXPECT_FALSE(load("collectors:\n  xdp:\n    filters:\n      protocols: [sctp]\n").ok());
  EXPECT_FALSE(load("collectors:\n  xdp:\n    interfaces: [\"eth 0\"]\n").ok());
}

}  // namespace
}  // namespace netobs
