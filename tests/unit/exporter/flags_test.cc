// Exporter flag parsing and how flags override the config.
#include <gtest/gtest.h>

#include "collectors/snmp/snmp_config.h"
#include "collectors/socket/socket_config.h"
#include "collectors/tcp/tcp_config.h"
#include "exporter/builtin_config.h"
#include "exporter/flags.h"

namespace netobs {
namespace {

const std::vector<std::string> kCollectors = {"snmp", "socket", "tcp"};

TEST(FlagsTest, ParsesBothValueForms) {
  auto flags =
      parse_exporter_flags({"--web.listen-address=127.0.0.1:9999", "--config.file",
                            "/etc/netobs/netobs.yaml", "--web.max-requests=3", "--log.level",
                            "debug", "--path.procfs=/host/proc", "--web.telemetry-path=/m"},
                           kCollectors);
  ASSERT_TRUE(flags) << flags.message();
  EXPECT_EQ(*flags->listen_address, "127.0.0.1:9999");
  EXPECT_EQ(*flags->config_file, "/etc/netobs/netobs.yaml");
  EXPECT_EQ(*flags->max_requests, 3);
  EXPECT_EQ(*flags->log_level, "debug");
  EXPECT_EQ(*flags->procfs, "/host/proc");
  EXPECT_EQ(*flags->telemetry_path, "/m");
}

struct BadFlag {
  std::vector<std::string> args;
  std::string message;
};

class BadFlagTest : public ::testing::TestWithParam<BadFlag> {};

TEST_P(BadFlagTest, GivesUsageError) {
  auto flags = parse_exporter_flags(GetParam().args, kCollectors);
  ASSERT_FALSE(flags);
  EXPECT_EQ(flags.message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    All, BadFlagTest,
    ::testing::Values(
        BadFlag{{"--bogus"}, "unknown flag --bogus: see --help for the list of flags"},
        BadFlag{{"--collector.nope"},
                "unknown collector in --collector.nope: known collectors are snmp, socket, tcp"},
        BadFlag{{"--no-collector.nope"},
                "unknown collector in --no-collector.nope: known collectors are snmp, socket, tcp"},
        BadFlag{{"--collector.snmp=true"},
                "--collector.snmp takes no value; use --collector.snmp or --no-collector.snmp"},
        BadFlag{{"--config.file"}, "--config.file needs a value"},
        BadFlag{{"--web.max-requests=0"},
                "--web.max-requests must be an integer from 1 to 1000, got \"0\""},
        BadFlag{{"--web.max-requests=ten"},
                "--web.max-requests must be an integer from 1 to 1000, got \"ten\""},
        BadFlag{{"--log.level=loud"},
                "--log.level must be one of debug, info, warn, error, got \"loud\""},
        BadFlag{{"--web.telemetry-path=metrics"},
                "--web.telemetry-path must start with / and not be / or /healthz, got "
                "\"metrics\""}));

TEST(FlagsTest, FlagsOverrideConfigAndDisableDefaults) {
  auto flags = parse_exporter_flags(
      {"--collector.disable-defaults", "--collector.tcp", "--web.listen-address=:1234"},
      kCollectors);
  ASSERT_TRUE(flags);
  Config config = default_config();
  config.exporter.listen_address = ":9723";
  ASSERT_TRUE(apply_flags(*flags, config).is_ok());
  EXPECT_EQ(config.exporter.listen_address, ":1234");
  EXPECT_FALSE(config.collector<SnmpConfig>().common.enabled);
  EXPECT_FALSE(config.collector<SocketConfig>().common.enabled);
  EXPECT_TRUE(config.collector<TcpConfig>().common.enabled);
}

TEST(FlagsTest, NoCollectorDisablesOne) {
  auto flags = parse_exporter_flags({"--no-collector.snmp"}, kCollectors);
  ASSERT_TRUE(flags);
  Config config = default_config();
  ASSERT_TRUE(apply_flags(*flags, config).is_ok());
  EXPECT_FALSE(config.collector<SnmpConfig>().common.enabled);
  EXPECT_TRUE(config.collector<SocketConfig>().common.enabled);
}

TEST(FlagsTest, UsageListsEveryCollector) {
  std::string usage = exporter_usage(kCollectors);
  for (const auto& name : kCollectors) {
    EXPECT_NE(usage.find("--[no-]collector." + name), std::string::npos) << usage;
  }
}

}  // namespace
}  // namespace netobs
