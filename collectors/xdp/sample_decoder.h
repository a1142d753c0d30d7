// Decodes the xdp collector's ring-buffer records (struct netobs_xdp_sample,
// bpf/xdp.h) into talker keys: source and destination address, protocol and
// service port. Pure functions: the ring-buffer thread, the tests and the
// fuzzer call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace netobs {

// Label values of the kernel's classes (bpf/xdp.h enums); "unknown" out of range.
std::string_view xdp_ethertype_name(uint32_t eth_class);  // ipv4 ipv6 arp other
std::string_view xdp_protocol_name(uint32_t l4_class);    // tcp udp icmp icmpv6 other none
std::string_view xdp_tcp_flag_name(uint32_t flag);        // syn synack rst fin
std::string_view xdp_malformed_layer_name(uint32_t layer);

// Who talks to whom: addresses as text ("" when the sample has none, e.g.
// ARP or a header cut before the addresses), protocol label, service port.
struct TalkerKey {
  std::string src;
  std::string dst;
  std::string protocol;
  uint16_t port = 0;

  bool operator==(const TalkerKey&) const = default;
  auto operator<=>(const TalkerKey&) const = default;
};

struct TalkerKeyHash {
  size_t operator()(const TalkerKey& key) const;
};

struct DecodedSample {
  uint32_t ifindex = 0;
  uint32_t pkt_len = 0;  // bytes on the wire of all `segs` packets
  uint32_t segs = 1;     // wire packets the record stands for (a GSO super-packet: > 1)
  uint16_t sport = 0;
  uint16_t dport = 0;
  TalkerKey talker;  // port left 0: see service_port()
};

// Validates and decodes one record of `size` bytes; an error names what is
// wrong (size, lengths, offsets). Never reads outside [data, data + size).
Result<DecodedSample> decode_xdp_sample(const void* data, size_t size);

// The port a flow is about: the one in `configured` (filters.ports) if
// either is, else the lower of the two (services listen on low ports,
// clients use ephemeral ones); 0 when the packet has no ports.
uint16_t service_port(uint16_t sport, uint16_t dport, const std::vector<uint16_t>& configured);

}  // namespace netobs
