// DNS exchanges as events: a decoded form of the BPF ring-buffer record
// (or of a timed-out query), and its row in the DNS tracing field names for the
// shared event sinks (exporter/events). Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpf/dns.h"
#include "collectors/dns/dns_config.h"
#include "config/config.h"
#include "exporter/events/event_sink.h"

namespace netobs {

struct DnsExchange {
  enum class Kind { kAnswered, kUnanswered };
  Kind kind = Kind::kAnswered;
  uint64_t unix_ns = 0;  // when the response (or the timeout) was seen
  uint8_t transport = DNS_TRANSPORT_UDP;
  uint16_t id = 0;
  uint16_t qtype = 0;
  std::string qname;  // empty when not decoded (unanswered, undecodable)
  std::optional<uint8_t> rcode;
  bool truncated = false;
  std::vector<std::string> answers;  // A, AAAA, CNAME in message order
  std::optional<uint64_t> latency_ns;
  std::string client_ip;
  uint16_t client_port = 0;
  std::string server_ip;  // net.peer.ip: the DNS server
  uint16_t server_port = 0;
  uint32_t pid = 0;  // 0: not a local sender, or unknown
  std::string comm;
  std::string decode_error;  // why the name/answers are missing, if they are
};

// "10.1.2.3" / "2001:db8::1" from a 16-byte address of the given family.
std::string dns_address_text(uint8_t family, const uint8_t* address);

// An exchange from a ring-buffer record of kind DNS_EVENT_EXCHANGE, names
// and answers decoded from the captured message. `unix_offset_ns` turns the
// record's CLOCK_MONOTONIC time into Unix time.
DnsExchange exchange_from_record(const dns_event& record, int64_t unix_offset_ns);

// What the events contain, for a config's capture_* switches.
struct DnsEventOptions {
  bool queries = true;    // question fields, and events for unanswered queries
  bool responses = true;  // response code, latency, and events for answered queries
  bool content = false;   // query name and answers
};
DnsEventOptions dns_event_options(const DnsConfig& config);

// Whether `exchange` becomes an event under `options`.
bool dns_event_wanted(const DnsExchange& exchange, const DnsEventOptions& options);

// The sink schema (kind "dns"): timestamp, dns.question.name,
// dns.question.type, dns.response_code, dns.answers, dns.latency_ms,
// net.peer.ip, net.peer.port, process.pid, process.name, plus
// dns.transport, dns.id, dns.truncated, dns.unanswered, net.host.ip,
// net.host.port.
const EventSchema& dns_event_schema();
EventRow dns_event_row(const DnsExchange& exchange, const DnsEventOptions& options);

}  // namespace netobs
