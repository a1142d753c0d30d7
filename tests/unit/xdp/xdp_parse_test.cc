// The XDP packet parser (bpf/lib/xdp_parse.h) compiled as C++, run over the
// fixture table that the BPF_PROG_TEST_RUN test also uses, plus checks of
// the PacketBuilder the fixtures are made with.
#include "bpf/lib/xdp_parse.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/packet_builder.h"
#include "tests/support/xdp_fixtures.h"

namespace netobs {
namespace {

using testing::PacketBuilder;
using testing::XdpFixture;

netobs_xdp_parsed parse(const std::vector<uint8_t>& frame) {
  netobs_xdp_parsed out;
  netobs_xdp_parse(frame.data(), frame.data() + frame.size(), frame.size(), &out);
  return out;
}

TEST(XdpParseTest, FixtureTableHasEveryCase) {
  const auto fixtures = testing::xdp_fixtures();
  EXPECT_GE(fixtures.size(), 30u);
  std::set<std::string> names;
  std::set<int> layers;
  for (const auto& f : fixtures) {
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate fixture " << f.name;
    layers.insert(f.malformed);
  }
  // Every malformed layer is exercised, and well-formed packets too.
  for (int layer = 0; layer < NETOBS_XDP_MALFORMED_LAYERS; ++layer) {
    EXPECT_TRUE(layers.count(layer)) << "no fixture for malformed layer " << layer;
  }
}

TEST(XdpParseTest, ParsesEveryFixtureAsExpected) {
  for (const XdpFixture& f : testing::xdp_fixtures()) {
    SCOPED_TRACE(f.name);
    const netobs_xdp_parsed p = parse(f.frame);
    EXPECT_EQ(p.eth_class, f.eth);
    EXPECT_EQ(p.l4_class, f.l4);
    EXPECT_EQ(p.malformed, f.malformed);
    EXPECT_EQ(p.fragment, f.fragment);
    EXPECT_EQ(p.vlan_depth, f.vlan_depth);
    EXPECT_EQ(p.l3_offset, f.l3_offset);
    EXPECT_EQ(p.l4_offset, f.l4_offset);
    if (f.l4_offset != 0) {
      EXPECT_EQ(p.sport, f.sport);
      EXPECT_EQ(p.dport, f.dport);
      if (f.l4 == NETOBS_XDP_L4_TCP) {
        EXPECT_EQ(p.tcp_flags, f.tcp_flags);
      }
    } else {
      EXPECT_EQ(p.sport, 0);
      EXPECT_EQ(p.dport, 0);
    }
  }
}

// Every prefix of every well-formed fixture parses without reading past the
// end (ASan would tell) and never claims an L4 header it could not read.
TEST(XdpParseTest, EveryPrefixOfEveryFixtureIsSafe) {
  for (const XdpFixture& f : testing::xdp_fixtures()) {
    const size_t limit = std::min<size_t>(f.frame.size(), 200);
    for (size_t n = 0; n <= limit; ++n) {
      std::vector<uint8_t> prefix(f.frame.begin(), f.frame.begin() + n);
      netobs_xdp_parsed p;
      netobs_xdp_parse(prefix.data(), prefix.data() + prefix.size(), f.frame.size(), &p);
      if (p.l4_offset != 0) {
        EXPECT_LE(p.l4_offset + 8, n) << f.name << " cut at " << n;
      }
      if (n < 14) {
        EXPECT_EQ(p.malformed, NETOBS_XDP_MALFORMED_ETHERNET);
      }
    }
  }
}

// A multi-buffer frame: the parser sees only the linear part but the whole
// length; the IP length check uses the whole length.
TEST(XdpParseTest, LinearPartOfALongerFrame) {
  const auto frame =
      PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 53).pad_to(9000).build();
  netobs_xdp_parsed p;
  netobs_xdp_parse(frame.data(), frame.data() + 100, frame.size(), &p);
  EXPECT_EQ(p.malformed, NETOBS_XDP_MALFORMED_NONE);
  EXPECT_EQ(p.dport, 53);
  netobs_xdp_parse(frame.data(), frame.data() + 100, 100, &p);
  EXPECT_EQ(p.malformed, NETOBS_XDP_MALFORMED_IPV4);
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
uint32_t sum16(const std::vector<uint8_t>& b, size_t from, size_t to) {
  uint32_t sum = 0;
  for (size_t i = from; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  if ((to - from) % 2) sum += b[to - 1] << 8;
  return sum;
}

TEST(PacketBuilderTest, Ipv4UdpHeadersAndChecksums) {
  const auto frame = PacketBuilder()
                         .eth("02:00:00:00:00:0a", "02:00:00:00:00:0b")
                         .ipv4("10.0.0.1", "10.0.0.2")
                         .udp(40000, 53)
                         .payload(5)
                         .build();
  ASSERT_EQ(frame.size(), 14u + 20 + 8 + 5);
  EXPECT_EQ(frame[5], 0x0b);  // destination MAC first
  EXPECT_EQ(frame[11], 0x0a);
  EXPECT_EQ(frame[12], 0x08);
  EXPECT_EQ(frame[13], 0x00);
  EXPECT_EQ(frame[14], 0x45);
  EXPECT_EQ((frame[16] << 8) | frame[17], 33);  // total length
  EXPECT_EQ(frame[23], 17);
  EXPECT_EQ(fold(sum16(frame, 14, 34)), 0xFFFF);  // header checksum verifies
  EXPECT_EQ((frame[38] << 8) | frame[39], 13);    // UDP length
  // UDP checksum over pseudo-header + datagram verifies.
  uint32_t sum = sum16(frame, 26, 34) + 17 + 13 + sum16(frame, 34, frame.size());
  EXPECT_EQ(fold(sum), 0xFFFF);
}

TEST(PacketBuilderTest, Ipv6ChainsNextHeadersAndTcpChecksum) {
  const auto frame = PacketBuilder()
                         .eth()
                         .vlan(7)
                         .ipv6("2001:db8::1", "2001:db8::2")
                         .ipv6_ext(testing::kIpv6HopByHop, 8)
                         .ipv6_fragment(0, true)
                         .tcp(1, 2, testing::kTcpSyn)
                         .build();
  ASSERT_EQ(frame.size(), 18u + 40 + 8 + 8 + 20);
  EXPECT_EQ((frame[12] << 8) | frame[13], 0x8100);
  EXPECT_EQ((frame[16] << 8) | frame[17], 0x86DD);
  EXPECT_EQ(frame[18 + 6], 0);                          // IPv6 -> hop-by-hop
  EXPECT_EQ(frame[18 + 40], 44);                        // hop-by-hop -> fragment
  EXPECT_EQ(frame[18 + 48], 6);                         // fragment -> TCP
  EXPECT_EQ((frame[18 + 4] << 8) | frame[18 + 5], 36);  // payload length
  const size_t tcp = 18 + 56;
  uint32_t sum = sum16(frame, 18 + 8, 18 + 40) + 6 + 20 + sum16(frame, tcp, frame.size());
  EXPECT_EQ(fold(sum), 0xFFFF);
}

TEST(PacketBuilderTest, TruncationKeepsLengthsAndOffsetsAreLayerStarts) {
  PacketBuilder builder = PacketBuilder().eth().qinq(1, 2).ipv4("1.1.1.1", "2.2.2.2").tcp(1, 2);
  EXPECT_EQ(builder.layer_offsets(), (std::vector<size_t>{0, 14, 18, 22, 42}));
  const auto cut = builder.build_truncated(30);
  ASSERT_EQ(cut.size(), 30u);
  EXPECT_EQ((cut[24] << 8) | cut[25], 40);  // IPv4 total length of the whole packet
  EXPECT_EQ((cut[12] << 8) | cut[13], 0x88A8);
  EXPECT_THROW(PacketBuilder().ipv4("not-an-ip", "1.1.1.1"), std::invalid_argument);
}

}  // namespace
}  // namespace netobs
