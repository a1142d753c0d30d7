// The dns collector's part of the config schema: defaults, every key, the
// seed-003 path (agent.network.dns.*), and the errors for bad values.
#include <gtest/gtest.h>

#include <string>

#include "collectors/dns/dns_config.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

ConfigLoadResult load(const std::string& yaml) { return load_config_string(yaml, "dns.yaml"); }

TEST(ConfigDnsTest, Defaults) {
  ConfigLoadResult result = load("{}\n");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  const DnsConfig& dns = result.config.collector<DnsConfig>();
  EXPECT_TRUE(dns.common.enabled);
  EXPECT_TRUE(dns.capture_queries);
  EXPECT_TRUE(dns.capture_responses);
  EXPECT_FALSE(dns.capture_content);
  EXPECT_EQ(dns.ports, std::vector<uint16_t>{53});
  EXPECT_DOUBLE_EQ(dns.timeout_seconds, 5);
  EXPECT_EQ(dns.max_outstanding_queries, 16384u);
  EXPECT_FALSE(dns.server_labels);
  EXPECT_EQ(dns.max_servers, 32u);
  EXPECT_EQ(dns.top_domains, 0u);
  EXPECT_EQ(dns.domain_sample_rate, 100u);
}

TEST(ConfigDnsTest, ShippedFileHasTheDefaults) {
  ConfigLoadResult shipped = load_default_config();
  ASSERT_TRUE(shipped.ok()) << shipped.format_errors();
  EXPECT_EQ(shipped.config.collector<DnsConfig>(), load("{}\n").config.collector<DnsConfig>());
}

TEST(ConfigDnsTest, EveryKey) {
  ConfigLoadResult result = load(R"(collectors:
  dns:
    enabled: true
    capture_queries: false
    capture_responses: true
    capture_content: true
    ports: [53, 5353, 8053]
    timeout: 250ms
    max_outstanding_queries: 1024
    server_labels: true
    max_servers: 4
    top_domains: 20
    domain_sample_rate: 10
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  const DnsConfig& dns = result.config.collector<DnsConfig>();
  EXPECT_FALSE(dns.capture_queries);
  EXPECT_TRUE(dns.capture_content);
  EXPECT_EQ(dns.ports, (std::vector<uint16_t>{53, 5353, 8053}));
  EXPECT_DOUBLE_EQ(dns.timeout_seconds, 0.25);
  EXPECT_EQ(dns.max_outstanding_queries, 1024u);
  EXPECT_TRUE(dns.server_labels);
  EXPECT_EQ(dns.max_servers, 4u);
  EXPECT_EQ(dns.top_domains, 20u);
  EXPECT_EQ(dns.domain_sample_rate, 10u);
}

TEST(ConfigDnsTest, SeedPathLandsInTheSameFields) {
  ConfigLoadResult result = load(R"(agent:
  network:
    dns:
      enabled: true
      capture_queries: true
      capture_responses: true
      capture_content: true
)");
  ASSERT_TRUE(result.ok()) << result.format_errors();
  EXPECT_TRUE(result.config.collector<DnsConfig>().capture_content);
  EXPECT_TRUE(result.config.collector<DnsConfig>().common.enabled);
}

struct BadDns {
  std::string yaml;
  std::string message_part;
};

TEST(ConfigDnsTest, BadValuesNameTheProblem) {
  const BadDns cases[] = {
      {"collectors:\n  dns:\n    ports: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
       "at most 8 DNS ports (got 9)"},
      {"collectors:\n  dns:\n    ports: []\n", "list at least one port"},
      {"collectors:\n  dns:\n    ports: [0]\n", "port"},
      {"collectors:\n  dns:\n    max_outstanding_queries: 10\n", "max_outstanding_queries"},
      {"collectors:\n  dns:\n    max_servers: 0\n", "max_servers"},
      {"collectors:\n  dns:\n    top_domains: -1\n", "top_domains"},
      {"collectors:\n  dns:\n    domain_sample_rate: 0\n", "domain_sample_rate"},
      {"collectors:\n  dns:\n    server_labels: maybe\n", "server_labels"},
  };
  for (const BadDns& c : cases) {
    ConfigLoadResult result = load(c.yaml);
    ASSERT_FALSE(result.ok()) << c.yaml;
    const std::string errors = result.format_errors();
    EXPECT_NE(errors.find("collectors.dns."), std::string::npos) << errors;
    EXPECT_NE(errors.find(c.message_part), std::string::npos) << errors;
  }
}

}  // namespace
}  // namespace netobs
