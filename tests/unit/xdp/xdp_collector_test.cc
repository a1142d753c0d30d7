// The xdp collector's pure parts: interface selection, sample decoding,
// service ports, top talkers and the metric families (no root, no kernel).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstring>

#include "collectors/xdp/xdp_config.h"
#include "bpf/lib/xdp_parse.h"
#include "bpf/xdp.h"
#include "collectors/xdp/interface_selector.h"
#include "collectors/xdp/sample_decoder.h"
#include "collectors/xdp/tc_attach.h"
#include "collectors/xdp/top_talkers.h"
#include "collectors/xdp/xdp_metrics.h"
#include "collectors/xdp/xdp_program.h"
#include "config/config.h"
#include "tests/support/packet_builder.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::PacketBuilder;

TEST(XdpInterfaceSelectorTest, GlobsIncludeExcludeAndConfigFallback) {
  InterfaceSelector all({}, {"lo", "docker0", "veth*"});
  EXPECT_TRUE(all.matches("eth0"));
  EXPECT_FALSE(all.matches("lo"));
  EXPECT_FALSE(all.matches("veth1234"));
  EXPECT_FALSE(all.matches(""));
  InterfaceSelector some({"eth[0-1]", "ens*"}, {"ens9"});
  EXPECT_TRUE(some.matches("eth1"));
  EXPECT_FALSE(some.matches("eth2"));
  EXPECT_TRUE(some.matches("ens5"));
  EXPECT_FALSE(some.matches("ens9"));  // exclusion wins

  Config config;
  config.network.interfaces = {"net*"};
  config.network.exclude_interfaces = {"net9"};
  EXPECT_TRUE(xdp_interface_selector(config).matches("net1"));
  EXPECT_FALSE(xdp_interface_selector(config).matches("net9"));
  config.collector<XdpConfig>().interfaces = {"xdp*"};  // the collector's own list wins
  EXPECT_FALSE(xdp_interface_selector(config).matches("net1"));
  EXPECT_TRUE(xdp_interface_selector(config).matches("xdp0"));
  EXPECT_EQ(xdp_interface_selector(config).describe(), "include=[xdp*] exclude=[net9]");
}

// A sample record as the kernel writes it for `frame`.
netobs_xdp_sample record_of(const std::vector<uint8_t>& frame, uint32_t ifindex = 3) {
  netobs_xdp_parsed p;
  netobs_xdp_parse(frame.data(), frame.data() + frame.size(), frame.size(), &p);
  netobs_xdp_sample rec{};
  rec.ifindex = ifindex;
  rec.pkt_len = static_cast<uint32_t>(frame.size());
  rec.cap_len = static_cast<uint16_t>(std::min<size_t>(frame.size(), NETOBS_XDP_SAMPLE_BYTES));
  rec.l3_offset = static_cast<uint16_t>(p.l3_offset);
  rec.l4_offset = static_cast<uint16_t>(p.l4_offset);
  rec.sport = p.sport;
  rec.dport = p.dport;
  rec.eth_class = p.eth_class;
  rec.l4_class = p.l4_class;
  std::memcpy(rec.data, frame.data(), rec.cap_len);
  return rec;
}

TEST(XdpSampleDecoderTest, DecodesIpv4AndIpv6Talkers) {
  auto rec =
      record_of(PacketBuilder().eth().vlan(3).ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 443).build());
  auto decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded) << decoded.message();
  EXPECT_EQ(decoded->ifindex, 3u);
  EXPECT_EQ(decoded->talker.src, "10.0.0.1");
  EXPECT_EQ(decoded->talker.dst, "10.0.0.2");
  EXPECT_EQ(decoded->talker.protocol, "tcp");
  EXPECT_EQ(decoded->sport, 40000);
  EXPECT_EQ(decoded->dport, 443);

  rec = record_of(PacketBuilder().eth().ipv6("2001:db8::1", "fe80::2").icmpv6().build());
  decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->talker.src, "2001:db8::1");
  EXPECT_EQ(decoded->talker.dst, "fe80::2");
  EXPECT_EQ(decoded->talker.protocol, "icmpv6");
  EXPECT_EQ(decoded->sport, 0);

  rec = record_of(PacketBuilder().eth().arp().build());
  decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->talker.src, "");
  EXPECT_EQ(decoded->talker.protocol, "none");
}

TEST(XdpSampleDecoderTest, RejectsBadRecordsWithAReason) {
  netobs_xdp_sample rec{};
  EXPECT_THAT(decode_xdp_sample(&rec, 10).message(), HasSubstr("different builds"));
  rec.cap_len = 200;
  rec.pkt_len = 300;
  EXPECT_THAT(decode_xdp_sample(&rec, sizeof(rec)).message(), HasSubstr("cap_len 200"));
  rec.cap_len = 10;
  rec.eth_class = 9;
  EXPECT_FALSE(decode_xdp_sample(&rec, sizeof(rec)));
  // An IPv6 header beyond the captured bytes: no addresses, no error.
  rec = record_of(PacketBuilder().eth().ipv6("::1", "::2").udp(1, 2).build());
  rec.cap_len = 30;
  auto decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->talker.src, "");
}

TEST(XdpSampleDecoderTest, GsoRecordsCarryTheirSegments) {
  auto rec = record_of(PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).build());
  auto decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->segs, 1u);  // 0 in the record (XDP, older builds): one packet
  rec.segs = 3;
  rec.pkt_len = 2662;
  decoded = decode_xdp_sample(&rec, sizeof(rec));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->segs, 3u);
  EXPECT_EQ(decoded->pkt_len, 2662u);
}

// xdp.mode auto: native XDP only on NICs on a bus (no copy there), tc on
// veth and other virtual devices, where XDP copies every skb.
TEST(XdpAttachModeTest, AutoPrefersNativeOnlyOnPhysicalNics) {
  const DriverInfo ixgbe{"ixgbe", "0000:03:00.0"}, veth{"veth", ""},
      virtio{"virtio_net", "virtio0"};
  EXPECT_TRUE(native_xdp_is_cheap(ixgbe));
  EXPECT_FALSE(native_xdp_is_cheap(veth));
  EXPECT_FALSE(native_xdp_is_cheap(virtio));
  EXPECT_FALSE(native_xdp_is_cheap(std::nullopt));
  using H = XdpHook;
  EXPECT_EQ(hooks_for_mode("auto", ixgbe), (std::vector<H>{H::kNative, H::kTc, H::kGeneric}));
  EXPECT_EQ(hooks_for_mode("auto", veth), (std::vector<H>{H::kTc, H::kGeneric}));
  EXPECT_EQ(hooks_for_mode("auto", std::nullopt), (std::vector<H>{H::kTc, H::kGeneric}));
  EXPECT_EQ(hooks_for_mode("native", veth), (std::vector<H>{H::kNative}));
  EXPECT_EQ(hooks_for_mode("generic", ixgbe), (std::vector<H>{H::kGeneric}));
  EXPECT_EQ(hooks_for_mode("tc", ixgbe), (std::vector<H>{H::kTc}));
  EXPECT_EQ(xdp_hook_name(H::kTc), "tc");
}

TEST(XdpSampleDecoderTest, ServicePortPrefersConfiguredThenLower) {
  EXPECT_EQ(service_port(40000, 443, {}), 443);
  EXPECT_EQ(service_port(443, 40000, {}), 443);
  EXPECT_EQ(service_port(5000, 40000, {40000}), 40000);
  EXPECT_EQ(service_port(0, 0, {}), 0);
  EXPECT_EQ(service_port(0, 53, {}), 53);
}

TalkerKey key(const std::string& src, uint16_t port = 80) { return {src, "10.0.0.9", "tcp", port}; }

TEST(XdpTopTalkersTest, KeepsHeavyHittersWithinCapacity) {
  // Space-Saving keeps every key sampled more than N / capacity times; here
  // N = 1100, capacity 16: the 100-sample key stays, counted exactly (it
  // entered an empty table), while 1000 one-off keys churn the other slots.
  TopTalkers top(16);
  for (int i = 0; i < 100; ++i) top.add(key("10.0.0.1"), 100);
  for (int i = 0; i < 1000; ++i) top.add(key("192.0.2." + std::to_string(i % 250), 1000), 1);
  EXPECT_EQ(top.size(), 16u);
  EXPECT_GT(top.evictions(), 0u);
  const auto best = top.top(2);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].key.src, "10.0.0.1");
  EXPECT_EQ(best[0].samples, 100u);
  EXPECT_EQ(best[0].bytes, 10000u);
  EXPECT_EQ(best[0].error, 0u);
  EXPECT_LE(best[1].samples, 1100u / 16 + 1);
  EXPECT_EQ(top.top(100).size(), top.size());
}

TEST(XdpTopTalkersTest, NewcomerInheritsTheEvictedCount) {
  TopTalkers top(1);
  top.add(key("a"), 1);
  top.add(key("a"), 1);
  top.add(key("b"), 5);
  const auto best = top.top(1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].key.src, "b");
  EXPECT_EQ(best[0].samples, 3u);  // 2 inherited + 1
  EXPECT_EQ(best[0].error, 2u);
}

std::string render(const XdpSnapshot& snapshot) {
  std::vector<prometheus::MetricFamily> families;
  append_xdp_metrics(snapshot, families);
  return prometheus::TextSerializer().Serialize(families);
}

TEST(XdpMetricsTest, SeriesExistAtZeroAndValuesLand) {
  XdpSnapshot snapshot;
  snapshot.sample_rate = 100;
  snapshot.ports = {80, 443};
  XdpInterfaceSnapshot eth0;
  eth0.name = "eth0";
  eth0.counters.proto[NETOBS_XDP_ETH_IPV4][NETOBS_XDP_L4_TCP] = {5, 500};
  eth0.counters.tcp_flags[NETOBS_XDP_FLAG_SYNACK] = 2;
  eth0.counters.ports[1] = {3, 300};
  eth0.counters.size_slots[0] = 4;
  eth0.counters.size_slots[NETOBS_XDP_SIZE_SLOTS - 1] = 1;
  eth0.counters.size_bytes_sum = 10000;
  eth0.counters.malformed[NETOBS_XDP_MALFORMED_IPV6_EXT] = 7;
  eth0.counters.samples = 9;
  eth0.talkers = {{{"10.0.0.1", "10.0.0.2", "tcp", 443}, 2, 3000, 0}};
  snapshot.interfaces.push_back(eth0);
  const std::string text = render(snapshot);
  auto value = [&text](const std::string& name, const std::string& labels) {
    return testing::metric_value(text, name, labels);
  };
  EXPECT_EQ(
      value("netobs_xdp_packets_total", "ethertype=\"ipv4\",interface=\"eth0\",protocol=\"tcp\""),
      5);
  EXPECT_EQ(
      value("netobs_xdp_bytes_total", "ethertype=\"ipv4\",interface=\"eth0\",protocol=\"tcp\""),
      500);
  EXPECT_EQ(
      value("netobs_xdp_packets_total", "ethertype=\"arp\",interface=\"eth0\",protocol=\"none\""),
      0);
  EXPECT_FALSE(
      value("netobs_xdp_packets_total", "ethertype=\"arp\",interface=\"eth0\",protocol=\"tcp\""));
  EXPECT_FALSE(value("netobs_xdp_packets_total",
                     "ethertype=\"ipv4\",interface=\"eth0\",protocol=\"icmpv6\""));
  EXPECT_EQ(value("netobs_xdp_tcp_flags_total", "flag=\"synack\",interface=\"eth0\""), 2);
  EXPECT_EQ(value("netobs_xdp_tcp_flags_total", "flag=\"rst\",interface=\"eth0\""), 0);
  EXPECT_EQ(value("netobs_xdp_port_packets_total", "interface=\"eth0\",port=\"443\""), 3);
  EXPECT_EQ(value("netobs_xdp_port_bytes_total", "interface=\"eth0\",port=\"80\""), 0);
  EXPECT_EQ(value("netobs_xdp_packet_size_bytes_bucket", "interface=\"eth0\",le=\"64\""), 4);
  EXPECT_EQ(value("netobs_xdp_packet_size_bytes_bucket", "interface=\"eth0\",le=\"9216\""), 4);
  EXPECT_EQ(value("netobs_xdp_packet_size_bytes_bucket", "interface=\"eth0\",le=\"+Inf\""), 5);
  EXPECT_EQ(value("netobs_xdp_packet_size_bytes_sum", "interface=\"eth0\""), 10000);
  EXPECT_EQ(value("netobs_xdp_malformed_packets_total", "interface=\"eth0\",layer=\"ipv6_ext\""),
            7);
  EXPECT_EQ(value("netobs_xdp_malformed_packets_total", "interface=\"eth0\",layer=\"ethernet\""),
            0);
  EXPECT_EQ(value("netobs_xdp_ip_fragments_total", "fragment=\"non_first\",interface=\"eth0\""), 0);
  EXPECT_EQ(value("netobs_xdp_samples_total", "interface=\"eth0\""), 9);
  EXPECT_EQ(value("netobs_xdp_samples_dropped_total", "interface=\"eth0\""), 0);
  EXPECT_EQ(value("netobs_xdp_sample_rate", "interface=\"eth0\""), 100);
  EXPECT_EQ(value("netobs_xdp_top_talker_packets_total",
                  "dst=\"10.0.0.2\",interface=\"eth0\",port=\"443\",protocol=\"tcp\","
                  "src=\"10.0.0.1\""),
            200);
  EXPECT_EQ(value("netobs_xdp_top_talker_bytes_total",
                  "dst=\"10.0.0.2\",interface=\"eth0\",port=\"443\",protocol=\"tcp\","
                  "src=\"10.0.0.1\""),
            300000);
  EXPECT_EQ(value("netobs_xdp_sample_decode_errors_total", ""), 0);
  EXPECT_THAT(text, Not(HasSubstr("protocol=\"unknown\"")));
}

TEST(XdpMetricsTest, SumsPerCpuCopies) {
  std::vector<netobs_xdp_counters> cpus(3);
  for (auto& c : cpus) {
    c.samples = 2;
    c.ports[63].bytes = 5;
  }
  const netobs_xdp_counters total = sum_xdp_counters(cpus);
  EXPECT_EQ(total.samples, 6u);
  EXPECT_EQ(total.ports[63].bytes, 15u);
}

TEST(XdpProgramOptionsTest, ThresholdAndProtocolMask) {
  EXPECT_EQ(xdp_sample_threshold(0), uint64_t{1} << 32);
  EXPECT_EQ(xdp_sample_threshold(1), uint64_t{1} << 32);
  EXPECT_EQ(xdp_sample_threshold(1000), (uint64_t{1} << 32) / 1000);
  EXPECT_EQ(*xdp_protocol_mask({"tcp", "icmpv6"}),
            (1u << NETOBS_XDP_L4_TCP) | (1u << NETOBS_XDP_L4_ICMPV6));
  EXPECT_THAT(xdp_protocol_mask({"sctp"}).message(), HasSubstr("unknown protocol \"sctp\""));
}

}  // namespace
}  // namespace netobs
