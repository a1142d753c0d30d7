// DNS wire format in user space: type and response-code names, and a decoder
// for names (full compression-pointer handling, loop-proof), questions and
// A/AAAA/CNAME answers. Pure functions over untrusted bytes: never read out
// of bounds, never throw on bad input, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netobs::dns {

// "A", "AAAA", "HTTPS", ...; numbers without a name as "TYPE65534" (RFC 3597).
std::string qtype_name(uint16_t qtype);
// "NOERROR", "NXDOMAIN", ...; numbers without a name as "RCODE11".
std::string rcode_name(uint8_t rcode);

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;  // wire bytes, RFC 1035 2.3.4
// Compression pointers followed for one name. Pointers must also point
// strictly backwards, which alone rules out loops; the cap bounds the work.
inline constexpr int kMaxPointerJumps = 64;

enum class NameError {
  kNone,
  kTruncated,     // the name runs past the end of the message
  kBadLabelType,  // label length byte 0x40..0xBF (extended/reserved types)
  kTooLong,       // more than 255 bytes on the wire
  kBadPointer,    // pointer not strictly backwards (would loop or point forward)
  kTooManyJumps,  // more than kMaxPointerJumps pointers
};
std::string_view name_error_text(NameError error);

struct DecodedName {
  // Presentation form without the trailing dot ("api.example.com"; the root
  // is "."). Bytes outside letters/digits/-/_ are escaped as \DDD, dots and
  // backslashes inside labels as \. and \\ (RFC 4343).
  std::string name;
  size_t end = 0;  // offset just after the name where it starts (not after pointer targets)
};

// Decodes the name at `offset` of `message` (the whole DNS message, so that
// compression pointers resolve).
std::optional<DecodedName> decode_name(std::span<const uint8_t> message, size_t offset,
                                       NameError* error = nullptr);

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;

  bool is_response() const { return (flags & 0x8000) != 0; }
  bool truncated() const { return (flags & 0x0200) != 0; }
  uint8_t rcode() const { return static_cast<uint8_t>(flags & 0xF); }
  uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xF); }
};

std::optional<Header> parse_header(std::span<const uint8_t> message);

struct Answer {
  uint16_t type = 0;
  std::string data;  // "10.1.2.3", "2001:db8::1", "target.example.com"
};

struct Message {
  Header header;
  bool has_question = false;
  std::string qname;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  // A, AAAA and CNAME records of the answer section, in order. Other types
  // are skipped. answers_complete is false when the message (or the captured
  // part of it) ended inside the answer section or a record was malformed.
  std::vector<Answer> answers;
  bool answers_complete = true;
};

// Header, first question and A/AAAA/CNAME answers. nullopt (with `error`
// set) only when the header or the first question cannot be read.
std::optional<Message> parse_message(std::span<const uint8_t> message,
                                     std::string* error = nullptr);

}  // namespace netobs::dns
