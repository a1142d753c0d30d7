// The security collector's pure parts: blocklist files, the merged address
// classes and port bits, the alert JSON, the rate limit, metric rendering
// and the webhook sender (against a loopback HTTP receiver in the test).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "bpf/security.h"
#include "collectors/security/blocklist.h"
#include "collectors/security/security_config.h"
#include "collectors/security/security_event.h"
#include "collectors/security/security_metrics.h"
#include "collectors/security/security_rules.h"
#include "collectors/security/security_webhook.h"
#include "config/config.h"
#include "tests/support/http_receiver.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BlocklistTest, LoadsAddressesAndCidrsAndSkipsMalformedLinesWithTheirNumber) {
  Blocklists lists;
  parse_blocklist(
      "# known bad\n198.51.100.50\n\n  203.0.113.0/24   # a whole net\nnot-an-ip\n2001:db8::/32\r\n"
      "10.0.0.0/33\n10.1.2.3/8\n",
      "/etc/bl.txt", 2, lists);
  ASSERT_EQ(lists.entries.size(), 4u);
  EXPECT_EQ(lists.entries[0].cidr.to_string(), "198.51.100.50/32");
  EXPECT_EQ(lists.entries[0].line, 2u);
  EXPECT_EQ(lists.entries[0].list, 2u);
  EXPECT_EQ(lists.entries[1].cidr.to_string(), "203.0.113.0/24");
  EXPECT_EQ(lists.entries[1].line, 4u);
  EXPECT_EQ(lists.entries[2].cidr.to_string(), "2001:db8::/32");
  EXPECT_EQ(lists.entries[2].line, 6u);
  EXPECT_EQ(lists.entries[3].cidr.to_string(), "10.0.0.0/8");  // host bits cleared
  ASSERT_EQ(lists.errors.size(), 2u);
  EXPECT_THAT(lists.errors[0], HasSubstr("/etc/bl.txt:5: \"not-an-ip\""));
  EXPECT_THAT(lists.errors[0], HasSubstr("(skipped)"));
  EXPECT_THAT(lists.errors[1], HasSubstr("/etc/bl.txt:7: "));
  EXPECT_THAT(lists.errors[1], HasSubstr("0..32"));
}

TEST(BlocklistTest, UnreadableFileIsOneErrorAndStampsChange) {
  testing::TempDir dir;
  const std::string path = dir.write("bl.txt", "192.0.2.1\n");
  Blocklists lists = load_blocklists({path, dir.path() + "/missing.txt"});
  ASSERT_EQ(lists.entries.size(), 1u);
  EXPECT_EQ(lists.entries[0].list, 0u);
  ASSERT_EQ(lists.errors.size(), 1u);
  EXPECT_THAT(lists.errors[0], HasSubstr("missing.txt: cannot read"));
  const FileStamp before = stamp_file(path);
  EXPECT_EQ(stamp_file(dir.path() + "/missing.txt"), FileStamp{});
  dir.write("bl.txt", "192.0.2.1\n192.0.2.2\n");
  EXPECT_NE(stamp_file(path), before);
}

TEST(SecurityRulesTest, LongestPrefixCarriesEveryBit) {
  const Cidr internal = *parse_cidr("10.0.0.0/8");
  const Cidr exclude = *parse_cidr("10.9.0.0/16");
  const Cidr include = *parse_cidr("10.9.1.0/24");
  std::vector<ClassEntry> entries = merge_class_entries({internal}, {include}, {exclude});
  ASSERT_EQ(entries.size(), 3u);
  // 10.0.0.0/8: internal; with include_cidrs set, outside them -> excluded.
  EXPECT_EQ(entries[0].bits, NETOBS_SEC_CLASS_INTERNAL | NETOBS_SEC_CLASS_EXCLUDED);
  // 10.9.1.0/24: inside 10/8 (internal), the longest filter is the include.
  EXPECT_EQ(entries[1].cidr, include);
  EXPECT_EQ(entries[1].bits, NETOBS_SEC_CLASS_INTERNAL);
  EXPECT_EQ(entries[2].cidr, exclude);
  EXPECT_EQ(entries[2].bits, NETOBS_SEC_CLASS_INTERNAL | NETOBS_SEC_CLASS_EXCLUDED);
}

TEST(SecurityRulesTest, PortsAndBuiltinRanges) {
  SecurityConfig config;
  config.suspicious_ports = {4444, 31337};
  config.internal_cidrs = {"11.0.0.0/8"};
  config.builtin_internal_ranges = false;
  NetworkFilters filters;
  filters.exclude_ports = {31337, 22};
  Result<SecurityRules> rules = build_security_rules(config, filters);
  ASSERT_TRUE(rules) << rules.status().message();
  ASSERT_EQ(rules->classes.size(), 1u);
  EXPECT_EQ(rules->classes[0].bits, NETOBS_SEC_CLASS_INTERNAL);
  EXPECT_FALSE(rules->default_excluded);
  EXPECT_FALSE(rules->default_port_excluded);
  EXPECT_EQ(rules->ports.at(4444), NETOBS_SEC_PORT_SUSPICIOUS);
  EXPECT_EQ(rules->ports.at(31337), NETOBS_SEC_PORT_SUSPICIOUS | NETOBS_SEC_PORT_EXCLUDED);
  EXPECT_EQ(rules->ports.at(22), NETOBS_SEC_PORT_EXCLUDED);

  config.builtin_internal_ranges = true;
  filters.include_ports = {443};
  rules = build_security_rules(config, filters);
  ASSERT_TRUE(rules);
  EXPECT_EQ(rules->classes.size(), 1 + non_external_ranges().size());
  EXPECT_TRUE(rules->default_port_excluded);
  EXPECT_EQ(rules->ports.at(443), 0u);
  EXPECT_EQ(rules->ports.at(4444), NETOBS_SEC_PORT_SUSPICIOUS | NETOBS_SEC_PORT_EXCLUDED);
}

netobs_sec_event kernel_event() {
  netobs_sec_event e{};
  e.tgid = 4242;
  e.family = AF_INET;
  e.direction = NETOBS_SEC_OUTBOUND;
  e.peer_port = 4444;
  inet_pton(AF_INET, "198.51.100.50", e.peer);
  inet_pton(AF_INET, "10.200.0.1", e.local);
  e.matches = NETOBS_SEC_MATCH_BLOCKLIST | NETOBS_SEC_MATCH_PORT;
  e.block_list = 1;
  e.block_line = 7;
  std::memcpy(e.comm, "shell", 6);
  return e;
}

TEST(SecurityEventTest, AlertHasTheDocumentedShape) {
  Detection d = detection_from_event(kernel_event(), 1705314600123000000ULL, {"/a", "/etc/bl.txt"});
  EXPECT_EQ(d.type, DetectionType::kBlocklist);
  d.executable = "/tmp/shell";
  d.suppressed = 3;
  d.attributes.emplace_back("k8s.pod.name", "compromised-pod");
  EXPECT_EQ(format_detection_json(d),
            "{\"timestamp\":\"2024-01-15T10:30:00.123Z\",\"severity\":\"WARNING\","
            "\"body\":\"Suspicious outbound connection to known bad IP\",\"attributes\":{"
            "\"network.event_type\":\"suspicious_connection\",\"net.peer.ip\":\"198.51.100.50\","
            "\"net.peer.port\":4444,\"process.pid\":4242,"
            "\"process.executable.path\":\"/tmp/shell\",\"process.command\":\"shell\","
            "\"k8s.pod.name\":\"compromised-pod\",\"network.direction\":\"outbound\","
            "\"net.host.ip\":\"10.200.0.1\",\"netobs.detection.type\":\"blocklist\","
            "\"netobs.detection.matches\":\"blocklist,suspicious_port\","
            "\"netobs.blocklist\":\"/etc/bl.txt:7\",\"netobs.suppressed_count\":3}}\n");
}

TEST(SecurityEventTest, TypesBodiesAndSeverities) {
  netobs_sec_event e = kernel_event();
  e.matches = NETOBS_SEC_MATCH_EXTERNAL;
  e.direction = NETOBS_SEC_INBOUND;
  Detection d = detection_from_event(e, 0, {});
  EXPECT_EQ(d.type, DetectionType::kExternal);
  EXPECT_EQ(detection_body(d), "Inbound connection from external address");
  EXPECT_EQ(detection_severity(d.type), "INFO");
  e.matches = NETOBS_SEC_MATCH_PORT;
  e.direction = NETOBS_SEC_OUTBOUND;
  d = detection_from_event(e, 0, {});
  EXPECT_EQ(detection_body(d), "Suspicious outbound connection to port 4444");
  EXPECT_EQ(detection_type_name(d.type), "suspicious_port");
}

TEST(DetectionRateLimiterTest, OnePerIntervalAndTheSuppressedCountComesNext) {
  DetectionRateLimiter limiter(10, 16);
  EXPECT_EQ(limiter.admit("blocklist|1.2.3.4", 100), 0u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.admit("blocklist|1.2.3.4", 101 + i), std::nullopt);
  EXPECT_EQ(limiter.admit("blocklist|5.6.7.8", 101), 0u);  // another peer: its own limit
  EXPECT_EQ(limiter.admit("blocklist|1.2.3.4", 110), 5u);
  EXPECT_EQ(limiter.admit("blocklist|1.2.3.4", 111), std::nullopt);
}

TEST(DetectionRateLimiterTest, BoundedKeysShareOneLimitWhenFull) {
  DetectionRateLimiter limiter(10, 2);
  EXPECT_EQ(limiter.admit("a", 0), 0u);
  EXPECT_EQ(limiter.admit("b", 0), 0u);
  EXPECT_EQ(limiter.admit("c", 1), 0u);            // first of the shared overflow key
  EXPECT_EQ(limiter.admit("d", 1), std::nullopt);  // shares it
  EXPECT_EQ(limiter.admit("e", 20), 0u);           // a and b expired: e gets a key of its own
}

TEST(SecurityEventTest, DnsAnswerAlertNamesTheQuestionAndTheAnswer) {
  netobs_sec_dns_event e{};
  e.e.direction = NETOBS_SEC_DNS_ANSWER;
  e.e.family = AF_INET;
  e.e.tgid = 77;
  e.e.peer_port = 53;
  e.e.local_port = 40000;
  inet_pton(AF_INET, "10.0.0.53", e.e.peer);
  inet_pton(AF_INET, "10.0.0.1", e.e.local);
  e.e.matches = NETOBS_SEC_MATCH_DNS_BLOCKLIST;
  e.e.block_list = 0;
  e.e.block_line = 2;
  std::memcpy(e.e.comm, "dig", 4);
  e.answer_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::66", e.answer);
  const uint8_t wire[] = {3, 'w', 'w', 'w', 4, 'e', 'v', 'i', 'l', 3, 'c', 'o', 'm', 0};
  std::memcpy(e.name, wire, sizeof wire);
  e.name_len = sizeof wire;
  Detection d = detection_from_dns_event(e, 1705314600000000000ULL, {"/bl"});
  EXPECT_EQ(d.type, DetectionType::kDnsBlocklist);
  d.executable = "/usr/bin/dig";
  EXPECT_EQ(format_detection_json(d),
            "{\"timestamp\":\"2024-01-15T10:30:00.000Z\",\"severity\":\"WARNING\","
            "\"body\":\"DNS answer contains known bad IP\",\"attributes\":{"
            "\"network.event_type\":\"suspicious_dns_answer\",\"net.peer.ip\":\"10.0.0.53\","
            "\"net.peer.port\":53,\"process.pid\":77,\"process.executable.path\":\"/usr/bin/dig\","
            "\"process.command\":\"dig\",\"network.direction\":\"inbound\","
            "\"net.host.ip\":\"10.0.0.1\",\"net.host.port\":40000,"
            "\"netobs.detection.type\":\"dns_blocklist\","
            "\"netobs.detection.matches\":\"dns_blocklist\",\"netobs.blocklist\":\"/bl:2\","
            "\"dns.question.name\":\"www.evil.com\",\"dns.answers\":[\"2001:db8::66\"],"
            "\"netobs.suppressed_count\":0}}\n");
}

TEST(SecurityEventTest, WireNamesDecodeLikeDigPrintsThem) {
  const uint8_t root[] = {0};
  EXPECT_EQ(decode_dns_name(root, 1), ".");
  const uint8_t odd[] = {3, 'a', '.', 0x01, 1, '"', 0};
  EXPECT_EQ(decode_dns_name(odd, sizeof odd), "a\\046\\001.\"");
  const uint8_t truncated[] = {3, 'a', 'b'};  // label longer than the bytes: stops
  EXPECT_EQ(decode_dns_name(truncated, sizeof truncated), ".");
  const uint8_t pointer[] = {1, 'x', 0xC0, 12};  // compression pointer ends the name
  EXPECT_EQ(decode_dns_name(pointer, sizeof pointer), "x");
}

TEST(SecurityMetricsTest, EverySeriesFromTheStart) {
  SecuritySnapshot s;
  s.detections[static_cast<size_t>(DetectionType::kSuspiciousPort)] = 2;
  s.webhook =
      WebhookCounters{.sent = 1, .retries = 0, .dropped_queue_full = 4, .dropped_failed = 0};
  std::vector<prometheus::MetricFamily> out;
  append_security_families(s, out);
  ASSERT_GE(out.size(), 9u);
  EXPECT_EQ(out[0].name, "netobs_security_detections_total");
  ASSERT_EQ(out[0].metric.size(), 4u);
  double port_total = -1;
  for (const auto& metric : out[0].metric) {
    std::map<std::string, std::string> labels;
    for (const auto& pair : metric.label) labels[pair.name] = pair.value;
    if (labels["detection"] == "suspicious_port") {
      EXPECT_EQ(labels["severity"], "warning");
      port_total = metric.counter.value;
    }
  }
  EXPECT_EQ(port_total, 2);
  EXPECT_EQ(out.back().name, "netobs_security_webhook_dropped_total");
  EXPECT_EQ(out.back().metric[0].counter.value, 4);
}

template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 500 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(WebhookSenderTest, PostsJsonAndRetriesWithBackoff) {
  testing::HttpReceiver receiver({503, 200, 200});
  WebhookSender sender({.url = receiver.url(),
                        .queue_size = 8,
                        .max_retries = 2,
                        .timeout_seconds = 5,
                        .first_backoff_seconds = 0.05});
  EXPECT_TRUE(sender.enqueue("{\"a\":1}\n"));
  EXPECT_TRUE(sender.enqueue("{\"b\":2}\n"));
  ASSERT_TRUE(eventually([&] { return sender.counters().sent == 2; }));
  const WebhookCounters c = sender.counters();
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.dropped_failed, 0u);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[0], HasSubstr("POST /alerts HTTP/1.0\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(requests[1], HasSubstr("\r\n\r\n{\"a\":1}\n"));
  EXPECT_THAT(requests[2], HasSubstr("\r\n\r\n{\"b\":2}\n"));
}

TEST(WebhookSenderTest, BoundedQueueAndFailedDeliveriesAreCounted) {
  // Nothing listens: every POST fails; the queue holds 2.
  const int port = testing::free_tcp_port();
  WebhookSender sender({.url = "http://127.0.0.1:" + std::to_string(port) + "/",
                        .queue_size = 2,
                        .max_retries = 1,
                        .timeout_seconds = 1,
                        .first_backoff_seconds = 0.2});
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += sender.enqueue("{}\n") ? 1 : 0;
  ASSERT_TRUE(eventually([&] {
    const WebhookCounters c = sender.counters();
    return c.dropped_failed + c.dropped_queue_full == 10;
  }));
  const WebhookCounters c = sender.counters();
  EXPECT_EQ(c.dropped_queue_full, static_cast<uint64_t>(10 - accepted));
  EXPECT_LE(accepted, 3);  // the queue (2) plus the one being sent
  EXPECT_EQ(c.sent, 0u);
}

}  // namespace
}  // namespace netobs
