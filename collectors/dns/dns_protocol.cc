#include "collectors/dns/dns_protocol.h"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <utility>

namespace netobs::dns {
namespace {

constexpr std::pair<uint16_t, std::string_view> kTypeNames[] = {
    {1, "A"},           {2, "NS"},      {5, "CNAME"},   {6, "SOA"},       {12, "PTR"},
    {13, "HINFO"},      {15, "MX"},     {16, "TXT"},    {17, "RP"},       {18, "AFSDB"},
    {24, "SIG"},        {25, "KEY"},    {28, "AAAA"},   {29, "LOC"},      {33, "SRV"},
    {35, "NAPTR"},      {36, "KX"},     {37, "CERT"},   {39, "DNAME"},    {41, "OPT"},
    {42, "APL"},        {43, "DS"},     {44, "SSHFP"},  {45, "IPSECKEY"}, {46, "RRSIG"},
    {47, "NSEC"},       {48, "DNSKEY"}, {49, "DHCID"},  {50, "NSEC3"},    {51, "NSEC3PARAM"},
    {52, "TLSA"},       {53, "SMIMEA"}, {55, "HIP"},    {59, "CDS"},      {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"}, {64, "SVCB"},     {65, "HTTPS"},
    {99, "SPF"},        {108, "EUI48"}, {109, "EUI64"}, {249, "TKEY"},    {250, "TSIG"},
    {251, "IXFR"},      {252, "AXFR"},  {255, "ANY"},   {256, "URI"},     {257, "CAA"},
};

// RFC 1035 and RFC 2136 codes. 11 (DSOTYPENI, RFC 8490: DNS stateful
// operations only) and everything above render as RCODE<n>.
constexpr std::string_view kRcodeNames[] = {
    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",
};

uint16_t read16(std::span<const uint8_t> m, size_t off) {
  return static_cast<uint16_t>((m[off] << 8) | m[off + 1]);
}

void append_label(std::string& out, std::span<const uint8_t> label) {
  for (uint8_t c : label) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '*';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else if (c == '.' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\%03u", static_cast<unsigned>(c));
      out.append(buf);
    }
  }
}

std::string ip_text(int family, const uint8_t* bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes, buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

}  // namespace

std::string qtype_name(uint16_t qtype) {
  for (const auto& [number, name] : kTypeNames) {
    if (number == qtype) return std::string(name);
  }
  return "TYPE" + std::to_string(qtype);
}

std::string rcode_name(uint8_t rcode) {
  if (rcode < std::size(kRcodeNames)) return std::string(kRcodeNames[rcode]);
  return "RCODE" + std::to_string(rcode);
}

std::string_view name_error_text(NameError error) {
  switch (error) {
    case NameError::kNone:
      return "no error";
    case NameError::kTruncated:
      return "name runs past the end of the message";
    case NameError::kBadLabelType:
      return "unsupported label type (length byte 0x40-0xBF)";
    case NameError::kTooLong:
      return "name longer than 255 bytes";
    case NameError::kBadPointer:
      return "compression pointer does not point backwards";
    case NameError::kTooManyJumps:
      return "too many compression pointers";
  }
  return "unknown";
}

std::optional<DecodedName> decode_name(std::span<const uint8_t> message, size_t offset,
                                       NameError* error) {
  auto fail = [error](NameError e) -> std::optional<DecodedName> {
    if (error != nullptr) *error = e;
    return std::nullopt;
  };
  DecodedName result;
  size_t pos = offset;
  // Lowest offset reached so far: every pointer must go strictly below the
  // label it sits in, so each jump makes progress towards offset 0.
  size_t floor = offset;
  bool jumped = false;
  int jumps = 0;
  size_t wire_length = 1;  // the root label
  for (;;) {
    if (pos >= message.size()) return fail(NameError::kTruncated);
    const uint8_t len = message[pos];
    if (len == 0) {
      if (!jumped) result.end = pos + 1;
      break;
    }
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= message.size()) return fail(NameError::kTruncated);
      const size_t target = static_cast<size_t>(((len & 0x3F) << 8) | message[pos + 1]);
      if (target >= floor) return fail(NameError::kBadPointer);
      if (++jumps > kMaxPointerJumps) return fail(NameError::kTooManyJumps);
      if (!jumped) result.end = pos + 2;
      jumped = true;
      floor = target;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) return fail(NameError::kBadLabelType);
    wire_length += len + 1u;
    if (wire_length > kMaxNameLength) return fail(NameError::kTooLong);
    if (pos + 1 + len > message.size()) return fail(NameError::kTruncated);
    if (!result.name.empty()) result.name.push_back('.');
    append_label(result.name, message.subspan(pos + 1, len));
    pos += 1 + len;
  }
  if (result.name.empty()) result.name = ".";
  if (error != nullptr) *error = NameError::kNone;
  return result;
}

std::optional<Header> parse_header(std::span<const uint8_t> message) {
  if (message.size() < kHeaderSize) return std::nullopt;
  Header h;
  h.id = read16(message, 0);
  h.flags = read16(message, 2);
  h.qdcount = read16(message, 4);
  h.ancount = read16(message, 6);
  h.nscount = read16(message, 8);
  h.arcount = read16(message, 10);
  return h;
}

std::optional<Message> parse_message(std::span<const uint8_t> message, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<Message> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  std::optional<Header> header = parse_header(message);
  if (!header) return fail("message shorter than the 12-byte DNS header");
  Message out;
  out.header = *header;
  size_t pos = kHeaderSize;
  for (uint16_t q = 0; q < header->qdcount; ++q) {
    NameError name_error = NameError::kNone;
    std::optional<DecodedName> name = decode_name(message, pos, &name_error);
    if (!name) return fail("question name: " + std::string(name_error_text(name_error)));
    if (name->end + 4 > message.size()) return fail("question ends before QTYPE/QCLASS");
    if (q == 0) {
      out.has_question = true;
      out.qname = std::move(name->name);
      out.qtype = read16(message, name->end);
      out.qclass = read16(message, name->end + 2);
    }
    pos = name->end + 4;
  }
  for (uint16_t a = 0; a < header->ancount; ++a) {
    std::optional<DecodedName> owner = decode_name(message, pos);
    if (!owner || owner->end + 10 > message.size()) {
      out.answers_complete = false;
      break;
    }
    const size_t fixed = owner->end;
    const uint16_t type = read16(message, fixed);
    const uint16_t rdlength = read16(message, fixed + 8);
    const size_t rdata = fixed + 10;
    if (rdata + rdlength > message.size()) {
      out.answers_complete = false;
      break;
    }
    if (type == 1 && rdlength == 4) {
      out.answers.push_back({type, ip_text(AF_INET, &message[rdata])});
    } else if (type == 28 && rdlength == 16) {
      out.answers.push_back({type, ip_text(AF_INET6, &message[rdata])});
    } else if (type == 5) {
      // The target may use pointers into the whole message, but must
      // itself end inside this record's RDATA.
      std::optional<DecodedName> target = decode_name(message, rdata);
      if (!target || target->end > rdata + rdlength) {
        out.answers_complete = false;
      } else {
        out.answers.push_back({type, std::move(target->name)});
      }
    } else if (type == 1 || type == 28) {
      out.answers_complete = false;  // wrong RDATA size for an address
    }
    pos = rdata + rdlength;
  }
  return out;
}

}  // namespace netobs::dns
