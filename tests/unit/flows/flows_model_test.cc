// The flows collector's pure parts: config entries, the services trie keys
// (and the user-space longest match of seeded connections agreeing with
// them), edge labels, the metric families under the budget and the topology
// window, JSON, table and Graphviz renderings.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstring>

#include "collectors/flows/flows_config.h"
#include "collectors/flows/flows_model.h"
#include "exporter/builtin_config.h"
#include "exporter/net/ip_prefix.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

netobs_flows_edge_key process_edge(const char* comm, const char* server, uint16_t port) {
  netobs_flows_edge_key key{};
  key.client_kind = NETOBS_FLOWS_CLIENT_PROCESS;
  std::strncpy(key.comm, comm, sizeof key.comm - 1);
  key.server_kind = NETOBS_FLOWS_SERVER_ADDRESS;
  key.server_port = port;
  Result<IpPrefix> addr = parse_ip_prefix(server);
  EXPECT_TRUE(addr);
  std::memcpy(key.server_addr, addr->addr.data(), 16);
  return key;
}

TEST(FlowsIpPrefix, ParsesAddressesNetworksAndEndpoints) {
  Result<IpPrefix> net = parse_ip_prefix("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->bits, 104u);
  EXPECT_TRUE(is_ipv4_mapped(net->addr));
  EXPECT_EQ(format_ip(net->addr), "10.0.0.0");
  EXPECT_EQ(parse_ip_prefix("2001:db8::/32")->bits, 32u);
  EXPECT_EQ(parse_ip_prefix("192.0.2.10")->bits, 128u);
  EXPECT_FALSE(parse_ip_prefix("10.1.0.0/8"));  // host bits
  EXPECT_FALSE(parse_ip_prefix("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_prefix("nonsense"));
  Result<IpEndpoint> ep = parse_ip_endpoint("192.0.2.10:5432");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->port, 5432);
  Result<IpEndpoint> v6 = parse_ip_endpoint("[2001:db8::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(format_ip_port(v6->prefix.addr, 443), "[2001:db8::1]:443");
  EXPECT_FALSE(parse_ip_endpoint("192.0.2.10:0"));
  EXPECT_FALSE(parse_ip_endpoint("192.0.2.10:70000"));
  EXPECT_FALSE(parse_ip_endpoint("[2001:db8::1"));
  EXPECT_FALSE(parse_ip_endpoint("2001:db8::1")->port.has_value());
}

TEST(FlowsConfig, ShippedDefaultsAndEntryErrors) {
  ConfigLoadResult shipped = load_default_config();
  ASSERT_TRUE(shipped.ok()) << shipped.format_errors();
  const FlowsConfig& flows = shipped.config.collector<FlowsConfig>();
  EXPECT_EQ(flows, FlowsConfig{});
  EXPECT_FALSE(flows.common.enabled);
  EXPECT_EQ(flows.max_edges, 300u);

  ConfigLoadResult good = load_config_string(
      "collectors:\n  flows:\n    enabled: true\n    max_edges: 50\n"
      "    services: [\"internal=10.0.0.0/8\", \"postgres=192.0.2.10:5432\"]\n"
      "    protocols: [\"7000=myproto\"]\n    topology_window: 30s\n",
      "t.yaml");
  ASSERT_TRUE(good.ok()) << good.format_errors();
  EXPECT_EQ(good.config.collector<FlowsConfig>().services.size(), 2u);
  EXPECT_DOUBLE_EQ(good.config.collector<FlowsConfig>().topology_window_seconds, 30);

  ConfigLoadResult bad_service =
      load_config_string("collectors:\n  flows:\n    services: [\"10.0.0.0/8\"]\n", "t.yaml");
  ASSERT_FALSE(bad_service.ok());
  EXPECT_NE(bad_service.format_errors().find("write \"NAME=CIDR\""), std::string::npos)
      << bad_service.format_errors();
  ConfigLoadResult bad_cidr =
      load_config_string("collectors:\n  flows:\n    services: [\"x=10.1.0.0/8\"]\n", "t.yaml");
  ASSERT_FALSE(bad_cidr.ok());
  EXPECT_NE(bad_cidr.format_errors().find("host bits"), std::string::npos);
  ConfigLoadResult bad_protocol =
      load_config_string("collectors:\n  flows:\n    protocols: [\"postgres=5432\"]\n", "t.yaml");
  ASSERT_FALSE(bad_protocol.ok());
  EXPECT_NE(bad_protocol.format_errors().find("PORT=NAME"), std::string::npos);
  ConfigLoadResult zero_edges =
      load_config_string("collectors:\n  flows:\n    max_edges: 0\n", "t.yaml");
  EXPECT_FALSE(zero_edges.ok());
}

TEST(FlowsModel, ServiceKeysAndProtocols) {
  Result<ServiceMap> services =
      ServiceMap::build({"internal=10.0.0.0/8", "postgres=192.0.2.10:5432",
                         "internal=172.16.0.0/12", "web=2001:db8::1"});
  ASSERT_TRUE(services);
  ASSERT_EQ(services->keys().size(), 4u);
  EXPECT_EQ(services->keys()[0].first.prefixlen, 104u);
  EXPECT_EQ(services->keys()[0].second, 1u);
  EXPECT_EQ(services->keys()[1].first.prefixlen, 144u);  // address + port
  EXPECT_EQ(services->keys()[1].first.port[0], 5432 >> 8);
  EXPECT_EQ(services->keys()[1].first.port[1], 5432 & 0xff);
  EXPECT_EQ(services->keys()[2].second, 1u);  // same name, same id
  EXPECT_EQ(services->keys()[3].first.prefixlen, 128u);
  EXPECT_EQ(services->name(2), "postgres");

  Result<ProtocolTable> protocols = ProtocolTable::build({"5432=pg", "7000=myproto"});
  ASSERT_TRUE(protocols);
  EXPECT_EQ(protocols->name(5432), "pg");
  EXPECT_EQ(protocols->name(7000), "myproto");
  EXPECT_EQ(protocols->name(6379), "redis");
  EXPECT_EQ(protocols->name(443), "https");
  EXPECT_EQ(protocols->name(53), "dns");
  EXPECT_EQ(protocols->name(9092), "kafka");
  EXPECT_EQ(protocols->name(8080), "http");
  EXPECT_EQ(protocols->name(40000), "tcp");
}

TEST(FlowsModel, EdgeLabels) {
  ServiceMap services = *ServiceMap::build({"postgres=192.0.2.10:5432"});
  ProtocolTable protocols = *ProtocolTable::build({});
  FlowEdgeLabels l =
      flow_edge_labels(process_edge("curl", "198.51.100.7", 443), services, protocols);
  EXPECT_EQ(l.client, "curl");
  EXPECT_EQ(l.client_type, "process");
  EXPECT_EQ(l.server, "198.51.100.7");
  EXPECT_EQ(l.port, "443");
  EXPECT_EQ(l.protocol, "https");
  EXPECT_EQ(topology_server_id(l), "198.51.100.7:443");

  netobs_flows_edge_key svc{};
  svc.client_kind = NETOBS_FLOWS_CLIENT_ADDRESS;
  std::memcpy(svc.client_addr, parse_ip_prefix("2001:db8::5")->addr.data(), 16);
  svc.server_kind = NETOBS_FLOWS_SERVER_SERVICE;
  svc.server_service = 1;
  svc.server_port = 5432;
  l = flow_edge_labels(svc, services, protocols);
  EXPECT_EQ(l.client, "2001:db8::5");
  EXPECT_EQ(l.client_type, "address");
  EXPECT_EQ(l.server, "postgres");
  EXPECT_EQ(topology_server_id(l), "postgres");
  EXPECT_EQ(l.protocol, "postgres");

  l = flow_edge_labels(netobs_flows_edge_key{}, services, protocols);
  EXPECT_EQ(l.client, "other");
  EXPECT_EQ(l.server, "other");
  EXPECT_EQ(l.protocol, "other");
}

TEST(FlowsModel, FamiliesAndFoldingCount) {
  ServiceMap services = *ServiceMap::build({});
  ProtocolTable protocols = *ProtocolTable::build({});
  FlowsSnapshot snap;
  netobs_flows_edge_stats s{};
  s.opened = 3;
  s.failed = 1;
  s.closed = 3;
  s.bytes_to_server = 100;
  s.bytes_to_client = 2000;
  s.retransmits = 2;
  s.rtt_sum_us = 3000;
  s.rtt_count = 3;
  s.resets = 1;
  snap.edges[flow_edge_labels(process_edge("psql", "192.0.2.10", 5432), services, protocols)] = s;
  snap.counters[NETOBS_FLOWS_FOLDED] = 17;
  snap.kernel_edges = 2;
  std::vector<prometheus::MetricFamily> families;
  append_flows_families(snap, 300, families);
  const std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string labels =
      "client=\"psql\",client_type=\"process\",port=\"5432\",protocol=\"postgres\","
      "server=\"192.0.2.10\",transport=\"tcp\"";
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_connections_opened_total", labels), 3);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_connections_failed_total", labels), 1);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_bytes_total",
                                  "client=\"psql\",client_type=\"process\",direction=\"to_client\","
                                  "port=\"5432\",protocol=\"postgres\",server=\"192.0.2.10\","
                                  "transport=\"tcp\""),
            2000);
  EXPECT_EQ(text.find("netobs_flow_udp_datagrams_total{"), std::string::npos);  // TCP only
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_retransmits_total", labels), 2);
  EXPECT_DOUBLE_EQ(*testing::metric_value(text, "netobs_flow_rtt_seconds_total", labels), 0.003);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_resets_total", labels), 1);
  EXPECT_EQ(testing::metric_value(text, "netobs_series_dropped_total",
                                  "collector=\"flows\",metric=\"netobs_flow_*\""),
            17);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_edges"), 2);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_max_edges"), 300);
}

// A UDP edge: transport label, protocol from the port table (udp when the
// table does not name the port), datagram counts, requests = datagrams.
TEST(FlowsModel, UdpEdgesCarryTransportAndDatagrams) {
  ServiceMap services = *ServiceMap::build({});
  ProtocolTable protocols = *ProtocolTable::build({});
  netobs_flows_edge_key key = process_edge("dig", "192.0.2.53", 53);
  key.transport = NETOBS_FLOWS_TRANSPORT_UDP;
  FlowEdgeLabels l = flow_edge_labels(key, services, protocols);
  EXPECT_EQ(l.transport, "udp");
  EXPECT_EQ(l.protocol, "dns");
  key.server_port = 40000;
  EXPECT_EQ(flow_edge_labels(key, services, protocols).protocol, "udp");
  key.transport = NETOBS_FLOWS_TRANSPORT_TCP;
  EXPECT_EQ(flow_edge_labels(key, services, protocols).protocol, "tcp");

  FlowsSnapshot snap;
  netobs_flows_edge_stats s{};
  s.opened = 2;
  s.packets_to_server = 8;
  s.packets_to_client = 7;
  s.bytes_to_server = 380;
  s.bytes_to_client = 1200;
  snap.edges[l] = s;
  std::vector<prometheus::MetricFamily> families;
  append_flows_families(snap, 300, families);
  const std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string labels =
      "client=\"dig\",client_type=\"process\",direction=\"to_client\",port=\"53\","
      "protocol=\"dns\",server=\"192.0.2.53\",transport=\"udp\"";
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_udp_datagrams_total", labels), 7);
  EXPECT_EQ(testing::metric_value(text, "netobs_flow_bytes_total", labels), 1200);

  FlowsSnapshot start;
  start.time = 0;
  TopologyWindow window(60, start);
  snap.time = 4;
  window.add(snap);
  const std::string json = render_topology_json(window.topology());
  EXPECT_NE(json.find("\"protocol\":\"dns\",\"transport\":\"udp\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"requests_per_second\":2,"), std::string::npos) << json;  // 8 / 4 s
  EXPECT_NE(json.find("\"packets_to_server\":8,\"packets_to_client\":7"), std::string::npos)
      << json;
}

TEST(FlowsModel, TopologyWindowRatesAndRenderings) {
  ServiceMap services = *ServiceMap::build({});
  ProtocolTable protocols = *ProtocolTable::build({});
  const FlowEdgeLabels edge =
      flow_edge_labels(process_edge("api", "192.0.2.20", 6379), services, protocols);
  const FlowEdgeLabels idle =
      flow_edge_labels(process_edge("cron", "192.0.2.30", 80), services, protocols);
  FlowsSnapshot start;
  start.time = 100;
  TopologyWindow window(10, start);
  FlowsSnapshot a;
  a.time = 105;
  a.edges[edge].opened = 10;
  a.edges[idle].opened = 1;
  window.add(a);
  FlowsSnapshot b;
  b.time = 120;
  b.edges[edge] = {.opened = 40, .failed = 10, .closed = 35, .rtt_sum_us = 20000, .rtt_count = 10};
  b.edges[idle].opened = 1;
  window.add(b);
  // Baseline: the newest snapshot at least 10 s old (a at 105).
  Topology t = window.topology();
  EXPECT_DOUBLE_EQ(t.window_seconds, 15);
  ASSERT_EQ(t.edges.size(), 1u);  // the idle edge had nothing in the window
  EXPECT_EQ(t.edges[0].delta.opened, 30u);
  EXPECT_EQ(t.edges[0].delta.failed, 10u);

  const std::string json = render_topology_json(t);
  EXPECT_NE(json.find("\"source\":\"api\",\"target\":\"192.0.2.20:6379\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"protocol\":\"redis\""), std::string::npos);
  EXPECT_NE(json.find("\"requests_per_second\":2.66667"), std::string::npos) << json;  // 40/15
  EXPECT_NE(json.find("\"avg_latency_ms\":2"), std::string::npos);
  EXPECT_NE(json.find("\"error_rate\":0.25"), std::string::npos);  // 10 of 40 attempts
  EXPECT_NE(json.find("{\"id\":\"api\",\"type\":\"process\""), std::string::npos);
  EXPECT_NE(render_topology_table(t).find("192.0.2.20:6379"), std::string::npos);
  const std::string dot = render_topology_dot(t);
  EXPECT_NE(dot.find("\"api\" -> \"192.0.2.20:6379\" [label=\"redis 2.66667/s\"]"),
            std::string::npos)
      << dot;
}

}  // namespace
}  // namespace netobs
