// Config of the tcp collector: grouping, port names, remote CIDR groups, the
// namespace filter, and their errors at the right position; the seed-003
// alias agent.network.tcp reaches the same fields.
#include <gtest/gtest.h>

#include <string>

#include "collectors/tcp/tcp_config.h"
#include "collectors/tcp/tcp_metrics.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, "t.yaml"); }

TEST(ConfigTcp, DefaultsMatchTheStruct) {
  ConfigLoadResult result = load_default_config();
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<TcpConfig>(), TcpConfig{});
}

TEST(ConfigTcp, GroupingFieldsLand) {
  ConfigLoadResult result = load(
      "collectors:\n"
      "  tcp:\n"
      "    group_by: remote_cidr\n"
      "    max_groups: 8\n"
      "    port_names: [\"5432=postgres\", \"6379=redis\"]\n"
      "    remote_cidr_groups: [\"office=10.1.0.0/16\", \"office=fd00::/8\", \"dc=192.0.2.0/24\"]\n"
      "    network_namespace: /run/netns/x\n"
      "    max_tracked_connections: 4096\n"
      "    attribution: cgroup\n"
      "    max_cgroups: 32\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  const TcpConfig& tcp = result.config.collector<TcpConfig>();
  EXPECT_EQ(tcp.group_by, "remote_cidr");
  EXPECT_EQ(tcp.max_groups, 8u);
  EXPECT_EQ(tcp.port_names.size(), 2u);
  EXPECT_EQ(tcp.network_namespace, "/run/netns/x");
  EXPECT_EQ(tcp.max_tracked_connections, 4096u);
  EXPECT_EQ(tcp.attribution, "cgroup");
  EXPECT_EQ(tcp.max_cgroups, 32u);

  Result<TcpGrouping> grouping = parse_tcp_grouping(tcp);
  ASSERT_TRUE(grouping) << grouping.message();
  EXPECT_EQ(grouping->by, TcpGroupBy::kRemoteCidr);
  ASSERT_EQ(grouping->group_names.size(), 2u);
  EXPECT_EQ(grouping->group_names[0], "office");
  EXPECT_EQ(grouping->group_names[1], "dc");
  ASSERT_EQ(grouping->cidrs.size(), 3u);
  // IPv4 networks become IPv4-mapped IPv6 prefixes: 96 + 16.
  EXPECT_EQ(grouping->cidrs[0].key.prefixlen, 112u);
  EXPECT_EQ(grouping->cidrs[0].key.addr[10], 0xff);
  EXPECT_EQ(grouping->cidrs[0].key.addr[12], 10);
  EXPECT_EQ(grouping->cidrs[0].group, 1u);
  EXPECT_EQ(grouping->cidrs[1].key.prefixlen, 8u);
  EXPECT_EQ(grouping->cidrs[1].key.addr[0], 0xfd);
  EXPECT_EQ(grouping->cidrs[1].group, 1u);
  EXPECT_EQ(grouping->cidrs[2].group, 2u);
  EXPECT_EQ(grouping->port_names.at(5432), "postgres");
}

TEST(ConfigTcp, SeedAliasReachesTheSameFields) {
  ConfigLoadResult result =
      load("agent:\n  network:\n    tcp:\n      sample_rate: 10\n      group_by: local_port\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_EQ(result.config.collector<TcpConfig>().sample_rate, 10u);
  EXPECT_EQ(result.config.collector<TcpConfig>().group_by, "local_port");
}

struct Bad {
  const char* yaml;
  const char* expected;  // the whole error line
};

class ConfigTcpBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ConfigTcpBad, ReportsTheProblemAndTheFix) {
  ConfigLoadResult result = load(GetParam().yaml);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.format_errors(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigTcpBad,
    ::testing::Values(
        Bad{"collectors:\n  tcp:\n    group_by: port\n",
            "t.yaml:3:15: collectors.tcp.group_by: unknown value \"port\"; allowed values: none, "
            "local_port, remote_port, remote_cidr"},
        Bad{"collectors:\n  tcp:\n    port_names: [\"postgres\"]\n",
            "t.yaml:3:18: collectors.tcp.port_names[0]: invalid port name \"postgres\": write "
            "\"PORT=NAME\", e.g. \"5432=postgres\""},
        Bad{"collectors:\n  tcp:\n    port_names: [\"70000=x\"]\n",
            "t.yaml:3:18: collectors.tcp.port_names[0]: invalid port name \"70000=x\": write "
            "\"PORT=NAME\", e.g. \"5432=postgres\""},
        Bad{"collectors:\n  tcp:\n    port_names: [\"80=a b\"]\n",
            "t.yaml:3:18: collectors.tcp.port_names[0]: invalid name in \"80=a b\": use 1..64 "
            "letters, digits, '_', '-' or '.' (it becomes a label value)"},
        Bad{"collectors:\n  tcp:\n    port_names: [\"80=http\", \"80=www\"]\n",
            "t.yaml:3:29: collectors.tcp.port_names[1]: port 80 is already named at line 3, "
            "column 18; give each port one name"},
        Bad{"collectors:\n  tcp:\n    remote_cidr_groups: [\"10.0.0.0/8\"]\n",
            "t.yaml:3:26: collectors.tcp.remote_cidr_groups[0]: invalid CIDR group "
            "\"10.0.0.0/8\": write \"NAME=CIDR\", e.g. \"office=10.1.0.0/16\" (repeat a name for "
            "more networks)"},
        Bad{"collectors:\n  tcp:\n    remote_cidr_groups: [\"lan=10.0.0.1/8\"]\n",
            "t.yaml:3:26: collectors.tcp.remote_cidr_groups[0]: invalid CIDR \"10.0.0.1/8\": "
            "host bits are set; did you mean \"10.0.0.0/8\"?"},
        Bad{"collectors:\n  tcp:\n    group_by: remote_cidr\n",
            "t.yaml:3:15: collectors.tcp.group_by: group_by remote_cidr needs "
            "collectors.tcp.remote_cidr_groups, e.g. [\"office=10.1.0.0/16\"]"},
        Bad{"collectors:\n  tcp:\n    max_groups: 1\n    remote_cidr_groups: [\"a=10.0.0.0/8\"]\n",
            "t.yaml:4:25: collectors.tcp.remote_cidr_groups: 1 group names plus \"unmatched\" "
            "exceed max_groups 1; raise collectors.tcp.max_groups"},
        Bad{"collectors:\n  tcp:\n    network_namespace: run/netns/x\n",
            "t.yaml:3:24: collectors.tcp.network_namespace: network_namespace must be an absolute "
            "path such as \"/run/netns/NAME\" or \"/proc/PID/ns/net\" (empty: every namespace)"},
        Bad{"collectors:\n  tcp:\n    max_tracked_connections: 10\n",
            "t.yaml:3:30: collectors.tcp.max_tracked_connections: max_tracked_connections 10 is "
            "out of range; allowed range is 1024..4194304"}));

}  // namespace
}  // namespace netobs
