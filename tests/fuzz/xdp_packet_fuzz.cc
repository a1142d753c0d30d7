// Fuzzes the xdp collector's packet parser (bpf/lib/xdp_parse.h, the code the
// XDP program runs) and the user-space sample decoding: the input is a frame
// (its first byte also picks how much of it counts as the linear part); the
// parse must stay inside the frame and yield in-range classes, and the
// record built from it, or the raw input taken as a record, must decode or
// fail cleanly.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bpf/lib/xdp_parse.h"
#include "bpf/xdp.h"
#include "collectors/xdp/sample_decoder.h"
#include "collectors/xdp/top_talkers.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netobs;
  if (size == 0) return 0;  // XDP frames hold at least an Ethernet header; null + n is UB
  // An exact-size heap copy: ASan reports any read past the frame.
  std::vector<uint8_t> frame(data, data + size);
  const uint8_t* begin = frame.data();
  // A multi-buffer frame: the parser sees a prefix but knows the whole length.
  const size_t linear = size - (data[0] % 4 == 0 ? size / 2 : 0);
  netobs_xdp_parsed p;
  netobs_xdp_parse(begin, begin + linear, size, &p);
  check(p.eth_class < NETOBS_XDP_ETH_CLASSES);
  check(p.l4_class < NETOBS_XDP_L4_CLASSES);
  check(p.malformed < NETOBS_XDP_MALFORMED_LAYERS);
  check(p.fragment <= NETOBS_XDP_FRAG_NON_FIRST);
  check(p.vlan_depth <= 2);
  check(p.l3_offset <= linear);
  if (p.l4_offset != 0) check(p.l4_offset + 8 <= linear);
  if (linear < 14) check(p.malformed == NETOBS_XDP_MALFORMED_ETHERNET);

  netobs_xdp_sample rec{};
  rec.pkt_len = static_cast<uint32_t>(size);
  rec.cap_len =
      static_cast<uint16_t>(linear < NETOBS_XDP_SAMPLE_BYTES ? linear : NETOBS_XDP_SAMPLE_BYTES);
  rec.l3_offset = static_cast<uint16_t>(p.l3_offset);
  rec.l4_offset = static_cast<uint16_t>(p.l4_offset);
  rec.sport = p.sport;
  rec.dport = p.dport;
  rec.eth_class = p.eth_class;
  rec.l4_class = p.l4_class;
  if (rec.cap_len) std::memcpy(rec.data, begin, rec.cap_len);
  Result<DecodedSample> decoded = decode_xdp_sample(&rec, sizeof(rec));
  check(decoded.is_ok());
  TopTalkers top(4);
  TalkerKey key = decoded->talker;
  key.port = service_port(decoded->sport, decoded->dport, {80, 443});
  top.add(key, decoded->pkt_len);
  check(top.top(10).size() == 1);

  // The raw input as a ring-buffer record (garbage from a mismatched build).
  (void)decode_xdp_sample(frame.data(), frame.size());
  return 0;
}
