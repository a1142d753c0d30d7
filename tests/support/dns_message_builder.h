// DnsMessageBuilder: DNS messages for tests, declaratively:
//   DnsMessageBuilder().id(7).question("a.test", kDnsA).build();
//   DnsMessageBuilder().id(7).response().rcode(3).question("x.test", kDnsA)
//       .answer_a("x.test", "10.1.2.3").compress().build();
// Counts are computed unless pinned (to craft inconsistent messages); names
// are encoded label by label; compress() writes answer owner names that equal
// the question name as a pointer to offset 12. Header-only; any test thread.
// Pairs with tests/support/packet_builder.h for whole packets.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netobs::testing {

inline constexpr uint16_t kDnsA = 1;
inline constexpr uint16_t kDnsNs = 2;
inline constexpr uint16_t kDnsCname = 5;
inline constexpr uint16_t kDnsPtr = 12;
inline constexpr uint16_t kDnsMx = 15;
inline constexpr uint16_t kDnsTxt = 16;
inline constexpr uint16_t kDnsAaaa = 28;
inline constexpr uint16_t kDnsSrv = 33;
inline constexpr uint16_t kDnsHttps = 65;

class DnsMessageBuilder {
 public:
  DnsMessageBuilder& id(uint16_t v) {
    id_ = v;
    return *this;
  }
  DnsMessageBuilder& response(bool v = true) {
    flags_ = v ? (flags_ | 0x8000) : (flags_ & 0x7FFF);
    return *this;
  }
  DnsMessageBuilder& rcode(uint8_t v) {
    flags_ = static_cast<uint16_t>((flags_ & ~0xF) | (v & 0xF));
    return *this;
  }
  DnsMessageBuilder& truncated(bool v = true) {
    flags_ = v ? (flags_ | 0x0200) : (flags_ & ~0x0200);
    return *this;
  }
  DnsMessageBuilder& flags(uint16_t v) {
    flags_ = v;
    return *this;
  }
  DnsMessageBuilder& question(const std::string& name, uint16_t qtype, uint16_t qclass = 1) {
    questions_.push_back({name, qtype, qclass});
    return *this;
  }
  DnsMessageBuilder& answer_a(const std::string& name, const std::string& ip) {
    return answer(name, 1, address(AF_INET, ip));
  }
  DnsMessageBuilder& answer_aaaa(const std::string& name, const std::string& ip) {
    return answer(name, 28, address(AF_INET6, ip));
  }
  DnsMessageBuilder& answer_cname(const std::string& name, const std::string& target) {
    return answer(name, 5, encode_name(target));
  }
  DnsMessageBuilder& answer(const std::string& name, uint16_t type, std::vector<uint8_t> rdata) {
    answers_.push_back({name, type, std::move(rdata)});
    return *this;
  }
  DnsMessageBuilder& compress(bool v = true) {
    compress_ = v;
    return *this;
  }
  // Pinned section counts (inconsistent messages).
  DnsMessageBuilder& qdcount(uint16_t v) {
    qdcount_ = v;
    return *this;
  }
  DnsMessageBuilder& ancount(uint16_t v) {
    ancount_ = v;
    return *this;
  }

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> m;
    put16(m, id_);
    put16(m, flags_);
    put16(m, qdcount_.value_or(static_cast<uint16_t>(questions_.size())));
    put16(m, ancount_.value_or(static_cast<uint16_t>(answers_.size())));
    put16(m, 0);
    put16(m, 0);
    for (const Question& q : questions_) {
      std::vector<uint8_t> n = encode_name(q.name);
      m.insert(m.end(), n.begin(), n.end());
      put16(m, q.qtype);
      put16(m, q.qclass);
    }
    for (const Record& r : answers_) {
      if (compress_ && !questions_.empty() && r.name == questions_[0].name) {
        m.push_back(0xC0);
        m.push_back(12);
      } else {
        std::vector<uint8_t> n = encode_name(r.name);
        m.insert(m.end(), n.begin(), n.end());
      }
      put16(m, r.type);
      put16(m, 1);  // IN
      put16(m, 0);  // TTL 60
      put16(m, 60);
      put16(m, static_cast<uint16_t>(r.rdata.size()));
      m.insert(m.end(), r.rdata.begin(), r.rdata.end());
    }
    return m;
  }
  // The message with the 2-byte length prefix of DNS over TCP.
  std::vector<uint8_t> build_tcp() const {
    std::vector<uint8_t> m = build();
    std::vector<uint8_t> out;
    put16(out, static_cast<uint16_t>(m.size()));
    out.insert(out.end(), m.begin(), m.end());
    return out;
  }

  // "a.b" -> 1 'a' 1 'b' 0; "." or "" -> 0. Labels longer than 63 bytes are
  // written as given (length byte masked to 6 bits is NOT applied), so tests
  // can craft bad labels with raw bytes instead.
  static std::vector<uint8_t> encode_name(const std::string& name) {
    std::vector<uint8_t> out;
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      const size_t len = dot - start;
      if (len > 63) throw std::invalid_argument("label longer than 63 bytes: use raw bytes");
      if (len > 0) {
        out.push_back(static_cast<uint8_t>(len));
        out.insert(out.end(), name.begin() + static_cast<long>(start),
                   name.begin() + static_cast<long>(dot));
      }
      start = dot + 1;
    }
    out.push_back(0);
    return out;
  }

 private:
  struct Question {
    std::string name;
    uint16_t qtype;
    uint16_t qclass;
  };
  struct Record {
    std::string name;
    uint16_t type;
    std::vector<uint8_t> rdata;
  };
  static void put16(std::vector<uint8_t>& m, uint16_t v) {
    m.push_back(static_cast<uint8_t>(v >> 8));
    m.push_back(static_cast<uint8_t>(v));
  }
  static std::vector<uint8_t> address(int family, const std::string& ip) {
    std::vector<uint8_t> out(family == AF_INET ? 4 : 16);
    if (inet_pton(family, ip.c_str(), out.data()) != 1) {
      throw std::invalid_argument("bad IP address: " + ip);
    }
    return out;
  }

  uint16_t id_ = 0x1234;
  uint16_t flags_ = 0x0100;  // RD
  std::optional<uint16_t> qdcount_;
  std::optional<uint16_t> ancount_;
  bool compress_ = false;
  std::vector<Question> questions_;
  std::vector<Record> answers_;
};

}  // namespace netobs::testing
