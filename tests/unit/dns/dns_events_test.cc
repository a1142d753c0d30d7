// DNS events: a ring-buffer record decoded into an exchange, and its row
// in seed 003's field names under the capture_* switches.
#include "collectors/dns/dns_events.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tests/support/dns_message_builder.h"

namespace netobs {
namespace {

using testing::DnsMessageBuilder;

dns_event record_for(const std::vector<uint8_t>& message) {
  dns_event r{};
  r.kind = DNS_EVENT_EXCHANGE;
  r.tgid = 4242;
  std::strcpy(r.comm, "dig");
  r.ts_ns = 5'000'000'000ULL;
  r.latency_ns = 2'500'000;
  inet_pton(AF_INET, "127.0.0.1", r.client);
  inet_pton(AF_INET, "127.0.0.53", r.server);
  r.client_port = 40000;
  r.server_port = 53;
  r.id = 77;
  r.qtype = 1;
  r.flags = 0x8180;
  r.transport = DNS_TRANSPORT_UDP;
  r.family = DNS_FAMILY_IPV4;
  r.msg_len = static_cast<uint16_t>(message.size());
  r.msg_total = r.msg_len;
  std::memcpy(r.msg, message.data(), message.size());
  return r;
}

TEST(DnsEventsTest, RecordToExchange) {
  auto message = DnsMessageBuilder()
                     .id(77)
                     .response()
                     .question("api.example.com", testing::kDnsA)
                     .answer_a("api.example.com", "10.0.1.100")
                     .answer_a("api.example.com", "10.0.1.101")
                     .compress()
                     .build();
  DnsExchange e = exchange_from_record(record_for(message), 1'000'000'000'000'000'000LL);
  EXPECT_EQ(e.qname, "api.example.com");
  EXPECT_EQ(e.qtype, 1);
  ASSERT_TRUE(e.rcode);
  EXPECT_EQ(*e.rcode, 0);
  EXPECT_EQ(e.answers, (std::vector<std::string>{"10.0.1.100", "10.0.1.101"}));
  EXPECT_EQ(e.latency_ns, 2'500'000u);
  EXPECT_EQ(e.server_ip, "127.0.0.53");
  EXPECT_EQ(e.server_port, 53);
  EXPECT_EQ(e.client_ip, "127.0.0.1");
  EXPECT_EQ(e.pid, 4242u);
  EXPECT_EQ(e.comm, "dig");
  EXPECT_EQ(e.unix_ns, 1'000'000'005'000'000'000ULL);
  EXPECT_TRUE(e.decode_error.empty());
}

TEST(DnsEventsTest, SeedFieldsInJson) {
  auto message = DnsMessageBuilder()
                     .response()
                     .question("api.example.com", testing::kDnsA)
                     .answer_a("api.example.com", "10.0.1.100")
                     .build();
  DnsExchange e = exchange_from_record(record_for(message), 0);
  const DnsEventOptions all{.queries = true, .responses = true, .content = true};
  const std::string line = format_json_line(dns_event_schema(), dns_event_row(e, all));
  EXPECT_NE(line.find("\"timestamp\":\"1970-01-01T00:00:05.000Z\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.question.name\":\"api.example.com\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.question.type\":\"A\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.response_code\":\"NOERROR\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.answers\":\"10.0.1.100\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.latency_ms\":\"2.500\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"net.peer.ip\":\"127.0.0.53\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"net.peer.port\":53"), std::string::npos) << line;
  EXPECT_NE(line.find("\"process.pid\":4242"), std::string::npos) << line;
  EXPECT_NE(line.find("\"process.name\":\"dig\""), std::string::npos) << line;
}

TEST(DnsEventsTest, ContentOffHidesNamesAndAnswers) {
  auto message = DnsMessageBuilder()
                     .response()
                     .question("secret.test", testing::kDnsA)
                     .answer_a("secret.test", "10.0.0.1")
                     .build();
  DnsExchange e = exchange_from_record(record_for(message), 0);
  const DnsEventOptions no_content{.queries = true, .responses = true, .content = false};
  const std::string line = format_json_line(dns_event_schema(), dns_event_row(e, no_content));
  EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  EXPECT_EQ(line.find("10.0.0.1"), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.question.name\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"dns.response_code\":\"NOERROR\""), std::string::npos) << line;
}

TEST(DnsEventsTest, WhichExchangesBecomeEvents) {
  DnsExchange answered;
  DnsExchange unanswered;
  unanswered.kind = DnsExchange::Kind::kUnanswered;
  EXPECT_TRUE(dns_event_wanted(answered, {.queries = false, .responses = true}));
  EXPECT_FALSE(dns_event_wanted(unanswered, {.queries = false, .responses = true}));
  EXPECT_TRUE(dns_event_wanted(unanswered, {.queries = true, .responses = false}));
  EXPECT_FALSE(dns_event_wanted(answered, {.queries = false, .responses = false}));
  // Without capture_responses, an answered query shows its question only.
  const EventRow row = dns_event_row(answered, {.queries = true, .responses = false});
  EXPECT_EQ(row[2], "TYPE0");
  EXPECT_EQ(row[3], "");
  EXPECT_EQ(row[5], "");
}

TEST(DnsEventsTest, UndecodableMessageStillGivesAnExchange) {
  dns_event r = record_for({1, 2, 3});
  DnsExchange e = exchange_from_record(r, 0);
  EXPECT_TRUE(e.qname.empty());
  EXPECT_EQ(e.decode_error, "message shorter than the 12-byte DNS header");
  EXPECT_EQ(e.qtype, 1);  // from the query, kept in the kernel
}

}  // namespace
}  // namespace netobs
