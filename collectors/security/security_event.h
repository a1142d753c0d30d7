// A security detection and its JSON alert (the shape users' pipelines read:
// timestamp, severity, body, attributes with network.event_type,
// net.peer.ip, net.peer.port, process.pid, process.executable.path and
// Kubernetes attributes when known), plus the per-(type, peer) rate limiter.
// Pure; unit-tested without root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct netobs_sec_event;
struct netobs_sec_dns_event;

namespace netobs {

struct CgroupLabels;

// Detection types, most severe first (a connection matching several is
// reported once, as the first it matches; the rest are listed in
// netobs.detection.matches).
enum class DetectionType { kBlocklist, kSuspiciousPort, kExternal, kDnsBlocklist };
inline constexpr DetectionType kAllDetectionTypes[] = {
    DetectionType::kBlocklist, DetectionType::kSuspiciousPort, DetectionType::kExternal,
    DetectionType::kDnsBlocklist};

std::string_view detection_type_name(DetectionType type);  // "blocklist", ...
std::string_view detection_severity(DetectionType type);   // "WARNING" | "INFO"

struct Detection {
  DetectionType type = DetectionType::kBlocklist;
  uint64_t unix_ns = 0;
  bool inbound = false;
  std::string peer_ip;
  uint16_t peer_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  uint32_t pid = 0;        // 0: unknown
  std::string executable;  // /proc/PID/exe, or the comm when it cannot be read
  std::string comm;
  uint64_t cgroup_id = 0;
  std::vector<DetectionType> matches;
  std::string blocklist;  // file and line of the entry that matched
  uint32_t blocklist_line = 0;
  std::string dns_name;     // the queried name, for DNS answers
  std::string dns_answer;   // the blocklisted address the answer carried
  uint64_t suppressed = 0;  // same (type, peer) events held back since the last one sent
  // Extra attributes from process attribution (k8s.pod.name, container.id...).
  std::vector<std::pair<std::string, std::string>> attributes;
};

// One detection from a kernel event; `blocklist_paths` names the lists.
Detection detection_from_event(const netobs_sec_event& event, uint64_t unix_ns,
                               const std::vector<std::string>& blocklist_paths);

// A blocklisted DNS answer: peer is the server that answered, local the
// client; the question name decoded from its wire form.
Detection detection_from_dns_event(const netobs_sec_dns_event& event, uint64_t unix_ns,
                                   const std::vector<std::string>& blocklist_paths);
// "www.example.com" from wire-format labels (no trailing dot; "." for the
// root); non-printable bytes as \DDD as dig prints them. Stops at a
// compression pointer or the end of the bytes.
std::string decode_dns_name(const uint8_t* wire, size_t size);

// The OpenTelemetry resource attributes of a task's cgroup, as alerts carry
// them: container.id, k8s.pod.uid, k8s.pod.name, k8s.namespace.name,
// k8s.container.name, systemd.unit (netobs.systemd.unit); empty values left out.
std::vector<std::pair<std::string, std::string>> cgroup_attributes(const CgroupLabels& labels);

// "Suspicious outbound connection to known bad IP" and the like.
std::string detection_body(const Detection& detection);
// RFC 3339 UTC with milliseconds: "2024-01-15T10:30:00.123Z".
std::string format_rfc3339(uint64_t unix_ns);
// The alert as one JSON object and a newline.
std::string format_detection_json(const Detection& detection);

// At most one event per key per interval: admit() returns the number of
// events suppressed for the key since its last admitted one, or nullopt
// when this one is suppressed. Remembers at most max_keys keys (expired
// ones are forgotten first; beyond that, new keys share one key). One thread.
class DetectionRateLimiter {
 public:
  DetectionRateLimiter(double interval_seconds, size_t max_keys);
  std::optional<uint64_t> admit(const std::string& key, double now_seconds);

 private:
  struct State {
    double last_admitted = 0;
    uint64_t suppressed = 0;
  };
  double interval_;
  size_t max_keys_;
  std::unordered_map<std::string, State> keys_;
};

}  // namespace netobs
