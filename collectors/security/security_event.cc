#include "collectors/security/security_event.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "bpf/security.h"
#include "exporter/attribution/attribution.h"
#include "exporter/json_writer.h"
#include "exporter/net/cidr.h"

namespace netobs {

std::string_view detection_type_name(DetectionType type) {
  switch (type) {
    case DetectionType::kBlocklist:
      return "blocklist";
    case DetectionType::kSuspiciousPort:
      return "suspicious_port";
    case DetectionType::kExternal:
      return "external_connection";
    case DetectionType::kDnsBlocklist:
      return "dns_blocklist";
  }
  return "unknown";
}

std::string_view detection_severity(DetectionType type) {
  return type == DetectionType::kExternal ? "INFO" : "WARNING";
}

Detection detection_from_event(const netobs_sec_event& event, uint64_t unix_ns,
                               const std::vector<std::string>& blocklist_paths) {
  Detection d;
  d.unix_ns = unix_ns;
  d.inbound = event.direction == NETOBS_SEC_INBOUND;
  d.peer_ip = format_address(event.family, event.peer);
  d.peer_port = event.peer_port;
  d.local_ip = format_address(event.family, event.local);
  d.local_port = event.local_port;
  d.pid = event.tgid;
  d.comm.assign(event.comm, strnlen(event.comm, sizeof event.comm));
  d.cgroup_id = event.cgroup_id;
  if (event.matches & NETOBS_SEC_MATCH_BLOCKLIST) {
    d.matches.push_back(DetectionType::kBlocklist);
    if (event.block_list < blocklist_paths.size()) d.blocklist = blocklist_paths[event.block_list];
    d.blocklist_line = event.block_line;
  }
  if (event.matches & NETOBS_SEC_MATCH_PORT) d.matches.push_back(DetectionType::kSuspiciousPort);
  if (event.matches & NETOBS_SEC_MATCH_EXTERNAL) d.matches.push_back(DetectionType::kExternal);
  if (!d.matches.empty()) d.type = d.matches.front();
  return d;
}

std::string decode_dns_name(const uint8_t* wire, size_t size) {
  std::string name;
  size_t i = 0;
  while (i < size) {
    const size_t len = wire[i];
    if (len == 0 || (len & 0xC0) != 0 || i + 1 + len > size) break;
    if (!name.empty()) name += '.';
    for (size_t k = i + 1; k <= i + len; ++k) {
      const uint8_t c = wire[k];
      if (c > 0x20 && c < 0x7F && c != '.' && c != '\\') {
        name += static_cast<char>(c);
      } else {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\%03u", c);
        name += escaped;
      }
    }
    i += 1 + len;
  }
  return name.empty() ? "." : name;
}

Detection detection_from_dns_event(const netobs_sec_dns_event& event, uint64_t unix_ns,
                                   const std::vector<std::string>& blocklist_paths) {
  Detection d = detection_from_event(event.e, unix_ns, blocklist_paths);
  d.inbound = true;  // the answer comes in; the query went out from local_ip:local_port
  d.matches.clear();
  if (event.e.matches & NETOBS_SEC_MATCH_DNS_BLOCKLIST) {
    d.matches.push_back(DetectionType::kDnsBlocklist);
    d.type = DetectionType::kDnsBlocklist;
    if (event.e.block_list < blocklist_paths.size()) {
      d.blocklist = blocklist_paths[event.e.block_list];
    }
    d.blocklist_line = event.e.block_line;
  }
  d.dns_answer = format_address(event.answer_family, event.answer);
  d.dns_name = decode_dns_name(event.name, std::min<size_t>(event.name_len, sizeof event.name));
  return d;
}

std::vector<std::pair<std::string, std::string>> cgroup_attributes(const CgroupLabels& labels) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] :
       {std::pair{"container.id", &labels.container_id}, std::pair{"k8s.pod.uid", &labels.pod_uid},
        std::pair{"k8s.pod.name", &labels.pod},
        std::pair{"k8s.namespace.name", &labels.namespace_name},
        std::pair{"k8s.container.name", &labels.container},
        std::pair{"netobs.systemd.unit", &labels.unit}}) {
    if (!value->empty()) out.emplace_back(key, *value);
  }
  return out;
}

std::string detection_body(const Detection& d) {
  const std::string way = d.inbound ? "inbound connection from" : "outbound connection to";
  switch (d.type) {
    case DetectionType::kBlocklist:
      return "Suspicious " + way + " known bad IP";
    case DetectionType::kSuspiciousPort:
      return "Suspicious " + way + " port " + std::to_string(d.peer_port);
    case DetectionType::kExternal:
      return std::string(d.inbound ? "Inbound connection from" : "Outbound connection to") +
             " external address";
    case DetectionType::kDnsBlocklist:
      return "DNS answer contains known bad IP";
  }
  return "Suspicious connection";
}

std::string format_rfc3339(uint64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1000000000);
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03uZ",
                static_cast<unsigned>((unix_ns / 1000000) % 1000));
  return text;
}

std::string format_detection_json(const Detection& d) {
  std::string out = "{\"timestamp\":";
  append_json_string(out, format_rfc3339(d.unix_ns));
  out += ",\"severity\":";
  append_json_string(out, detection_severity(d.type));
  out += ",\"body\":";
  append_json_string(out, detection_body(d));
  out += ",\"attributes\":{";
  auto text = [&out](std::string_view key, std::string_view value) {
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
    out += ',';
  };
  auto number = [&out](std::string_view key, uint64_t value) {
    append_json_string(out, key);
    out += ':' + std::to_string(value) + ',';
  };
  text("network.event_type",
       d.type == DetectionType::kDnsBlocklist ? "suspicious_dns_answer" : "suspicious_connection");
  text("net.peer.ip", d.peer_ip);
  number("net.peer.port", d.peer_port);
  if (d.pid != 0) {
    number("process.pid", d.pid);
    text("process.executable.path", d.executable);
  }
  if (!d.comm.empty()) text("process.command", d.comm);
  for (const auto& [key, value] : d.attributes) text(key, value);
  text("network.direction", d.inbound ? "inbound" : "outbound");
  if (!d.local_ip.empty()) text("net.host.ip", d.local_ip);
  // An outbound socket gets its port after the SYN_SENT transition.
  if (d.local_port != 0) number("net.host.port", d.local_port);
  text("netobs.detection.type", detection_type_name(d.type));
  std::string matches;
  for (DetectionType m : d.matches) {
    if (!matches.empty()) matches += ',';
    matches += detection_type_name(m);
  }
  text("netobs.detection.matches", matches);
  if (!d.blocklist.empty()) {
    text("netobs.blocklist", d.blocklist + ":" + std::to_string(d.blocklist_line));
  }
  if (!d.dns_name.empty()) text("dns.question.name", d.dns_name);
  if (!d.dns_answer.empty()) {
    out += "\"dns.answers\":[";
    append_json_string(out, d.dns_answer);
    out += "],";
  }
  if (d.cgroup_id != 0) number("netobs.cgroup.id", d.cgroup_id);
  number("netobs.suppressed_count", d.suppressed);
  out.back() = '}';
  out += "}\n";
  return out;
}

DetectionRateLimiter::DetectionRateLimiter(double interval_seconds, size_t max_keys)
    : interval_(interval_seconds), max_keys_(max_keys) {}

std::optional<uint64_t> DetectionRateLimiter::admit(const std::string& key, double now) {
  if (interval_ <= 0) return 0;
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    if (keys_.size() >= max_keys_) {
      std::erase_if(keys_, [&](const auto& kv) {
        return now - kv.second.last_admitted >= interval_ && kv.second.suppressed == 0;
      });
    }
    const std::string& slot = keys_.size() < max_keys_ ? key : std::string("*overflow*");
    it = keys_.find(slot);
    if (it == keys_.end()) {
      keys_.emplace(slot, State{.last_admitted = now, .suppressed = 0});
      return 0;
    }
  }
  State& state = it->second;
  if (now - state.last_admitted < interval_) {
    ++state.suppressed;
    return std::nullopt;
  }
  const uint64_t suppressed = state.suppressed;
  state = State{.last_admitted = now, .suppressed = 0};
  return suppressed;
}

}  // namespace netobs
