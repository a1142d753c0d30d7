// The user-space DNS decoder: type/rcode names, names with compression
// pointers (loops, forward pointers, length limits, truncation at every
// byte), and A/AAAA/CNAME answers.
#include "collectors/dns/dns_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/dns_message_builder.h"

namespace netobs {
namespace {

using testing::DnsMessageBuilder;

TEST(DnsNamesTest, TypeNamesAndUnknownNumbers) {
  EXPECT_EQ(dns::qtype_name(1), "A");
  EXPECT_EQ(dns::qtype_name(28), "AAAA");
  EXPECT_EQ(dns::qtype_name(5), "CNAME");
  EXPECT_EQ(dns::qtype_name(33), "SRV");
  EXPECT_EQ(dns::qtype_name(12), "PTR");
  EXPECT_EQ(dns::qtype_name(15), "MX");
  EXPECT_EQ(dns::qtype_name(16), "TXT");
  EXPECT_EQ(dns::qtype_name(65), "HTTPS");
  EXPECT_EQ(dns::qtype_name(64), "SVCB");
  EXPECT_EQ(dns::qtype_name(65534), "TYPE65534");
  EXPECT_EQ(dns::qtype_name(0), "TYPE0");
}

TEST(DnsNamesTest, RcodeNamesAndUnknownNumbers) {
  EXPECT_EQ(dns::rcode_name(0), "NOERROR");
  EXPECT_EQ(dns::rcode_name(1), "FORMERR");
  EXPECT_EQ(dns::rcode_name(2), "SERVFAIL");
  EXPECT_EQ(dns::rcode_name(3), "NXDOMAIN");
  EXPECT_EQ(dns::rcode_name(4), "NOTIMP");
  EXPECT_EQ(dns::rcode_name(5), "REFUSED");
  EXPECT_EQ(dns::rcode_name(10), "NOTZONE");
  EXPECT_EQ(dns::rcode_name(11), "RCODE11");
  EXPECT_EQ(dns::rcode_name(12), "RCODE12");
  EXPECT_EQ(dns::rcode_name(15), "RCODE15");
}

std::vector<uint8_t> with_header(std::vector<uint8_t> body) {
  std::vector<uint8_t> m(12, 0);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

TEST(DnsDecodeNameTest, PlainNameAndRoot) {
  auto m = with_header(DnsMessageBuilder::encode_name("api.example.com"));
  auto name = dns::decode_name(m, 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->name, "api.example.com");
  EXPECT_EQ(name->end, m.size());

  auto root = with_header({0});
  name = dns::decode_name(root, 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->name, ".");
  EXPECT_EQ(name->end, 13u);
}

TEST(DnsDecodeNameTest, CompressionPointers) {
  // 12: example.com  25: www + ptr(12)  31: a + ptr(25)
  std::vector<uint8_t> body = DnsMessageBuilder::encode_name("example.com");
  body.insert(body.end(), {3, 'w', 'w', 'w', 0xC0, 12});
  body.insert(body.end(), {1, 'a', 0xC0, 25});
  auto m = with_header(body);
  auto www = dns::decode_name(m, 25);
  ASSERT_TRUE(www);
  EXPECT_EQ(www->name, "www.example.com");
  EXPECT_EQ(www->end, 31u);  // after the pointer, not after its target
  auto a = dns::decode_name(m, 31);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "a.www.example.com");
  EXPECT_EQ(a->end, 35u);
}

TEST(DnsDecodeNameTest, PointerLoopsAreRejected) {
  dns::NameError error = dns::NameError::kNone;
  // A pointer to itself.
  auto self = with_header({0xC0, 12});
  EXPECT_FALSE(dns::decode_name(self, 12, &error));
  EXPECT_EQ(error, dns::NameError::kBadPointer);
  // Two names pointing at each other: 12 -> 16 is forward.
  auto pair = with_header({1, 'a', 0xC0, 16, 1, 'b', 0xC0, 12});
  EXPECT_FALSE(dns::decode_name(pair, 12, &error));
  EXPECT_EQ(error, dns::NameError::kBadPointer);
  // Starting at 16: b -> 12 (backwards, fine) -> a -> 16: not below 12.
  EXPECT_FALSE(dns::decode_name(pair, 16, &error));
  EXPECT_EQ(error, dns::NameError::kBadPointer);
  // A pointer into the middle of itself.
  auto middle = with_header({1, 'x', 0xC0, 13});
  EXPECT_FALSE(dns::decode_name(middle, 12, &error));
  EXPECT_EQ(error, dns::NameError::kBadPointer);
}

TEST(DnsDecodeNameTest, LengthAndLabelLimits) {
  dns::NameError error = dns::NameError::kNone;
  // 4 labels of 63 bytes: 4 * 64 + 1 = 257 > 255.
  std::vector<uint8_t> body;
  for (int i = 0; i < 4; ++i) {
    body.push_back(63);
    body.insert(body.end(), 63, 'x');
  }
  body.push_back(0);
  auto m = with_header(body);
  EXPECT_FALSE(dns::decode_name(m, 12, &error));
  EXPECT_EQ(error, dns::NameError::kTooLong);
  // 3 * 64 + 62 + 1 = 255: the longest legal name.
  body.clear();
  for (int i = 0; i < 3; ++i) {
    body.push_back(63);
    body.insert(body.end(), 63, 'x');
  }
  body.push_back(61);
  body.insert(body.end(), 61, 'y');
  body.push_back(0);
  m = with_header(body);
  auto longest = dns::decode_name(m, 12, &error);
  ASSERT_TRUE(longest) << dns::name_error_text(error);
  EXPECT_EQ(longest->name.size(), 253u);
  // Label types 0x40 and 0x80 are not supported.
  for (uint8_t type : {uint8_t{0x40}, uint8_t{0x80}, uint8_t{0x7F}}) {
    auto bad = with_header({type, 'a', 0});
    EXPECT_FALSE(dns::decode_name(bad, 12, &error));
    EXPECT_EQ(error, dns::NameError::kBadLabelType);
  }
}

TEST(DnsDecodeNameTest, TruncatedAtEveryByte) {
  std::vector<uint8_t> body = DnsMessageBuilder::encode_name("www.example.com");
  auto full = with_header(body);
  for (size_t cut = 12; cut < full.size(); ++cut) {
    std::vector<uint8_t> m(full.begin(), full.begin() + static_cast<long>(cut));
    dns::NameError error = dns::NameError::kNone;
    EXPECT_FALSE(dns::decode_name(m, 12, &error)) << "cut at " << cut;
    EXPECT_EQ(error, dns::NameError::kTruncated) << "cut at " << cut;
  }
  // A pointer cut after its first byte.
  auto half = with_header({0xC0});
  dns::NameError error = dns::NameError::kNone;
  EXPECT_FALSE(dns::decode_name(half, 12, &error));
  EXPECT_EQ(error, dns::NameError::kTruncated);
}

TEST(DnsDecodeNameTest, EscapesOddBytes) {
  auto m = with_header({3, 'a', '.', 'b', 2, 0x00, 0xFF, 1, '\\', 0});
  auto name = dns::decode_name(m, 12);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->name, "a\\.b.\\000\\255.\\\\");
}

TEST(DnsParseMessageTest, QuestionAndAnswers) {
  auto m = DnsMessageBuilder()
               .id(42)
               .response()
               .question("web.test", testing::kDnsA)
               .answer_cname("web.test", "real.test")
               .answer_a("real.test", "10.1.2.3")
               .answer_aaaa("real.test", "fd00::7")
               .answer("real.test", testing::kDnsTxt, {3, 'a', 'b', 'c'})
               .compress()
               .build();
  std::string error;
  auto message = dns::parse_message(m, &error);
  ASSERT_TRUE(message) << error;
  EXPECT_EQ(message->header.id, 42);
  EXPECT_TRUE(message->header.is_response());
  EXPECT_EQ(message->qname, "web.test");
  EXPECT_EQ(message->qtype, testing::kDnsA);
  ASSERT_EQ(message->answers.size(), 3u);
  EXPECT_EQ(message->answers[0].data, "real.test");
  EXPECT_EQ(message->answers[1].data, "10.1.2.3");
  EXPECT_EQ(message->answers[2].data, "fd00::7");
  EXPECT_TRUE(message->answers_complete);
}

TEST(DnsParseMessageTest, CutInsideAnswersKeepsWhatWasRead) {
  auto full = DnsMessageBuilder()
                  .response()
                  .question("a.test", testing::kDnsA)
                  .answer_a("a.test", "10.0.0.1")
                  .answer_a("a.test", "10.0.0.2")
                  .compress()
                  .build();
  std::vector<uint8_t> cut(full.begin(), full.end() - 2);
  auto message = dns::parse_message(cut);
  ASSERT_TRUE(message);
  ASSERT_EQ(message->answers.size(), 1u);
  EXPECT_EQ(message->answers[0].data, "10.0.0.1");
  EXPECT_FALSE(message->answers_complete);
}

TEST(DnsParseMessageTest, BadHeadersAndQuestions) {
  std::string error;
  EXPECT_FALSE(dns::parse_message(std::vector<uint8_t>(11, 0), &error));
  EXPECT_EQ(error, "message shorter than the 12-byte DNS header");
  auto no_type = DnsMessageBuilder().question("a.test", testing::kDnsA).build();
  no_type.resize(no_type.size() - 3);
  EXPECT_FALSE(dns::parse_message(no_type, &error));
  EXPECT_EQ(error, "question ends before QTYPE/QCLASS");
  // A CNAME whose target runs past its RDATA is dropped, not read across.
  auto m = DnsMessageBuilder()
               .response()
               .question("a.test", testing::kDnsCname)
               .answer("a.test", testing::kDnsCname, {3, 'x', 'y'})
               .build();
  m.push_back('z');
  m.push_back(0);
  auto message = dns::parse_message(m);
  ASSERT_TRUE(message);
  EXPECT_TRUE(message->answers.empty());
  EXPECT_FALSE(message->answers_complete);
}

}  // namespace
}  // namespace netobs
