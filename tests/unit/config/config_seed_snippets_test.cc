// Every ```yaml block of seed 003 (copied verbatim into
// tests/fixtures/config/seed003/) loads as a netobs config with the values the
// seed means, so a user can paste the documented snippets unchanged.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "collectors/dns/dns_config.h"
#include "collectors/security/security_config.h"
#include "collectors/tcp/tcp_config.h"
#include "collectors/xdp/xdp_config.h"
#include "config/config.h"
#include "exporter/builtin_config.h"

namespace netobs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/config/seed003/" + name;
}

// Loads a snippet that must be a valid config.
ConfigLoadResult load_snippet(const std::string& name) {
  ConfigLoadResult result = load_config_file(fixture(name));
  EXPECT_TRUE(result.ok()) << result.format_errors();
  return result;
}

TEST(SeedSnippetsTest, Dns) {
  const ConfigLoadResult r = load_snippet("01_dns.yaml");
  EXPECT_TRUE(r.config.collector<DnsConfig>().common.enabled);
  EXPECT_TRUE(r.config.collector<DnsConfig>().capture_queries);
  EXPECT_TRUE(r.config.collector<DnsConfig>().capture_responses);
  EXPECT_TRUE(r.config.collector<DnsConfig>()
                  .capture_content);  // default is false: the snippet turns it on
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(SeedSnippetsTest, Tcp) {
  const ConfigLoadResult r = load_snippet("03_tcp.yaml");
  EXPECT_TRUE(r.config.collector<TcpConfig>().common.enabled);
  EXPECT_TRUE(r.config.collector<TcpConfig>().rtt);
  EXPECT_TRUE(r.config.collector<TcpConfig>().retransmits);
  EXPECT_TRUE(r.config.collector<TcpConfig>().connection_tracking);
  EXPECT_EQ(r.config.collector<TcpConfig>().sample_rate, 1u);
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(SeedSnippetsTest, HttpGrpcIsAcceptedButIgnored) {
  const ConfigLoadResult r = load_snippet("04_http_grpc.yaml");
  EXPECT_THAT(r.config.ignored_keys,
              ElementsAre("agent.ebpf.network.enabled", "agent.ebpf.network.http",
                          "agent.ebpf.network.grpc", "agent.ebpf.network.exclude_paths",
                          "agent.ebpf.network.capture_headers"));
  ASSERT_EQ(r.warnings.size(), 5u);
  EXPECT_EQ(r.warnings[0],
            "agent.ebpf.network.enabled: HTTP/gRPC tracing is not implemented by netobs; key "
            "ignored");
  // Nothing else changes.
  Config expected = default_config();
  expected.source = r.config.source;
  expected.ignored_keys = r.config.ignored_keys;
  EXPECT_EQ(r.config, expected);
}

TEST(SeedSnippetsTest, Xdp) {
  const ConfigLoadResult r = load_snippet("06_xdp.yaml");
  EXPECT_TRUE(r.config.collector<XdpConfig>().common.enabled);
  EXPECT_EQ(r.config.collector<XdpConfig>().sample_rate, 1000u);
  EXPECT_THAT(r.config.collector<XdpConfig>().interfaces, ElementsAre("eth0", "eth1"));
  EXPECT_THAT(r.config.collector<XdpConfig>().filter_ports, ElementsAre(80, 443, 8080));
  EXPECT_THAT(r.config.collector<XdpConfig>().filter_protocols, ElementsAre("tcp", "udp"));
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(SeedSnippetsTest, InterfaceFiltering) {
  const ConfigLoadResult r = load_snippet("07_interface_filtering.yaml");
  EXPECT_THAT(r.config.network.interfaces, ElementsAre("eth0", "ens5"));
  EXPECT_THAT(r.config.network.exclude_interfaces, ElementsAre("lo", "docker0", "veth*"));
}

TEST(SeedSnippetsTest, PortFiltering) {
  const ConfigLoadResult r = load_snippet("08_port_filtering.yaml");
  EXPECT_THAT(r.config.network.include_ports, ElementsAre(80, 443, 8080, 3000, 5432, 6379));
  EXPECT_THAT(r.config.network.exclude_ports, ElementsAre(22, 2379, 2380));
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(SeedSnippetsTest, SecurityEnablesTheSecurityCollector) {
  const ConfigLoadResult r = load_snippet("09_security.yaml");
  ASSERT_TRUE(r.ok()) << r.format_errors();
  const SecurityConfig& security = r.config.collector<SecurityConfig>();
  EXPECT_TRUE(security.common.enabled);
  EXPECT_THAT(security.suspicious_ports, ElementsAre(4444, 31337));
  EXPECT_TRUE(security.external_connection_alerts);
  EXPECT_THAT(security.blocklists, ElementsAre("/etc/telegen/ip-blocklist.txt"));
  EXPECT_THAT(r.config.ignored_keys, IsEmpty());
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(SeedSnippetsTest, ReducingOverhead) {
  const ConfigLoadResult r = load_snippet("10_reducing_overhead.yaml");
  EXPECT_EQ(r.config.events.ring_buffer_size, 8388608u);
  EXPECT_EQ(r.config.collector<TcpConfig>().sample_rate, 10u);
  EXPECT_THAT(r.config.ignored_keys,
              ElementsAre("agent.network.http.max_body_capture", "agent.network.http.max_headers"));
}

TEST(SeedSnippetsTest, FilterNoisyTraffic) {
  const ConfigLoadResult r = load_snippet("11_filter_noisy_traffic.yaml");
  EXPECT_THAT(r.config.network.exclude_ports, ElementsAre(2379, 10250));
  EXPECT_THAT(r.config.ignored_keys, ElementsAre("agent.ebpf.network.exclude_paths"));
}

TEST(SeedSnippetsTest, Sampling) {
  const ConfigLoadResult r = load_snippet("12_sampling.yaml");
  EXPECT_EQ(r.config.collector<TcpConfig>().sample_rate, 100u);
  EXPECT_EQ(r.config.collector<XdpConfig>().sample_rate, 10000u);
  EXPECT_FALSE(
      r.config.collector<XdpConfig>().common.enabled);  // setting a rate does not opt in to XDP
}

TEST(SeedSnippetsTest, KeyServices) {
  const ConfigLoadResult r = load_snippet("13_key_services.yaml");
  EXPECT_THAT(r.config.network.include_ports, ElementsAre(80, 443, 5432, 6379));
  EXPECT_THAT(r.warnings, IsEmpty());
}

// The seed's "Metrics example" block (02) shows Prometheus series and its
// "Topology Data" block (05) shows an exported data structure: they are data
// examples, not configuration. They are still valid YAML (02 is one multi-line
// plain scalar), and loading either as a config must fail with a clear error.
TEST(SeedSnippetsTest, DataExamplesAreYamlButNotConfigs) {
  const YAML::Node metrics = YAML::LoadFile(fixture("02_tcp_metrics_example.yaml"));
  EXPECT_TRUE(metrics.IsScalar());
  EXPECT_THAT(metrics.Scalar(), ::testing::StartsWith("tcp_rtt_us{ src_ip=\"10.0.1.50\","));
  const YAML::Node topology = YAML::LoadFile(fixture("05_topology_data.yaml"));
  EXPECT_TRUE(topology.IsMap());
  EXPECT_TRUE(topology["topology"]["nodes"].IsSequence());

  const std::string metrics_path = fixture("02_tcp_metrics_example.yaml");
  const ConfigLoadResult as_config = load_config_file(metrics_path);
  EXPECT_EQ(as_config.format_errors(),
            metrics_path +
                ":2:1: the top level must be a map of sections (exporter, network, events, "
                "collectors), got the string \"tcp_rtt_us{ src_ip=\"10.0.1.50\", dst_ip=\"...\"");

  const std::string topology_path = fixture("05_topology_data.yaml");
  const ConfigLoadResult topology_as_config = load_config_file(topology_path);
  EXPECT_EQ(topology_as_config.format_errors(),
            topology_path +
                ":1:1: topology: unknown key \"topology\"; allowed keys: exporter, network, "
                "events, collectors, attribution, agent");
}

TEST(SeedSnippetsTest, EveryConfigSnippetLoadsWithoutErrors) {
  // The 11 blocks rooted at `agent:`; 02 and 05 are the data examples above.
  for (const char* name :
       {"01_dns.yaml", "03_tcp.yaml", "04_http_grpc.yaml", "06_xdp.yaml",
        "07_interface_filtering.yaml", "08_port_filtering.yaml", "09_security.yaml",
        "10_reducing_overhead.yaml", "11_filter_noisy_traffic.yaml", "12_sampling.yaml",
        "13_key_services.yaml"}) {
    EXPECT_TRUE(load_config_file(fixture(name)).ok()) << name;
  }
}

}  // namespace
}  // namespace netobs
