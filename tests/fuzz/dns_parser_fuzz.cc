// libFuzzer target for the dns collector's user-space decoding: names with
// compression pointers (from every offset), whole messages (question and
// A/AAAA/CNAME answers), and ring-buffer records turned into event rows.
// Must never crash, hang or read out of bounds (ASan/UBSan).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "bpf/dns.h"
#include "collectors/dns/dns_events.h"
#include "collectors/dns/dns_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netobs;
  const std::span<const uint8_t> message(data, size);
  // Names from a bounded set of offsets (every offset of short inputs).
  for (size_t offset = 0; offset < size && offset < 64; ++offset) {
    dns::NameError error = dns::NameError::kNone;
    auto name = dns::decode_name(message, offset, &error);
    if (name && (name->end > size || name->end <= offset)) __builtin_trap();
    if (name && name->name.size() > 4 * dns::kMaxNameLength) __builtin_trap();
  }
  std::string error;
  auto parsed = dns::parse_message(message, &error);
  if (parsed) {
    for (const auto& a : parsed->answers) {
      if (a.data.size() > 4 * dns::kMaxNameLength) __builtin_trap();
    }
  }
  // The same bytes as a captured message in a ring-buffer record.
  dns_event record{};
  record.kind = DNS_EVENT_EXCHANGE;
  record.family = size > 0 && (data[0] & 1) ? DNS_FAMILY_IPV6 : DNS_FAMILY_IPV4;
  record.flags = size > 1 ? data[1] : 0;
  const size_t len = size < sizeof(record.msg) ? size : sizeof(record.msg);
  std::memcpy(record.msg, data, len);
  record.msg_len = static_cast<uint16_t>(size);  // may claim more than the buffer holds
  record.msg_total = static_cast<uint16_t>(size);
  DnsExchange exchange = exchange_from_record(record, 0);
  EventRow row = dns_event_row(exchange, {.queries = true, .responses = true, .content = true});
  if (row.size() != dns_event_schema().fields.size()) __builtin_trap();
  return 0;
}
