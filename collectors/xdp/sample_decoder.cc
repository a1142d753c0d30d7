#include "collectors/xdp/sample_decoder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "bpf/xdp.h"

namespace netobs {
namespace {

constexpr std::array<std::string_view, NETOBS_XDP_ETH_CLASSES> kEthNames = {"ipv4", "ipv6", "arp",
                                                                            "other"};
constexpr std::array<std::string_view, NETOBS_XDP_L4_CLASSES> kL4Names = {
    "tcp", "udp", "icmp", "icmpv6", "other", "none"};
constexpr std::array<std::string_view, NETOBS_XDP_TCP_FLAGS> kFlagNames = {"syn", "synack", "rst",
                                                                           "fin"};
constexpr std::array<std::string_view, NETOBS_XDP_MALFORMED_LAYERS> kLayerNames = {
    "none", "ethernet", "vlan", "ipv4", "ipv6", "ipv6_ext", "tcp", "udp", "icmp", "icmpv6"};

template <size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, uint32_t index) {
  return index < N ? names[index] : std::string_view("unknown");
}

std::string address_text(int family, const uint8_t* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  return inet_ntop(family, bytes, text, sizeof(text)) ? std::string(text) : std::string();
}

}  // namespace

std::string_view xdp_ethertype_name(uint32_t eth_class) { return name_of(kEthNames, eth_class); }
std::string_view xdp_protocol_name(uint32_t l4_class) { return name_of(kL4Names, l4_class); }
std::string_view xdp_tcp_flag_name(uint32_t flag) { return name_of(kFlagNames, flag); }
std::string_view xdp_malformed_layer_name(uint32_t layer) { return name_of(kLayerNames, layer); }

size_t TalkerKeyHash::operator()(const TalkerKey& key) const {
  size_t h = std::hash<std::string>()(key.src);
  h = h * 31 + std::hash<std::string>()(key.dst);
  h = h * 31 + std::hash<std::string>()(key.protocol);
  return h * 31 + key.port;
}

Result<DecodedSample> decode_xdp_sample(const void* data, size_t size) {
  netobs_xdp_sample rec;
  if (data == nullptr || size < sizeof(rec)) {
    return Status::error("xdp sample of " + std::to_string(size) + " bytes, expected " +
                         std::to_string(sizeof(rec)) +
                         ": the BPF object and the exporter are from different builds");
  }
  std::memcpy(&rec, data, sizeof(rec));
  if (rec.cap_len > NETOBS_XDP_SAMPLE_BYTES || rec.cap_len > rec.pkt_len) {
    return Status::error("xdp sample with cap_len " + std::to_string(rec.cap_len) +
                         " beyond the record or the packet");
  }
  if (rec.eth_class >= NETOBS_XDP_ETH_CLASSES || rec.l4_class >= NETOBS_XDP_L4_CLASSES) {
    return Status::error("xdp sample with unknown class " + std::to_string(rec.eth_class) + "/" +
                         std::to_string(rec.l4_class));
  }
  DecodedSample out;
  out.ifindex = rec.ifindex;
  out.pkt_len = rec.pkt_len;
  out.segs = rec.segs == 0 ? 1 : rec.segs;  // 0: a record from an older build
  out.talker.protocol = std::string(xdp_protocol_name(rec.l4_class));
  if (rec.l4_offset != 0) {
    out.sport = rec.sport;
    out.dport = rec.dport;
  }
  // Addresses from the captured bytes, when the capture reaches them.
  const size_t l3 = rec.l3_offset;
  if (rec.eth_class == NETOBS_XDP_ETH_IPV4 && l3 != 0 && l3 + 20 <= rec.cap_len) {
    out.talker.src = address_text(AF_INET, rec.data + l3 + 12);
    out.talker.dst = address_text(AF_INET, rec.data + l3 + 16);
  } else if (rec.eth_class == NETOBS_XDP_ETH_IPV6 && l3 != 0 && l3 + 40 <= rec.cap_len) {
    out.talker.src = address_text(AF_INET6, rec.data + l3 + 8);
    out.talker.dst = address_text(AF_INET6, rec.data + l3 + 24);
  }
  return out;
}

uint16_t service_port(uint16_t sport, uint16_t dport, const std::vector<uint16_t>& configured) {
  if (sport == 0 && dport == 0) return 0;
  const bool s = std::find(configured.begin(), configured.end(), sport) != configured.end();
  const bool d = std::find(configured.begin(), configured.end(), dport) != configured.end();
  if (s != d) return s ? sport : dport;
  if (sport == 0 || dport == 0) return sport == 0 ? dport : sport;
  return std::min(sport, dport);
}

}  // namespace netobs
