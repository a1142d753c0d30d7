#include "collectors/dns/dns_events.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <span>

#include "collectors/dns/dns_protocol.h"

namespace netobs {

std::string dns_address_text(uint8_t family, const uint8_t* address) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = family == DNS_FAMILY_IPV6 ? AF_INET6 : AF_INET;
  if (inet_ntop(af, address, buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

DnsExchange exchange_from_record(const dns_event& record, int64_t unix_offset_ns) {
  DnsExchange e;
  e.kind = DnsExchange::Kind::kAnswered;
  // Unsigned arithmetic wraps instead of overflowing on a corrupt timestamp.
  e.unix_ns = record.ts_ns + static_cast<uint64_t>(unix_offset_ns);
  e.transport = record.transport;
  e.id = record.id;
  e.qtype = record.qtype;
  e.rcode = static_cast<uint8_t>(record.flags & 0xF);
  e.truncated = (record.flags & 0x0200) != 0;
  e.latency_ns = record.latency_ns;
  e.client_ip = dns_address_text(record.family, record.client);
  e.client_port = record.client_port;
  e.server_ip = dns_address_text(record.family, record.server);
  e.server_port = record.server_port;
  e.pid = record.tgid;
  e.comm.assign(record.comm, strnlen(record.comm, sizeof(record.comm)));
  const size_t len = std::min<size_t>(record.msg_len, sizeof(record.msg));
  std::string error;
  std::optional<dns::Message> message =
      dns::parse_message(std::span<const uint8_t>(record.msg, len), &error);
  if (!message) {
    e.decode_error = error;
    return e;
  }
  e.qname = message->qname;
  for (auto& answer : message->answers) e.answers.push_back(std::move(answer.data));
  if (!message->answers_complete) {
    e.decode_error = record.msg_len < record.msg_total ? "message cut at capture size"
                                                       : "malformed answer record";
  }
  return e;
}

DnsEventOptions dns_event_options(const DnsConfig& config) {
  return {.queries = config.capture_queries,
          .responses = config.capture_responses,
          .content = config.capture_content};
}

bool dns_event_wanted(const DnsExchange& exchange, const DnsEventOptions& options) {
  if (exchange.kind == DnsExchange::Kind::kUnanswered) return options.queries;
  return options.queries || options.responses;
}

const EventSchema& dns_event_schema() {
  static const EventSchema schema = [] {
    EventSchema s;
    s.kind = "dns";
    auto add = [&s](const char* csv, const char* json, EventFieldType type) {
      s.fields.push_back({csv, json, type});
    };
    add("Timestamp", "timestamp", EventFieldType::kString);
    add("Query Name", "dns.question.name", EventFieldType::kString);
    add("Query Type", "dns.question.type", EventFieldType::kString);
    add("Response Code", "dns.response_code", EventFieldType::kString);
    add("Answers", "dns.answers", EventFieldType::kString);
    add("Latency (ms)", "dns.latency_ms", EventFieldType::kString);
    add("Peer IP", "net.peer.ip", EventFieldType::kString);
    add("Peer Port", "net.peer.port", EventFieldType::kInteger);
    add("PID", "process.pid", EventFieldType::kInteger);
    add("Process", "process.name", EventFieldType::kString);
    add("Transport", "dns.transport", EventFieldType::kString);
    add("DNS ID", "dns.id", EventFieldType::kInteger);
    add("Truncated", "dns.truncated", EventFieldType::kString);
    add("Unanswered", "dns.unanswered", EventFieldType::kString);
    add("Host IP", "net.host.ip", EventFieldType::kString);
    add("Host Port", "net.host.port", EventFieldType::kInteger);
    return s;
  }();
  return schema;
}

EventRow dns_event_row(const DnsExchange& e, const DnsEventOptions& options) {
  const bool answered = e.kind == DnsExchange::Kind::kAnswered;
  EventRow row(dns_event_schema().fields.size());
  // ISO 8601 with milliseconds, as in the DNS tracing sample event.
  {
    const time_t seconds = static_cast<time_t>(e.unix_ns / 1000000000ULL);
    const unsigned millis = static_cast<unsigned>((e.unix_ns % 1000000000ULL) / 1000000ULL);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof(text) - n, ".%03uZ", millis);
    row[0] = text;
  }
  if (options.queries || options.responses) {
    if (options.content) row[1] = e.qname;
    row[2] = dns::qtype_name(e.qtype);
  }
  if (options.responses && answered) {
    if (e.rcode) row[3] = dns::rcode_name(*e.rcode);
    if (options.content) {
      std::string answers;
      for (const std::string& a : e.answers) {
        if (!answers.empty()) answers += ',';
        answers += a;
      }
      row[4] = answers;
    }
    if (e.latency_ns) {
      char text[32];
      std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(*e.latency_ns) / 1e6);
      row[5] = text;
    }
  }
  row[6] = e.server_ip;
  row[7] = std::to_string(e.server_port);
  if (e.pid != 0) {
    row[8] = std::to_string(e.pid);
    row[9] = e.comm;
  }
  row[10] = e.transport == DNS_TRANSPORT_TCP ? "tcp" : "udp";
  row[11] = std::to_string(e.id);
  row[12] = answered ? (e.truncated ? "true" : "false") : "";
  row[13] = answered ? "false" : "true";
  row[14] = e.client_ip;
  row[15] = std::to_string(e.client_port);
  return row;
}

}  // namespace netobs
