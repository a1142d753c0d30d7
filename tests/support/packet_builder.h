// PacketBuilder: declarative test packets for BPF_PROG_TEST_RUN fixtures and
// for parsers, in the katran style:
//   PacketBuilder().eth().vlan(10).ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80, kTcpSyn)
//       .payload(100).build();
// Layers are listed outer to inner; build() fills in what follows from the
// layering (ethertypes, IP protocol / next header, lengths, checksums) unless
// a layer's options pin a field (to make deliberately broken packets).
// Header-only, no dependencies beyond libc; used from any test thread.
// Keep the API additive: several collectors' tests share it.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netobs::testing {

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kIpv6DestOptions = 60;
inline constexpr uint8_t kIpv6NoNext = 59;

struct Ipv4Options {
  uint8_t ttl = 64;
  uint16_t id = 0;
  uint16_t fragment_offset = 0;  // in bytes; a multiple of 8
  bool more_fragments = false;
  bool dont_fragment = false;
  std::vector<uint8_t> options;  // padded with zeros (EOL) to a multiple of 4
  // Pinned fields for broken packets; unset: computed.
  std::optional<uint8_t> protocol;
  std::optional<uint16_t> total_length;
  std::optional<uint8_t> version;
  std::optional<uint8_t> ihl;  // in 4-byte words
};

struct Ipv6Options {
  uint8_t hop_limit = 64;
  uint32_t flow_label = 0;
  std::optional<uint8_t> next_header;
  std::optional<uint16_t> payload_length;
  std::optional<uint8_t> version;
};

struct TcpOptions {
  uint32_t seq = 1;
  uint32_t ack = 0;
  uint16_t window = 65535;
  std::optional<uint8_t> data_offset;  // in 4-byte words; unset: 5
};

class PacketBuilder {
 public:
  PacketBuilder& eth(const std::string& src_mac = "02:00:00:00:00:01",
                     const std::string& dst_mac = "02:00:00:00:00:02") {
    Layer layer{Kind::kEth};
    layer.bytes.resize(14, 0);
    put_mac(layer.bytes, 0, dst_mac);
    put_mac(layer.bytes, 6, src_mac);
    layers_.push_back(std::move(layer));
    return *this;
  }
  // One VLAN tag; tpid 0x8100 (802.1Q) or 0x88A8 (802.1ad, QinQ outer).
  PacketBuilder& vlan(uint16_t vid, uint16_t tpid = 0x8100, uint8_t pcp = 0) {
    Layer layer{Kind::kVlan};
    layer.tpid = tpid;
    layer.bytes.resize(4, 0);
    put16(layer.bytes, 0, static_cast<uint16_t>((pcp << 13) | (vid & 0x0FFF)));
    layers_.push_back(std::move(layer));
    return *this;
  }
  // 802.1ad outer tag + 802.1Q inner tag.
  PacketBuilder& qinq(uint16_t outer_vid, uint16_t inner_vid) {
    return vlan(outer_vid, 0x88A8).vlan(inner_vid, 0x8100);
  }
  // Pins the ethertype written by the Ethernet/VLAN header just added.
  PacketBuilder& ethertype(uint16_t type) {
    if (layers_.empty() ||
        (layers_.back().kind != Kind::kEth && layers_.back().kind != Kind::kVlan)) {
      throw std::invalid_argument("ethertype() must follow eth() or vlan()");
    }
    layers_.back().ethertype = type;
    return *this;
  }
  // An ARP request (28 bytes) who-has target from sender.
  PacketBuilder& arp(const std::string& sender_ip = "10.0.0.1",
                     const std::string& target_ip = "10.0.0.2") {
    Layer layer{Kind::kArp};
    layer.bytes = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    layer.bytes.resize(28, 0);
    put_mac(layer.bytes, 8, "02:00:00:00:00:01");
    put_ip(layer.bytes, 14, AF_INET, sender_ip);
    put_ip(layer.bytes, 24, AF_INET, target_ip);
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& ipv4(const std::string& src, const std::string& dst,
                      const Ipv4Options& options = {}) {
    Layer layer{Kind::kIpv4};
    layer.v4 = options;
    std::vector<uint8_t> opts = options.options;
    while (opts.size() % 4 != 0) opts.push_back(0);
    layer.bytes.resize(20 + opts.size(), 0);
    const uint8_t ihl = options.ihl.value_or(static_cast<uint8_t>(layer.bytes.size() / 4));
    layer.bytes[0] = static_cast<uint8_t>((options.version.value_or(4) << 4) | (ihl & 0x0F));
    put16(layer.bytes, 4, options.id);
    uint16_t frag = static_cast<uint16_t>((options.fragment_offset / 8) & 0x1FFF);
    if (options.more_fragments) frag |= 0x2000;
    if (options.dont_fragment) frag |= 0x4000;
    put16(layer.bytes, 6, frag);
    layer.bytes[8] = options.ttl;
    put_ip(layer.bytes, 12, AF_INET, src);
    put_ip(layer.bytes, 16, AF_INET, dst);
    std::copy(opts.begin(), opts.end(), layer.bytes.begin() + 20);
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& ipv6(const std::string& src, const std::string& dst,
                      const Ipv6Options& options = {}) {
    Layer layer{Kind::kIpv6};
    layer.v6 = options;
    layer.bytes.resize(40, 0);
    const uint32_t first =
        (static_cast<uint32_t>(options.version.value_or(6)) << 28) | (options.flow_label & 0xFFFFF);
    put32(layer.bytes, 0, first);
    layer.bytes[7] = options.hop_limit;
    put_ip(layer.bytes, 8, AF_INET6, src);
    put_ip(layer.bytes, 24, AF_INET6, dst);
    layers_.push_back(std::move(layer));
    return *this;
  }
  // Hop-by-hop (0), routing (43) or destination options (60) header of
  // `length` bytes (a multiple of 8, at least 8), filled with PadN.
  PacketBuilder& ipv6_ext(uint8_t type, size_t length = 8) {
    if (length < 8 || length % 8 != 0 || length > 2048) {
      throw std::invalid_argument("ipv6_ext length must be a multiple of 8 in [8, 2048]");
    }
    Layer layer{Kind::kIpv6Ext};
    layer.ext_type = type;
    layer.bytes.resize(length, 0);
    layer.bytes[1] = static_cast<uint8_t>(length / 8 - 1);
    if (type == kIpv6Routing) {
      layer.bytes[2] = 0;  // routing type 0 with segments left 0: ignored by receivers
    } else {
      layer.bytes[2] = 1;  // PadN covering the rest
      layer.bytes[3] = static_cast<uint8_t>(length - 4);
    }
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& ipv6_fragment(uint16_t offset_bytes, bool more_fragments, uint32_t id = 1) {
    Layer layer{Kind::kIpv6Ext};
    layer.ext_type = kIpv6Fragment;
    layer.bytes.resize(8, 0);
    put16(layer.bytes, 2,
          static_cast<uint16_t>((offset_bytes & 0xFFF8) | (more_fragments ? 1 : 0)));
    put32(layer.bytes, 4, id);
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = kTcpAck,
                     const TcpOptions& options = {}) {
    Layer layer{Kind::kTcp};
    layer.bytes.resize(20, 0);
    put16(layer.bytes, 0, sport);
    put16(layer.bytes, 2, dport);
    put32(layer.bytes, 4, options.seq);
    put32(layer.bytes, 8, options.ack);
    layer.bytes[12] = static_cast<uint8_t>(options.data_offset.value_or(5) << 4);
    layer.bytes[13] = flags;
    put16(layer.bytes, 14, options.window);
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& udp(uint16_t sport, uint16_t dport) {
    Layer layer{Kind::kUdp};
    layer.bytes.resize(8, 0);
    put16(layer.bytes, 0, sport);
    put16(layer.bytes, 2, dport);
    layers_.push_back(std::move(layer));
    return *this;
  }
  // ICMP (IPv4) message; default echo request.
  PacketBuilder& icmp(uint8_t type = 8, uint8_t code = 0) {
    Layer layer{Kind::kIcmp};
    layer.bytes = {type, code, 0, 0, 0, 1, 0, 1};
    layers_.push_back(std::move(layer));
    return *this;
  }
  // ICMPv6 message; default echo request.
  PacketBuilder& icmpv6(uint8_t type = 128, uint8_t code = 0) {
    Layer layer{Kind::kIcmpv6};
    layer.bytes = {type, code, 0, 0, 0, 1, 0, 1};
    layers_.push_back(std::move(layer));
    return *this;
  }
  // n payload bytes of `fill`.
  PacketBuilder& payload(size_t n, uint8_t fill = 0xAB) {
    Layer layer{Kind::kRaw};
    layer.bytes.assign(n, fill);
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& payload(const std::vector<uint8_t>& bytes) {
    Layer layer{Kind::kRaw};
    layer.bytes = bytes;
    layers_.push_back(std::move(layer));
    return *this;
  }
  PacketBuilder& payload_text(const std::string& text) {
    return payload(std::vector<uint8_t>(text.begin(), text.end()));
  }
  // Payload bytes so that the whole frame is `frame_length` bytes (no-op if
  // it already is as long).
  PacketBuilder& pad_to(size_t frame_length) {
    size_t size = 0;
    for (const Layer& layer : layers_) size += layer.bytes.size();
    return frame_length > size ? payload(frame_length - size, 0) : *this;
  }

  // The frame: every layer serialized, derived fields filled in.
  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out;
    std::vector<size_t> offsets;
    for (const Layer& layer : layers_) {
      offsets.push_back(out.size());
      out.insert(out.end(), layer.bytes.begin(), layer.bytes.end());
    }
    // Inner to outer: checksums of inner layers are final before outer ones
    // are computed (IPv4's header checksum covers only its header).
    for (size_t i = layers_.size(); i-- > 0;) fix_up(out, offsets, i);
    return out;
  }
  // The frame cut after `length` bytes; lengths and checksums stay those of
  // the whole packet, as in a truncated capture.
  std::vector<uint8_t> build_truncated(size_t length) const {
    std::vector<uint8_t> out = build();
    if (length < out.size()) out.resize(length);
    return out;
  }
  // Offset of each layer in the built frame, in the order they were added
  // (e.g. header boundaries to truncate at).
  std::vector<size_t> layer_offsets() const {
    std::vector<size_t> offsets;
    size_t size = 0;
    for (const Layer& layer : layers_) {
      offsets.push_back(size);
      size += layer.bytes.size();
    }
    return offsets;
  }
  size_t size() const {
    size_t size = 0;
    for (const Layer& layer : layers_) size += layer.bytes.size();
    return size;
  }

 private:
  enum class Kind { kEth, kVlan, kArp, kIpv4, kIpv6, kIpv6Ext, kTcp, kUdp, kIcmp, kIcmpv6, kRaw };
  struct Layer {
    explicit Layer(Kind k) : kind(k) {}
    Kind kind;
    std::vector<uint8_t> bytes;
    uint16_t tpid = 0;
    std::optional<uint16_t> ethertype;  // pinned by ethertype()
    uint8_t ext_type = 0;
    Ipv4Options v4;
    Ipv6Options v6;
  };

  static void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
  }
  static void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
  }
  static void put_mac(std::vector<uint8_t>& b, size_t at, const std::string& mac) {
    unsigned v[6];
    if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) !=
        6) {
      throw std::invalid_argument("bad MAC address: " + mac);
    }
    for (int i = 0; i < 6; ++i) b[at + i] = static_cast<uint8_t>(v[i]);
  }
  static void put_ip(std::vector<uint8_t>& b, size_t at, int family, const std::string& ip) {
    if (inet_pton(family, ip.c_str(), b.data() + at) != 1) {
      throw std::invalid_argument("bad IP address: " + ip);
    }
  }
  static uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
    if (n % 2 != 0) sum += static_cast<uint32_t>(p[n - 1] << 8);
    return sum;
  }
  static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
  }

  // Protocol number / next header / ethertype identifying layer i.
  uint16_t ethertype_of(size_t i) const {
    if (i >= layers_.size()) return 0x88B5;  // IEEE local experimental
    switch (layers_[i].kind) {
      case Kind::kVlan:
        return layers_[i].tpid;
      case Kind::kIpv4:
        return 0x0800;
      case Kind::kIpv6:
        return 0x86DD;
      case Kind::kArp:
        return 0x0806;
      default:
        return 0x88B5;
    }
  }
  uint8_t protocol_of(size_t i) const {
    if (i >= layers_.size()) return kIpv6NoNext;
    switch (layers_[i].kind) {
      case Kind::kTcp:
        return 6;
      case Kind::kUdp:
        return 17;
      case Kind::kIcmp:
        return 1;
      case Kind::kIcmpv6:
        return 58;
      case Kind::kIpv4:
        return 4;
      case Kind::kIpv6:
        return 41;
      case Kind::kIpv6Ext:
        return layers_[i].ext_type;
      default:
        return 253;  // RFC 3692 experimentation
    }
  }
  // Index of the nearest IP layer before layer i, or -1.
  long ip_before(size_t i) const {
    for (size_t j = i; j-- > 0;) {
      if (layers_[j].kind == Kind::kIpv4 || layers_[j].kind == Kind::kIpv6) {
        return static_cast<long>(j);
      }
    }
    return -1;
  }
  // Pseudo-header sum for an L4 checksum of `length` bytes with `proto`.
  uint32_t pseudo_sum(const std::vector<uint8_t>& out, const std::vector<size_t>& offsets, size_t i,
                      uint8_t proto, size_t length) const {
    const long ip = ip_before(i);
    if (ip < 0) return 0;
    const uint8_t* h = out.data() + offsets[ip];
    uint32_t sum = 0;
    if (layers_[ip].kind == Kind::kIpv4) {
      sum = sum16(h + 12, 8);
    } else {
      sum = sum16(h + 8, 32);
    }
    sum += proto;
    sum += static_cast<uint32_t>(length & 0xFFFF) + static_cast<uint32_t>(length >> 16);
    return sum;
  }

  void fix_up(std::vector<uint8_t>& out, const std::vector<size_t>& offsets, size_t i) const {
    const Layer& layer = layers_[i];
    uint8_t* h = out.data() + offsets[i];
    const size_t rest = out.size() - offsets[i];  // this header and all after it
    switch (layer.kind) {
      case Kind::kEth:
      case Kind::kVlan: {
        const size_t at = layer.kind == Kind::kEth ? 12 : 2;
        const uint16_t type = layer.ethertype.value_or(ethertype_of(i + 1));
        h[at] = static_cast<uint8_t>(type >> 8);
        h[at + 1] = static_cast<uint8_t>(type);
        break;
      }
      case Kind::kIpv4: {
        h[9] = layer.v4.protocol.value_or(protocol_of(i + 1));
        const uint16_t total = layer.v4.total_length.value_or(static_cast<uint16_t>(rest));
        h[2] = static_cast<uint8_t>(total >> 8);
        h[3] = static_cast<uint8_t>(total);
        h[10] = h[11] = 0;
        const uint16_t sum = fold(sum16(h, layer.bytes.size()));
        h[10] = static_cast<uint8_t>(sum >> 8);
        h[11] = static_cast<uint8_t>(sum);
        break;
      }
      case Kind::kIpv6: {
        h[6] = layer.v6.next_header.value_or(protocol_of(i + 1));
        const uint16_t payload = layer.v6.payload_length.value_or(static_cast<uint16_t>(rest - 40));
        h[4] = static_cast<uint8_t>(payload >> 8);
        h[5] = static_cast<uint8_t>(payload);
        break;
      }
      case Kind::kIpv6Ext:
        h[0] = protocol_of(i + 1);
        break;
      case Kind::kTcp:
      case Kind::kUdp:
      case Kind::kIcmp:
      case Kind::kIcmpv6: {
        const size_t csum_at = layer.kind == Kind::kTcp ? 16 : layer.kind == Kind::kUdp ? 6 : 2;
        if (layer.kind == Kind::kUdp) {
          h[4] = static_cast<uint8_t>(rest >> 8);
          h[5] = static_cast<uint8_t>(rest);
        }
        h[csum_at] = h[csum_at + 1] = 0;
        uint32_t sum =
            layer.kind == Kind::kIcmp ? 0 : pseudo_sum(out, offsets, i, protocol_of(i), rest);
        uint16_t csum = fold(sum16(h, rest, sum));
        if (layer.kind == Kind::kUdp && csum == 0) csum = 0xFFFF;
        h[csum_at] = static_cast<uint8_t>(csum >> 8);
        h[csum_at + 1] = static_cast<uint8_t>(csum);
        break;
      }
      case Kind::kArp:
      case Kind::kRaw:
        break;
    }
  }

  std::vector<Layer> layers_;
};

}  // namespace netobs::testing
