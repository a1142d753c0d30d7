// The xdp collector's packet fixture table: each frame, built with
// PacketBuilder, with what parsing it must yield. Shared by the unit test of
// the C++ parser (tests/unit/xdp/xdp_parse_test.cc) and the BPF_PROG_TEST_RUN
// test of the XDP program (tests/privileged/xdp/xdp_prog_test.cc), which turns
// each expectation into exact counter effects and sample contents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/xdp.h"
#include "tests/support/packet_builder.h"

namespace netobs::testing {

struct XdpFixture {
  std::string name;
  std::vector<uint8_t> frame;
  uint8_t eth = NETOBS_XDP_ETH_OTHER;
  uint8_t l4 = NETOBS_XDP_L4_NONE;
  uint8_t malformed = NETOBS_XDP_MALFORMED_NONE;
  uint8_t fragment = NETOBS_XDP_FRAG_NONE;
  uint8_t vlan_depth = 0;
  uint32_t l3_offset = 0;
  uint32_t l4_offset = 0;  // 0: no L4 header parsed (then no ports, no flags)
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t tcp_flags = 0;  // the raw flags byte when l4_offset != 0 and TCP
  // BPF_PROG_TEST_RUN refuses frames under 14 bytes; frames over a page need
  // the multi-buffer (xdp.frags) program.
  bool test_run_ok = true;
  bool needs_frags = false;
};

// The ports the tests configure as filters.ports (slots 0..3 in this order).
inline const std::vector<uint16_t> kFixturePorts = {80, 443, 53, 8080};

inline std::vector<XdpFixture> xdp_fixtures() {
  constexpr uint8_t kV4 = NETOBS_XDP_ETH_IPV4;
  constexpr uint8_t kV6 = NETOBS_XDP_ETH_IPV6;
  const std::string a4 = "10.1.2.3", b4 = "192.0.2.10";
  const std::string a6 = "2001:db8::1", b6 = "2001:db8:ffff::2";
  std::vector<XdpFixture> f;
  auto add = [&f](XdpFixture fixture) { f.push_back(std::move(fixture)); };
  auto v4 = [&] { return PacketBuilder().eth().ipv4(a4, b4); };
  auto v6 = [&] { return PacketBuilder().eth().ipv6(a6, b6); };

  // --- IPv4 ---
  add({.name = "ipv4_tcp_syn",
       .frame = v4().tcp(40000, 80, kTcpSyn).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 40000,
       .dport = 80,
       .tcp_flags = kTcpSyn});
  add({.name = "ipv4_tcp_synack",
       .frame = v4().tcp(443, 40001, kTcpSyn | kTcpAck).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 443,
       .dport = 40001,
       .tcp_flags = kTcpSyn | kTcpAck});
  add({.name = "ipv4_tcp_rst",
       .frame = v4().tcp(40002, 8080, kTcpRst | kTcpAck).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 40002,
       .dport = 8080,
       .tcp_flags = kTcpRst | kTcpAck});
  add({.name = "ipv4_tcp_fin_payload",
       .frame = v4().tcp(80, 80, kTcpFin | kTcpAck | kTcpPsh).payload(200).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 80,
       .dport = 80,
       .tcp_flags = kTcpFin | kTcpAck | kTcpPsh});
  add({.name = "ipv4_tcp_options_doff8",
       .frame = v4().tcp(5555, 6666, kTcpAck, {.data_offset = 8}).payload(12).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 5555,
       .dport = 6666,
       .tcp_flags = kTcpAck});
  add({.name = "ipv4_udp_dns",
       .frame = v4().udp(53000, 53).payload(40).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 53000,
       .dport = 53});
  add({.name = "ipv4_icmp_echo",
       .frame = v4().icmp(8, 0).payload(56).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_ICMP,
       .l3_offset = 14,
       .l4_offset = 34});
  add({.name = "ipv4_options_tcp_443",
       .frame = PacketBuilder()
                    .eth()
                    .ipv4(a4, b4, {.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}})
                    .tcp(12345, 443, kTcpAck)
                    .build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 42,
       .sport = 12345,
       .dport = 443,
       .tcp_flags = kTcpAck});
  add({.name = "ipv4_max_options_udp",
       .frame = PacketBuilder()
                    .eth()
                    .ipv4(a4, b4, {.options = std::vector<uint8_t>(40, 0x01)})
                    .udp(1000, 2000)
                    .build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 74,
       .sport = 1000,
       .dport = 2000});
  add({.name = "ipv4_first_fragment_udp",
       .frame = PacketBuilder()
                    .eth()
                    .ipv4(a4, b4, {.id = 7, .more_fragments = true})
                    .udp(4000, 53)
                    .payload(100)
                    .build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .fragment = NETOBS_XDP_FRAG_FIRST,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 4000,
       .dport = 53});
  add({.name = "ipv4_non_first_fragment_udp",
       // Payload bytes that would read as ports 53/53 if parsed as UDP.
       .frame = PacketBuilder()
                    .eth()
                    .ipv4(a4, b4, {.id = 7, .fragment_offset = 1480, .protocol = 17})
                    .payload({0x00, 0x35, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4})
                    .build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .fragment = NETOBS_XDP_FRAG_NON_FIRST,
       .l3_offset = 14});
  add({.name = "ipv4_middle_fragment_tcp",
       .frame = PacketBuilder()
                    .eth()
                    .ipv4(a4, b4, {.fragment_offset = 8, .more_fragments = true, .protocol = 6})
                    .payload(64)
                    .build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .fragment = NETOBS_XDP_FRAG_NON_FIRST,
       .l3_offset = 14});
  add({.name = "ipv4_experimental_protocol_is_other",
       .frame = v4().payload(24).build(),  // protocol 253
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_OTHER,
       .l3_offset = 14});
  add({.name = "ipv4_carrying_icmpv6_is_other",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.protocol = 58}).payload(8).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_OTHER,
       .l3_offset = 14});
  add({.name = "ipv4_ethernet_padding",
       // 14 + 20 + 8 + 2 = 44 bytes padded to the 60-byte minimum frame.
       .frame =
           [&] {
             std::vector<uint8_t> frame = v4().udp(7, 7).payload(2).build();
             frame.resize(60, 0);
             return frame;
           }(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 7,
       .dport = 7});

  // --- IPv6 ---
  add({.name = "ipv6_tcp_syn",
       .frame = v6().tcp(40000, 443, kTcpSyn).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 54,
       .sport = 40000,
       .dport = 443,
       .tcp_flags = kTcpSyn});
  add({.name = "ipv6_udp",
       .frame = v6().udp(5353, 53).payload(30).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 54,
       .sport = 5353,
       .dport = 53});
  add({.name = "ipv6_icmpv6_echo",
       .frame = v6().icmpv6(128, 0).payload(32).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_ICMPV6,
       .l3_offset = 14,
       .l4_offset = 54});
  add({.name = "ipv6_hop_by_hop_udp",
       .frame = v6().ipv6_ext(kIpv6HopByHop, 8).udp(6000, 8080).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 62,
       .sport = 6000,
       .dport = 8080});
  add({.name = "ipv6_routing_destopts_tcp",
       .frame = v6().ipv6_ext(kIpv6Routing, 24)
                    .ipv6_ext(kIpv6DestOptions, 16)
                    .tcp(40010, 80, kTcpFin | kTcpAck)
                    .build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 94,
       .sport = 40010,
       .dport = 80,
       .tcp_flags = kTcpFin | kTcpAck});
  add({.name = "ipv6_first_fragment_udp",
       .frame = v6().ipv6_fragment(0, true).udp(4001, 53).payload(64).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_UDP,
       .fragment = NETOBS_XDP_FRAG_FIRST,
       .l3_offset = 14,
       .l4_offset = 62,
       .sport = 4001,
       .dport = 53});
  add({.name = "ipv6_non_first_fragment_tcp",
       .frame =
           [&] {
             // The fragment header's next header is TCP, but no TCP header follows.
             PacketBuilder builder = v6().ipv6_fragment(1232, false);
             std::vector<uint8_t> frame = builder.payload(40).build();
             frame[14 + 40] = 6;
             return frame;
           }(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .fragment = NETOBS_XDP_FRAG_NON_FIRST,
       .l3_offset = 14});
  add({.name = "ipv6_hbh_fragment_destopts_tcp",
       .frame = v6().ipv6_ext(kIpv6HopByHop, 8)
                    .ipv6_fragment(0, true)
                    .ipv6_ext(kIpv6DestOptions, 8)
                    .tcp(40020, 8080, kTcpRst)
                    .build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .fragment = NETOBS_XDP_FRAG_FIRST,
       .l3_offset = 14,
       .l4_offset = 78,
       .sport = 40020,
       .dport = 8080,
       .tcp_flags = kTcpRst});
  add({.name = "ipv6_carrying_icmpv4_is_other",
       .frame = PacketBuilder().eth().ipv6(a6, b6, {.next_header = 1}).payload(8).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_OTHER,
       .l3_offset = 14});
  add({.name = "ipv6_no_next_header",
       .frame = v6().ipv6_ext(kIpv6DestOptions, 8).build(),  // next header 59
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_OTHER,
       .l3_offset = 14});
  add({.name = "ipv6_eight_ext_headers_udp",
       .frame =
           [&] {
             PacketBuilder builder = v6();
             for (int i = 0; i < NETOBS_XDP_MAX_EXT_HEADERS; ++i)
               builder.ipv6_ext(kIpv6DestOptions);
             return builder.udp(1, 2).build();
           }(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_UDP,
       .l3_offset = 14,
       .l4_offset = 54 + 8 * NETOBS_XDP_MAX_EXT_HEADERS,
       .sport = 1,
       .dport = 2});

  // --- VLAN, QinQ, non-IP ---
  add({.name = "vlan_ipv4_udp",
       .frame = PacketBuilder().eth().vlan(10).ipv4(a4, b4).udp(9999, 53).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .vlan_depth = 1,
       .l3_offset = 18,
       .l4_offset = 38,
       .sport = 9999,
       .dport = 53});
  add({.name = "qinq_ipv6_tcp",
       .frame = PacketBuilder().eth().qinq(100, 200).ipv6(a6, b6).tcp(40030, 443, kTcpSyn).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .vlan_depth = 2,
       .l3_offset = 22,
       .l4_offset = 62,
       .sport = 40030,
       .dport = 443,
       .tcp_flags = kTcpSyn});
  add({.name = "qinq_9100_ipv4_icmp",
       .frame = PacketBuilder().eth().vlan(5, 0x9100).vlan(6).ipv4(a4, b4).icmp().build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_ICMP,
       .vlan_depth = 2,
       .l3_offset = 22,
       .l4_offset = 42});
  add({.name = "three_vlan_tags_is_other",
       .frame = PacketBuilder().eth().vlan(1).vlan(2).vlan(3).ipv4(a4, b4).udp(1, 2).build(),
       .eth = NETOBS_XDP_ETH_OTHER,
       .l4 = NETOBS_XDP_L4_NONE,
       .vlan_depth = 2});
  add({.name = "arp_request",
       .frame = PacketBuilder().eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff").arp().build(),
       .eth = NETOBS_XDP_ETH_ARP});
  add({.name = "vlan_arp",
       .frame = PacketBuilder().eth().vlan(20).arp().build(),
       .eth = NETOBS_XDP_ETH_ARP,
       .vlan_depth = 1});
  add({.name = "lldp_other_ethertype",
       .frame = PacketBuilder().eth().ethertype(0x88CC).payload(46).build(),
       .eth = NETOBS_XDP_ETH_OTHER});

  // --- jumbo: 9000-byte frame, a multi-buffer frame in XDP ---
  add({.name = "jumbo_ipv4_tcp_9000",
       .frame = v4().tcp(40040, 80, kTcpAck).pad_to(9000).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .l3_offset = 14,
       .l4_offset = 34,
       .sport = 40040,
       .dport = 80,
       .tcp_flags = kTcpAck,
       .needs_frags = true});

  // --- truncated frames, cut at (and inside) every header boundary. IP
  // lengths still describe the whole packet, so once the IP header is
  // complete the cut shows as an IP total/payload length beyond the frame.
  {
    PacketBuilder builder = PacketBuilder().eth().vlan(10).ipv4(a4, b4).tcp(1, 80).payload(20);
    const std::vector<std::pair<size_t, uint8_t>> cuts = {
        {10, NETOBS_XDP_MALFORMED_ETHERNET}, {14, NETOBS_XDP_MALFORMED_VLAN},
        {16, NETOBS_XDP_MALFORMED_VLAN},     {18, NETOBS_XDP_MALFORMED_IPV4},
        {30, NETOBS_XDP_MALFORMED_IPV4},     {38, NETOBS_XDP_MALFORMED_IPV4},
        {48, NETOBS_XDP_MALFORMED_IPV4},     {58, NETOBS_XDP_MALFORMED_IPV4}};
    for (const auto& [cut, layer] : cuts) {
      add({.name = "cut_vlan_ipv4_tcp_at_" + std::to_string(cut),
           .frame = builder.build_truncated(cut),
           .eth = static_cast<uint8_t>(cut >= 18 ? kV4 : uint8_t{NETOBS_XDP_ETH_OTHER}),
           .malformed = layer,
           .vlan_depth = static_cast<uint8_t>(cut >= 18 ? 1 : 0),
           .l3_offset = static_cast<uint32_t>(cut >= 18 ? 18 : 0),
           .test_run_ok = cut >= 14});
    }
  }
  {
    PacketBuilder builder = v6().ipv6_ext(kIpv6HopByHop, 16).udp(1, 53).payload(8);
    for (size_t cut : {14u, 40u, 54u, 62u, 70u, 78u}) {
      add({.name = "cut_ipv6_hbh_udp_at_" + std::to_string(cut),
           .frame = builder.build_truncated(cut),
           .eth = kV6,
           .malformed = NETOBS_XDP_MALFORMED_IPV6,
           .l3_offset = 14});
    }
  }
  // Headers short although the IP lengths are consistent: each L4 layer and
  // IPv6 extension header cut on its own.
  add({.name = "short_tcp_header",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.protocol = 6}).payload(19).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .malformed = NETOBS_XDP_MALFORMED_TCP,
       .l3_offset = 14});
  add({.name = "short_udp_header",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.protocol = 17}).payload(7).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_UDP,
       .malformed = NETOBS_XDP_MALFORMED_UDP,
       .l3_offset = 14});
  add({.name = "short_icmp_header",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.protocol = 1}).payload(4).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_ICMP,
       .malformed = NETOBS_XDP_MALFORMED_ICMP,
       .l3_offset = 14});
  add({.name = "short_icmpv6_header",
       .frame = PacketBuilder().eth().ipv6(a6, b6, {.next_header = 58}).payload(6).build(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_ICMPV6,
       .malformed = NETOBS_XDP_MALFORMED_ICMPV6,
       .l3_offset = 14});
  add({.name = "short_tcp_header_v6_after_ext",
       .frame =
           [&] {
             std::vector<uint8_t> frame = v6().ipv6_ext(kIpv6DestOptions, 8).payload(10).build();
             frame[14 + 40] = 6;  // destination options' next header: TCP
             return frame;
           }(),
       .eth = kV6,
       .l4 = NETOBS_XDP_L4_TCP,
       .malformed = NETOBS_XDP_MALFORMED_TCP,
       .l3_offset = 14});
  add({.name = "short_ipv6_ext_header",
       .frame = PacketBuilder().eth().ipv6(a6, b6, {.next_header = 0}).payload(4).build(),
       .eth = kV6,
       .malformed = NETOBS_XDP_MALFORMED_IPV6_EXT,
       .l3_offset = 14});
  add({.name = "short_ipv6_fragment_header",
       .frame = PacketBuilder().eth().ipv6(a6, b6, {.next_header = 44}).payload(6).build(),
       .eth = kV6,
       .malformed = NETOBS_XDP_MALFORMED_IPV6_EXT,
       .l3_offset = 14});
  add({.name = "ext_header_longer_than_packet",
       // Hop-by-hop claims 16 bytes, only 8 follow: the next header read is cut.
       .frame =
           [&] {
             std::vector<uint8_t> frame = v6().ipv6_ext(kIpv6HopByHop, 8).build();
             frame[14 + 40 + 1] = 1;  // length: 2 * 8 bytes
             return frame;
           }(),
       .eth = kV6,
       .malformed = NETOBS_XDP_MALFORMED_IPV6_EXT,
       .l3_offset = 14});
  add({.name = "too_many_ipv6_ext_headers",
       .frame =
           [&] {
             PacketBuilder builder = v6();
             for (int i = 0; i <= NETOBS_XDP_MAX_EXT_HEADERS; ++i)
               builder.ipv6_ext(kIpv6DestOptions);
             return builder.udp(1, 2).build();
           }(),
       .eth = kV6,
       .malformed = NETOBS_XDP_MALFORMED_IPV6_EXT,
       .l3_offset = 14});

  // --- invalid headers ---
  add({.name = "ipv4_bad_version",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.version = 5}).udp(1, 2).build(),
       .eth = kV4,
       .malformed = NETOBS_XDP_MALFORMED_IPV4,
       .l3_offset = 14});
  add({.name = "ipv4_ihl_below_5",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.ihl = 4}).udp(1, 2).build(),
       .eth = kV4,
       .malformed = NETOBS_XDP_MALFORMED_IPV4,
       .l3_offset = 14});
  add({.name = "ipv4_ihl_beyond_total_length",
       // IHL says 60 bytes of header, the total length 24.
       .frame =
           PacketBuilder().eth().ipv4(a4, b4, {.total_length = 24, .ihl = 15}).payload(4).build(),
       .eth = kV4,
       .malformed = NETOBS_XDP_MALFORMED_IPV4,
       .l3_offset = 14});
  add({.name = "ipv4_total_length_below_ihl",
       .frame = PacketBuilder().eth().ipv4(a4, b4, {.total_length = 12}).udp(1, 2).build(),
       .eth = kV4,
       .malformed = NETOBS_XDP_MALFORMED_IPV4,
       .l3_offset = 14});
  add({.name = "ipv6_bad_version",
       .frame = PacketBuilder().eth().ipv6(a6, b6, {.version = 4}).udp(1, 2).build(),
       .eth = kV6,
       .malformed = NETOBS_XDP_MALFORMED_IPV6,
       .l3_offset = 14});
  add({.name = "tcp_data_offset_below_5",
       .frame = v4().tcp(1, 80, kTcpSyn, {.data_offset = 4}).build(),
       .eth = kV4,
       .l4 = NETOBS_XDP_L4_TCP,
       .malformed = NETOBS_XDP_MALFORMED_TCP,
       .l3_offset = 14});
  return f;
}

}  // namespace netobs::testing
