#include "config/config_loader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace netobs {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

std::string ConfigLoadResult::format_errors() const {
  std::string out;
  for (const ConfigError& error : errors) {
    if (!out.empty()) out += "\n";
    out += error.to_string();
  }
  return out;
}

namespace {

constexpr int kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1
constexpr int kMaxCommLength = 15;           // TASK_COMM_LEN - 1
constexpr int64_t kPageSize = 4096;          // libbpf ring buffers are page multiples
constexpr size_t kMaxQuotedLength = 40;      // longer scalars are cut in messages

// ---------------------------------------------------------------------------
// Formatting

std::string format_number(double value) {
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) {
    return std::to_string(static_cast<int64_t>(value));  // 1000000, not 1e+06
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// 3600 -> "1h", 90 -> "90s", 0.25 -> "250ms": the way a user would write it.
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return format_number(seconds) + "s";
  const double millis = seconds * 1000;
  const auto whole = static_cast<int64_t>(std::llround(millis));
  if (std::fabs(millis - static_cast<double>(whole)) > 1e-6) return format_number(seconds) + "s";
  if (whole == 0) return "0s";
  if (whole % 3600000 == 0) return std::to_string(whole / 3600000) + "h";
  if (whole % 60000 == 0) return std::to_string(whole / 60000) + "m";
  if (whole % 1000 == 0) return std::to_string(whole / 1000) + "s";
  return std::to_string(whole) + "ms";
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxQuotedLength) {
      out += "...";
      break;
    }
    out += text[i] == '\n' ? std::string("\\n") : std::string(1, text[i]);
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

std::string position(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// ---------------------------------------------------------------------------
// YAML 1.2 core-schema typing of plain scalars; yaml-cpp leaves it to us.

enum class ScalarKind { kNull, kBool, kInteger, kFloat, kString };

bool is_bool_text(const std::string& s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

bool is_integer_text(const std::string& s) {
  static const std::regex kInteger("[-+]?[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+");
  return std::regex_match(s, kInteger);
}

bool is_float_text(const std::string& s) {
  static const std::regex kFloat(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|"
      "\\.(nan|NaN|NAN)");
  return std::regex_match(s, kFloat);
}

ScalarKind classify(const YAML::Node& node) {
  if (node.IsNull()) return ScalarKind::kNull;
  if (node.Tag() != "?") return ScalarKind::kString;  // quoted or explicitly tagged
  const std::string& text = node.Scalar();
  if (is_bool_text(text)) return ScalarKind::kBool;
  if (is_integer_text(text)) return ScalarKind::kInteger;
  if (is_float_text(text)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

std::optional<int64_t> parse_integer(std::string_view text) {
  int base = 10;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  if (text.starts_with("0x")) base = 16, text.remove_prefix(2);
  if (text.starts_with("0o")) base = 8, text.remove_prefix(2);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

double parse_float(const std::string& text) {
  if (text.find_first_of("iI") != std::string::npos) {  // .inf, before .nan: "inf" has an n
    return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (text.find_first_of("nN") != std::string::npos) return std::nan("");
  return std::strtod(text.c_str(), nullptr);
}

// "250ms", "5s", "1.5m", "1h"; nullopt when it is not of that shape.
std::optional<double> parse_duration_text(const std::string& text) {
  static const std::regex kDuration("([0-9]+(\\.[0-9]+)?)(ms|s|m|h)");
  std::smatch match;
  if (!std::regex_match(text, match, kDuration)) return std::nullopt;
  const double number = std::strtod(match[1].str().c_str(), nullptr);
  const std::string unit = match[3].str();
  if (unit == "ms") return number / 1000;
  if (unit == "m") return number * 60;
  if (unit == "h") return number * 3600;
  return number;
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  switch (classify(node)) {
    case ScalarKind::kNull:
      return "an empty value";
    case ScalarKind::kBool:
      return "the bool " + node.Scalar();
    case ScalarKind::kInteger:
      return "the integer " + node.Scalar();
    case ScalarKind::kFloat:
      return "the number " + node.Scalar();
    case ScalarKind::kString:
      break;
  }
  return "the string " + quote(node.Scalar());
}

// Optimal string alignment distance (Levenshtein plus transpositions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// ---------------------------------------------------------------------------
// Schema

enum class Type { kBool, kInteger, kNumber, kString, kDuration, kList, kMap };

// A checked value, in the shape its schema node asks for.
struct Value {
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;  // numbers, durations (in seconds) and integers
  std::string text;   // the scalar as written
  std::vector<Value> items;
  YAML::Mark mark;
};

using Check = std::function<std::string(const Value&)>;  // "" when the value is fine
using Bind = std::function<void(Config&, const Value&)>;

struct SchemaNode;
using SchemaPtr = std::shared_ptr<SchemaNode>;
using Fields = std::vector<std::pair<std::string, SchemaPtr>>;

// One node of the declarative schema: a map of named fields, a list of one
// element kind, or a typed scalar with range, validators and a binder.
struct SchemaNode {
  Type type = Type::kString;
  Fields fields;                                   // kMap, in canonical order
  SchemaPtr element;                               // kList
  bool unique = true;                              // kList: duplicates are an error
  std::string empty_error;                         // kList: set when an empty list is an error
  std::optional<std::pair<double, double>> range;  // kInteger, kNumber, kDuration
  std::string noun = "value";                      // names the value in range errors
  std::vector<std::string> allowed;                // kString: an enum when non-empty
  std::vector<Check> checks;
  std::string target;  // canonical key path of the field it lands in (conflicts)
  Bind bind;
  std::string ignored_feature;  // accepted and type-checked, but not implemented
};

SchemaPtr make(Type type) {
  auto node = std::make_shared<SchemaNode>();
  node->type = type;
  return node;
}

SchemaPtr boolean() { return make(Type::kBool); }
SchemaPtr text() { return make(Type::kString); }

SchemaPtr integer(int64_t min, int64_t max, std::string noun = "value") {
  SchemaPtr node = make(Type::kInteger);
  node->range = {static_cast<double>(min), static_cast<double>(max)};
  node->noun = std::move(noun);
  return node;
}

SchemaPtr number(double min, double max) {
  SchemaPtr node = make(Type::kNumber);
  node->range = {min, max};
  return node;
}

SchemaPtr duration(double min_seconds, double max_seconds) {
  SchemaPtr node = make(Type::kDuration);
  node->range = {min_seconds, max_seconds};
  node->noun = "duration";
  return node;
}

SchemaPtr one_of(std::vector<std::string> allowed) {
  SchemaPtr node = text();
  node->allowed = std::move(allowed);
  return node;
}

SchemaPtr list_of(SchemaPtr element, std::string empty_error = "") {
  SchemaPtr node = make(Type::kList);
  node->element = std::move(element);
  node->empty_error = std::move(empty_error);
  return node;
}

SchemaPtr section(Fields fields) {
  SchemaPtr node = make(Type::kMap);
  node->fields = std::move(fields);
  return node;
}

SchemaPtr with_check(SchemaPtr node, Check check) {
  node->checks.push_back(std::move(check));
  return node;
}

SchemaPtr ignored(SchemaPtr node, std::string feature) {
  node->ignored_feature = std::move(feature);
  return node;
}

void assign(bool& out, const Value& v) { out = v.boolean; }
void assign(int& out, const Value& v) { out = static_cast<int>(v.integer); }
void assign(uint16_t& out, const Value& v) { out = static_cast<uint16_t>(v.integer); }
void assign(uint32_t& out, const Value& v) { out = static_cast<uint32_t>(v.integer); }
void assign(uint64_t& out, const Value& v) { out = static_cast<uint64_t>(v.integer); }
void assign(double& out, const Value& v) { out = v.number; }
void assign(std::string& out, const Value& v) { out = v.text; }

template <typename T>
void assign(std::vector<T>& out, const Value& v) {
  out.clear();
  for (const Value& item : v.items) assign(out.emplace_back(), item);
}

// `field` maps a Config to the member the value lands in (see NETOBS_FIELD).
template <typename Field>
SchemaPtr bind_to(SchemaPtr node, Field field) {
  node->bind = [field](Config& config, const Value& v) { assign(field(config), v); };
  return node;
}

// clang-format off
#define NETOBS_FIELD(member) [](Config& c) -> auto& { return c.member; }
// clang-format on

// Canonical text of a value: compares values set in two places and lists.
std::string repr(const SchemaNode& schema, const Value& v) {
  switch (schema.type) {
    case Type::kBool:
      return v.boolean ? "true" : "false";
    case Type::kInteger:
      return std::to_string(v.integer);
    case Type::kNumber:
      return format_number(v.number);
    case Type::kDuration:
      return format_duration(v.number);
    case Type::kString:
      return quote(v.text);
    case Type::kList: {
      std::vector<std::string> items;
      for (const Value& item : v.items) items.push_back(repr(*schema.element, item));
      return "[" + join(items, ", ") + "]";
    }
    case Type::kMap:
      break;
  }
  return "";
}

// ---------------------------------------------------------------------------
// Validators: each returns "" or a message naming the problem and the fix.

std::string check_listen_address(const Value& v) {
  const std::string& address = v.text;
  const std::string bad = "invalid listen address " + quote(address) + ": ";
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return bad + "use host:port, :port or [ipv6]:port (e.g. \":9723\")";
  }
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  const std::optional<int64_t> port_number = is_integer_text(port) && port[0] != '-' &&
                                                     port[0] != '+' && !port.starts_with("0x") &&
                                                     !port.starts_with("0o")
                                                 ? parse_integer(port)
                                                 : std::nullopt;
  if (!port_number || *port_number < 1 || *port_number > 65535) {
    return bad + "port must be a number 1..65535";
  }
  if (host.empty()) return "";
  if (host.front() == '[') {
    in6_addr addr6{};
    const std::string inner =
        host.size() >= 2 && host.back() == ']' ? host.substr(1, host.size() - 2) : std::string();
    if (inner.empty() || inet_pton(AF_INET6, inner.c_str(), &addr6) != 1) {
      return bad + quote(host) + " is not a bracketed IPv6 address such as [::1]";
    }
    return "";
  }
  if (host.find(':') != std::string::npos) {
    return bad + "put IPv6 addresses in brackets, e.g. \"[::1]:9723\"";
  }
  const bool hostname_chars = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
  if (!hostname_chars) {
    return bad + quote(host) + " is not a valid host name or IPv4 address";
  }
  return "";
}

std::string check_telemetry_path(const Value& v) {
  const std::string& path = v.text;
  if (path.empty() || path[0] != '/') {
    return "telemetry path " + quote(path) + " must start with \"/\", e.g. \"/metrics\"";
  }
  if (path == "/")
    return "telemetry path must not be \"/\" (the landing page); use e.g. \"/metrics\"";
  if (path == "/healthz") {
    return "telemetry path must not be \"/healthz\" (the health check); use e.g. \"/metrics\"";
  }
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '?'; })) {
    return "telemetry path " + quote(path) + " must not contain whitespace or '?'";
  }
  return "";
}

std::string check_procfs(const Value& v) {
  if (v.text.empty() || v.text[0] != '/') {
    return "procfs must be an absolute path, e.g. \"/proc\"";
  }
  return "";
}

// IPv4 or IPv6 network with an explicit prefix length and no host bits set.
std::string check_cidr(const Value& v) {
  const std::string& cidr = v.text;
  const std::string bad = "invalid CIDR " + quote(cidr) + ": ";
  const size_t slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  unsigned char bytes[16] = {};
  int family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), bytes) != 1) {
    family = AF_INET6;
    if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) {
      return bad + quote(address) + " is not an IPv4 or IPv6 address";
    }
  }
  const int max_prefix = family == AF_INET ? 32 : 128;
  if (slash == std::string::npos) {
    return bad + "missing the prefix length; write " +
           quote(cidr + "/" + std::to_string(max_prefix)) + " for a single address";
  }
  const std::string prefix_text = cidr.substr(slash + 1);
  const bool digits = !prefix_text.empty() && prefix_text.size() <= 3 &&
                      std::all_of(prefix_text.begin(), prefix_text.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  const int prefix = digits ? std::stoi(prefix_text) : -1;
  if (prefix < 0 || prefix > max_prefix) {
    return bad + (family == AF_INET ? "IPv4" : "IPv6") + " prefix length must be 0.." +
           std::to_string(max_prefix);
  }
  bool host_bits = false;
  for (int bit = prefix; bit < max_prefix; ++bit) {
    unsigned char& byte = bytes[bit / 8];
    const auto mask = static_cast<unsigned char>(0x80 >> (bit % 8));
    if (byte & mask) host_bits = true;
    byte = static_cast<unsigned char>(byte & ~mask);
  }
  if (host_bits) {
    char network[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes, network, sizeof(network));
    return bad + "host bits are set; did you mean " +
           quote(std::string(network) + "/" + prefix_text) + "?";
  }
  return "";
}

// An interface name or fnmatch(3) glob that can match a Linux interface name.
std::string check_interface_glob(const Value& v) {
  const std::string& glob = v.text;
  if (glob.empty()) return "interface name must not be empty";
  if (glob == "." || glob == "..") return quote(glob) + " is not a valid interface name";
  for (char c : glob) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      return "invalid interface name " + quote(glob) +
             ": whitespace is not allowed in interface names";
    }
    if (c == '/' || c == ':') {
      return "invalid interface name " + quote(glob) + ": '" + std::string(1, c) +
             "' is not allowed in interface names";
    }
  }
  // The shortest name the glob can match: '*' adds nothing, '?' and [...] one.
  int min_length = 0;
  bool is_glob = false;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '*' || glob[i] == '?') {
      is_glob = true;
      min_length += glob[i] == '?' ? 1 : 0;
      continue;
    }
    if (glob[i] == '[') {
      size_t j = i + 1;
      if (j < glob.size() && (glob[j] == '!' || glob[j] == '^')) ++j;
      if (j < glob.size() && glob[j] == ']') ++j;  // a leading ']' is a member
      j = glob.find(']', j);
      if (j == std::string::npos) {
        return "invalid interface glob " + quote(glob) + ": '[' has no matching ']'";
      }
      is_glob = true;
      ++min_length;
      i = j;
      continue;
    }
    ++min_length;
  }
  if (min_length > kMaxInterfaceNameLength) {
    if (!is_glob) {
      return "interface name " + quote(glob) + " is " + std::to_string(glob.size()) +
             " characters; Linux interface names are at most 15 (IFNAMSIZ-1)";
    }
    return "interface glob " + quote(glob) + " can never match: it needs at least " +
           std::to_string(min_length) +
           " characters and Linux interface names are at most 15 (IFNAMSIZ-1)";
  }
  return "";
}

std::string check_counter_name(const Value& v) {
  static const std::regex kCounter("[A-Za-z0-9]+\\.[A-Za-z0-9_]+");
  if (std::regex_match(v.text, kCounter)) return "";
  return "invalid counter name " + quote(v.text) +
         ": use \"Group.Field\" as in /proc/net/snmp or /proc/net/netstat, e.g. "
         "\"Tcp.RetransSegs\"";
}

std::string check_comm(const Value& v) {
  if (v.text.empty()) return "process name (comm) must not be empty";
  if (v.text.size() > kMaxCommLength) {
    return "process name " + quote(v.text) + " is " + std::to_string(v.text.size()) +
           " characters; the kernel keeps at most 15 (TASK_COMM_LEN-1)";
  }
  return "";
}

// The socket collector keeps a per-CPU stats row per process name (~2 KiB
// each, times the CPU count), preallocated: more than 1024 costs too much.
std::string check_socket_max_processes(const Value& v) {
  if (v.integer <= 1024) return "";
  return "max_processes " + std::to_string(v.integer) +
         " is too large: the socket collector preallocates about 2 KiB per process name and "
         "CPU; use at most 1024, or per_process: false";
}

// libbpf's BPF_MAP_TYPE_RINGBUF needs a power of two that is a page multiple.
std::string check_ring_buffer_size(const Value& v) {
  const auto size = static_cast<uint64_t>(v.integer);
  if ((size & (size - 1)) == 0 && size % kPageSize == 0) return "";
  uint64_t lower = kPageSize;
  while (lower * 2 <= size) lower *= 2;
  return "ring_buffer_size " + std::to_string(size) +
         " is not a power of two; the BPF ring buffer needs a power of two that is a multiple "
         "of the 4096-byte page size, e.g. " +
         std::to_string(lower) + " or " + std::to_string(lower * 2);
}

SchemaPtr port() { return integer(1, 65535, "port"); }
SchemaPtr cidr() { return with_check(text(), check_cidr); }
SchemaPtr interface_glob() { return with_check(text(), check_interface_glob); }

// tcp collector: "PORT=NAME" entries of port_names and "NAME=CIDR" entries of
// remote_cidr_groups. Names become label values: keep them short and plain.
std::string check_tcp_label_name(const std::string& name, const std::string& entry) {
  const bool plain =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
      });
  if (plain) return "";
  return "invalid name in " + quote(entry) +
         ": use 1..64 letters, digits, '_', '-' or '.' (it becomes a label value)";
}

std::string check_tcp_port_name(const Value& v) {
  const size_t eq = v.text.find('=');
  const std::string port_text = v.text.substr(0, eq);
  const bool digits =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (eq == std::string::npos || !digits || std::stoi(port_text) < 1 ||
      std::stoi(port_text) > 65535) {
    return "invalid port name " + quote(v.text) + ": write \"PORT=NAME\", e.g. \"5432=postgres\"";
  }
  return check_tcp_label_name(v.text.substr(eq + 1), v.text);
}

std::string check_tcp_cidr_group(const Value& v) {
  const size_t eq = v.text.find('=');
  if (eq == std::string::npos) {
    return "invalid CIDR group " + quote(v.text) +
           ": write \"NAME=CIDR\", e.g. \"office=10.1.0.0/16\" (repeat a name for more networks)";
  }
  if (std::string message = check_tcp_label_name(v.text.substr(0, eq), v.text); !message.empty()) {
    return message;
  }
  Value cidr_value = v;
  cidr_value.text = v.text.substr(eq + 1);
  return check_cidr(cidr_value);
}

std::string check_netns_path(const Value& v) {
  if (v.text.empty() || v.text[0] == '/') return "";
  return "network_namespace must be an absolute path such as \"/run/netns/NAME\" or "
         "\"/proc/PID/ns/net\" (empty: every namespace)";
}

// ---------------------------------------------------------------------------
// The schema of netobs.yaml, plus the seed-003 `agent:` layout aliased onto it.

constexpr char kHttpTracing[] = "HTTP/gRPC tracing";
constexpr char kSecurityDetection[] = "security detection";

template <typename Common>
Fields collector_fields(Common common, Fields specific) {
  Fields fields = {
      {"enabled", bind_to(boolean(), [common](Config& c) -> bool& { return common(c).enabled; })},
      {"required", bind_to(boolean(), [common](Config& c) -> bool& { return common(c).required; })},
  };
  fields.insert(fields.end(), specific.begin(), specific.end());
  return fields;
}

// Every bound node learns the canonical key path it was declared under; an
// alias that reuses the node then lands in (and conflicts on) the same field.
void assign_targets(SchemaNode& node, const std::string& path) {
  for (auto& [name, field] : node.fields) {
    const std::string path_here = child_path(path, name);
    if (field->type == Type::kMap) {
      assign_targets(*field, path_here);
    } else if (field->target.empty()) {
      field->target = path_here;
    }
  }
}

SchemaPtr build_schema() {
  SchemaPtr exporter = section({
      {"listen_address",
       bind_to(with_check(text(), check_listen_address), NETOBS_FIELD(exporter.listen_address))},
      {"telemetry_path",
       bind_to(with_check(text(), check_telemetry_path), NETOBS_FIELD(exporter.telemetry_path))},
      {"max_requests", bind_to(integer(1, 1000), NETOBS_FIELD(exporter.max_requests))},
      {"log_level",
       bind_to(one_of({"debug", "info", "warn", "error"}), NETOBS_FIELD(exporter.log_level))},
      {"procfs", bind_to(with_check(text(), check_procfs), NETOBS_FIELD(exporter.procfs))},
      {"bpf_stats", bind_to(boolean(), NETOBS_FIELD(exporter.bpf_stats))},
      {"scrape_timeout",
       bind_to(duration(0.1, 600), NETOBS_FIELD(exporter.scrape_timeout_seconds))},
  });

  SchemaPtr include_ports = bind_to(list_of(port()), NETOBS_FIELD(network.include_ports));
  SchemaPtr exclude_ports = bind_to(list_of(port()), NETOBS_FIELD(network.exclude_ports));
  SchemaPtr interfaces = bind_to(list_of(interface_glob()), NETOBS_FIELD(network.interfaces));
  SchemaPtr exclude_interfaces =
      bind_to(list_of(interface_glob()), NETOBS_FIELD(network.exclude_interfaces));
  SchemaPtr network = section({
      {"include_ports", include_ports},
      {"exclude_ports", exclude_ports},
      {"interfaces", interfaces},
      {"exclude_interfaces", exclude_interfaces},
      {"include_cidrs", bind_to(list_of(cidr()), NETOBS_FIELD(network.include_cidrs))},
      {"exclude_cidrs", bind_to(list_of(cidr()), NETOBS_FIELD(network.exclude_cidrs))},
  });

  SchemaPtr ring_buffer_size =
      bind_to(with_check(integer(kPageSize, int64_t{1} << 30), check_ring_buffer_size),
              NETOBS_FIELD(events.ring_buffer_size));
  SchemaPtr events = section({
      {"format", bind_to(one_of({"csv", "json"}), NETOBS_FIELD(events.format))},
      {"output_dir", bind_to(text(), NETOBS_FIELD(events.output_dir))},
      {"ring_buffer_size", ring_buffer_size},
      {"sample_rate", bind_to(integer(1, 1000000), NETOBS_FIELD(events.sample_rate))},
      {"rotate_bytes", bind_to(integer(0, int64_t{1} << 40), NETOBS_FIELD(events.rotate_bytes))},
  });

  SchemaPtr thresholds = section({
      {"retrans_ratio_warning",
       bind_to(number(0, 1), NETOBS_FIELD(snmp.thresholds.retrans_ratio_warning))},
      {"retrans_ratio_critical",
       bind_to(number(0, 1), NETOBS_FIELD(snmp.thresholds.retrans_ratio_critical))},
      {"tlp_share_warning", bind_to(number(0, 1), NETOBS_FIELD(snmp.thresholds.tlp_share_warning))},
      {"tlp_share_critical",
       bind_to(number(0, 1), NETOBS_FIELD(snmp.thresholds.tlp_share_critical))},
      {"listen_drops_per_second_warning",
       bind_to(number(0, 1e9), NETOBS_FIELD(snmp.thresholds.listen_drops_per_second_warning))},
      {"listen_drops_per_second_critical",
       bind_to(number(0, 1e9), NETOBS_FIELD(snmp.thresholds.listen_drops_per_second_critical))},
  });
  SchemaPtr snmp = section(collector_fields(
      [](Config& c) -> CollectorCommon& { return c.snmp.common; },
      {
          {"sample_interval",
           bind_to(duration(0.1, 3600), NETOBS_FIELD(snmp.sample_interval_seconds))},
          {"windows", bind_to(list_of(duration(1, 86400)), NETOBS_FIELD(snmp.windows_seconds))},
          {"rate_counters", bind_to(list_of(with_check(text(), check_counter_name)),
                                    NETOBS_FIELD(snmp.rate_counters))},
          {"thresholds", thresholds},
      }));

  SchemaPtr socket = section(collector_fields(
      [](Config& c) -> CollectorCommon& { return c.socket.common; },
      {
          {"protocols",
           bind_to(list_of(one_of({"tcp", "udp"}), "list at least one protocol: tcp, udp"),
                   NETOBS_FIELD(socket.protocols))},
          {"pids", bind_to(list_of(integer(1, 4194304, "pid")), NETOBS_FIELD(socket.pids))},
          {"comms", bind_to(list_of(with_check(text(), check_comm)), NETOBS_FIELD(socket.comms))},
          {"per_process", bind_to(boolean(), NETOBS_FIELD(socket.per_process))},
          {"max_processes", bind_to(with_check(integer(1, 65536), check_socket_max_processes),
                                    NETOBS_FIELD(socket.max_processes))},
          {"syscall_details", bind_to(boolean(), NETOBS_FIELD(socket.syscall_details))},
      }));

  SchemaPtr tcp = section(collector_fields(
      [](Config& c) -> CollectorCommon& { return c.tcp.common; },
      {
          {"rtt", bind_to(boolean(), NETOBS_FIELD(tcp.rtt))},
          {"retransmits", bind_to(boolean(), NETOBS_FIELD(tcp.retransmits))},
          {"connection_tracking", bind_to(boolean(), NETOBS_FIELD(tcp.connection_tracking))},
          {"sample_rate", bind_to(integer(1, 1000000), NETOBS_FIELD(tcp.sample_rate))},
          {"group_by", bind_to(one_of({"none", "local_port", "remote_port", "remote_cidr"}),
                               NETOBS_FIELD(tcp.group_by))},
          {"max_groups", bind_to(integer(1, 4096, "max_groups"), NETOBS_FIELD(tcp.max_groups))},
          {"port_names",
           bind_to(list_of(with_check(text(), check_tcp_port_name)), NETOBS_FIELD(tcp.port_names))},
          {"remote_cidr_groups", bind_to(list_of(with_check(text(), check_tcp_cidr_group)),
                                         NETOBS_FIELD(tcp.remote_cidr_groups))},
          {"network_namespace",
           bind_to(with_check(text(), check_netns_path), NETOBS_FIELD(tcp.network_namespace))},
          {"max_tracked_connections", bind_to(integer(1024, 4194304, "max_tracked_connections"),
                                              NETOBS_FIELD(tcp.max_tracked_connections))},
      }));

  SchemaPtr dns = section(collector_fields(
      [](Config& c) -> CollectorCommon& { return c.dns.common; },
      {
          {"capture_queries", bind_to(boolean(), NETOBS_FIELD(dns.capture_queries))},
          {"capture_responses", bind_to(boolean(), NETOBS_FIELD(dns.capture_responses))},
          {"capture_content", bind_to(boolean(), NETOBS_FIELD(dns.capture_content))},
          {"ports", bind_to(list_of(port(), "list at least one port (DNS uses 53)"),
                            NETOBS_FIELD(dns.ports))},
          {"timeout", bind_to(duration(0.001, 300), NETOBS_FIELD(dns.timeout_seconds))},
          {"max_outstanding_queries", bind_to(integer(64, 1 << 22, "max_outstanding_queries"),
                                              NETOBS_FIELD(dns.max_outstanding_queries))},
          {"server_labels", bind_to(boolean(), NETOBS_FIELD(dns.server_labels))},
          {"max_servers", bind_to(integer(1, 4096, "max_servers"), NETOBS_FIELD(dns.max_servers))},
          {"top_domains", bind_to(integer(0, 10000, "top_domains"), NETOBS_FIELD(dns.top_domains))},
          {"domain_sample_rate", bind_to(integer(1, 1000000, "domain_sample_rate"),
                                         NETOBS_FIELD(dns.domain_sample_rate))},
      }));

  // Seed 003: sample_rate 0 and 1 both mean every packet; store 1.
  SchemaPtr xdp_sample_rate = integer(0, 1000000);
  xdp_sample_rate->bind = [](Config& c, const Value& v) {
    c.xdp.sample_rate = v.integer == 0 ? 1 : static_cast<uint32_t>(v.integer);
  };
  SchemaPtr xdp = section(collector_fields(
      [](Config& c) -> CollectorCommon& { return c.xdp.common; },
      {
          {"sample_rate", xdp_sample_rate},
          {"interfaces", bind_to(list_of(interface_glob()), NETOBS_FIELD(xdp.interfaces))},
          {"mode", bind_to(one_of({"auto", "native", "generic", "tc"}), NETOBS_FIELD(xdp.mode))},
          {"filters", section({
                          {"ports", bind_to(list_of(port()), NETOBS_FIELD(xdp.filter_ports))},
                          {"protocols", bind_to(list_of(one_of({"tcp", "udp", "icmp", "icmpv6"})),
                                                NETOBS_FIELD(xdp.filter_protocols))},
                      })},
          {"top_talkers", bind_to(integer(0, 1000, "top_talkers"), NETOBS_FIELD(xdp.top_talkers))},
      }));

  SchemaPtr root = section({
      {"exporter", exporter},
      {"network", network},
      {"events", events},
      {"collectors",
       section({{"snmp", snmp}, {"socket", socket}, {"tcp", tcp}, {"dns", dns}, {"xdp", xdp}})},
  });
  assign_targets(*root, "");

  // Seed 003's `agent:` layout reuses the canonical nodes (same targets), and
  // accepts the keys of features netobs does not implement, type-checked.
  SchemaPtr agent_network = section({
      {"dns", dns},
      {"tcp", tcp},
      {"xdp", xdp},
      {"interfaces", interfaces},
      {"exclude_interfaces", exclude_interfaces},
      {"include_ports", include_ports},
      {"ring_buffer_size", ring_buffer_size},
      {"http", section({
                   {"max_body_capture",
                    ignored(integer(0, int64_t{1} << 40, "max_body_capture"), kHttpTracing)},
                   {"max_headers", ignored(integer(0, 1000000, "max_headers"), kHttpTracing)},
               })},
      {"security", section({
                       {"enabled", ignored(boolean(), kSecurityDetection)},
                       {"suspicious_ports", ignored(list_of(port()), kSecurityDetection)},
                       {"external_connection_alerts", ignored(boolean(), kSecurityDetection)},
                       {"blocklists", ignored(list_of(text()), kSecurityDetection)},
                   })},
  });
  SchemaPtr ebpf_network = section({
      {"enabled", ignored(boolean(), kHttpTracing)},
      {"http", ignored(boolean(), kHttpTracing)},
      {"grpc", ignored(boolean(), kHttpTracing)},
      {"exclude_paths", ignored(list_of(text()), kHttpTracing)},
      {"capture_headers", ignored(list_of(text()), kHttpTracing)},
      {"include_ports", include_ports},
      {"exclude_ports", exclude_ports},
  });
  root->fields.emplace_back("agent", section({{"network", agent_network},
                                              {"ebpf", section({{"network", ebpf_network}})}}));
  return root;
}

#undef NETOBS_FIELD

const SchemaNode& schema() {
  static const SchemaPtr kSchema = build_schema();
  return *kSchema;
}

// ---------------------------------------------------------------------------
// The walk

// Walks one YAML document against the schema, binding every good value into
// result.config and recording every problem in result.errors.
class Walker {
 public:
  Walker(std::string file, ConfigLoadResult& result) : file_(std::move(file)), result_(result) {}

  void walk_section(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                    const YAML::Mark& where);
  void check_cross_fields();

 private:
  // Where a canonical field was set, to report conflicts and cross-field errors.
  struct Origin {
    std::string path;
    YAML::Mark mark;
    std::string repr;
    std::vector<YAML::Mark> item_marks;
    std::vector<std::string> item_reprs;
  };

  void error(const YAML::Mark& mark, const std::string& path, std::string message);
  void walk_leaf(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                 const YAML::Mark& where);
  std::optional<Value> read_list(const SchemaNode& schema, const YAML::Node& node,
                                 const std::string& path, const YAML::Mark& where);
  std::optional<Value> read_scalar(const SchemaNode& schema, const YAML::Node& node,
                                   const std::string& path, const YAML::Mark& where);
  void type_error(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                  const YAML::Mark& where);
  bool check_range(const SchemaNode& schema, const Value& v, const std::string& path);
  std::string unknown_key_message(const SchemaNode& schema, const std::string& key) const;
  const Origin* origin(const std::string& target) const;
  void check_windows();
  void check_thresholds(const std::string& name, double warning, double critical);
  void check_disjoint(const std::string& include_target, const std::string& exclude_target,
                      const std::string& what);
  void check_tcp_grouping();
  void check_dns_ports();
  void check_xdp_ports();

  std::string file_;
  ConfigLoadResult& result_;
  std::map<std::string, Origin> origins_;  // by canonical target
  std::set<std::string> failed_targets_;   // set with a bad value: skip cross checks
};

void Walker::error(const YAML::Mark& mark, const std::string& path, std::string message) {
  ConfigError& e = result_.errors.emplace_back();
  e.file = file_;
  if (!mark.is_null()) {
    e.line = mark.line + 1;
    e.column = mark.column + 1;
  }
  e.key_path = path;
  e.message = std::move(message);
}

void Walker::walk_section(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                          const YAML::Mark& where) {
  if (node.IsNull()) return;  // an empty section keeps its defaults
  if (!node.IsMap()) {
    type_error(schema, node, path, where);
    return;
  }
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    if (!key.IsScalar()) {
      error(key.Mark(), path, "keys must be names, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string path_here = child_path(path, name);
    // yaml-cpp accepts repeated keys silently; the later one would win unseen.
    if (auto [it, inserted] = seen.emplace(name, key.Mark()); !inserted) {
      error(key.Mark(), path_here,
            "duplicate key (first set at " + position(it->second) + "); remove one of them");
      continue;
    }
    auto field = std::find_if(schema.fields.begin(), schema.fields.end(),
                              [&](const auto& f) { return f.first == name; });
    if (field == schema.fields.end()) {
      error(key.Mark(), path_here, unknown_key_message(schema, name));
      continue;
    }
    // An empty value's mark points past the key, often at the next line.
    const YAML::Mark value_mark =
        value.IsNull() && (value.Mark().is_null() || value.Mark().line != key.Mark().line)
            ? key.Mark()
            : value.Mark();
    const SchemaNode& child = *field->second;
    if (child.type == Type::kMap) {
      walk_section(child, value, path_here, value_mark);
    } else {
      walk_leaf(child, value, path_here, value_mark);
    }
  }
}

void Walker::walk_leaf(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                       const YAML::Mark& where) {
  std::optional<Value> value = schema.type == Type::kList ? read_list(schema, node, path, where)
                                                          : read_scalar(schema, node, path, where);
  if (!value) {
    failed_targets_.insert(schema.target);
    return;
  }
  if (!schema.ignored_feature.empty()) {
    result_.config.ignored_keys.push_back(path);
    result_.warnings.push_back(path + ": " + schema.ignored_feature +
                               " is not implemented by netobs; key ignored");
    return;
  }
  Origin here{path, value->mark, repr(schema, *value), {}, {}};
  for (const Value& item : value->items) {
    here.item_marks.push_back(item.mark);
    here.item_reprs.push_back(repr(*schema.element, item));
  }
  auto [it, inserted] = origins_.emplace(schema.target, here);
  if (!inserted) {
    const Origin& first = it->second;
    if (first.repr != here.repr) {
      error(value->mark, path,
            "conflicts with " + first.path + " at " + position(first.mark) + " (" + here.repr +
                " here, " + first.repr + " there); set " + schema.target + " in one place only");
    }
    return;
  }
  schema.bind(result_.config, *value);
}

std::optional<Value> Walker::read_list(const SchemaNode& schema, const YAML::Node& node,
                                       const std::string& path, const YAML::Mark& where) {
  Value list;
  list.mark = where;
  if (!node.IsNull()) {  // an empty value is an empty list (all items commented out)
    if (!node.IsSequence()) {
      type_error(schema, node, path, where);
      return std::nullopt;
    }
    bool ok = true;
    std::map<std::string, YAML::Mark> seen;
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      std::optional<Value> value = read_scalar(*schema.element, item, item_path, item.Mark());
      if (!value) {
        ok = false;
        continue;
      }
      const std::string item_repr = repr(*schema.element, *value);
      if (auto [it, inserted] = seen.emplace(item_repr, value->mark); !inserted && schema.unique) {
        error(value->mark, item_path,
              "duplicate entry " + item_repr + " (already listed at " + position(it->second) +
                  "); remove one");
        ok = false;
        continue;
      }
      list.items.push_back(std::move(*value));
    }
    if (!ok) return std::nullopt;
  }
  if (list.items.empty() && !schema.empty_error.empty()) {
    error(where, path, "list must not be empty; " + schema.empty_error);
    return std::nullopt;
  }
  return list;
}

std::optional<Value> Walker::read_scalar(const SchemaNode& schema, const YAML::Node& node,
                                         const std::string& path, const YAML::Mark& where) {
  if (!node.IsScalar()) {
    type_error(schema, node, path, where);
    return std::nullopt;
  }
  const ScalarKind kind = classify(node);
  Value v;
  v.mark = where;
  v.text = node.Scalar();
  switch (schema.type) {
    case Type::kBool:
      if (kind != ScalarKind::kBool) {
        type_error(schema, node, path, where);
        return std::nullopt;
      }
      v.boolean = v.text[0] == 't' || v.text[0] == 'T';
      break;
    case Type::kInteger: {
      if (kind != ScalarKind::kInteger) {
        type_error(schema, node, path, where);
        return std::nullopt;
      }
      const std::optional<int64_t> parsed = parse_integer(v.text);
      if (!parsed) {
        error(where, path,
              schema.noun + " " + v.text + " is out of range; allowed range is " +
                  format_number(schema.range->first) + ".." + format_number(schema.range->second));
        return std::nullopt;
      }
      v.integer = *parsed;
      v.number = static_cast<double>(*parsed);
      if (!check_range(schema, v, path)) return std::nullopt;
      break;
    }
    case Type::kNumber:
      if (kind != ScalarKind::kInteger && kind != ScalarKind::kFloat) {
        type_error(schema, node, path, where);
        return std::nullopt;
      }
      v.number = kind == ScalarKind::kInteger
                     ? static_cast<double>(parse_integer(v.text).value_or(0))
                     : parse_float(v.text);
      if (!check_range(schema, v, path)) return std::nullopt;
      break;
    case Type::kDuration: {
      std::optional<double> seconds;
      if (kind == ScalarKind::kInteger || kind == ScalarKind::kFloat) {
        seconds = kind == ScalarKind::kInteger
                      ? static_cast<double>(parse_integer(v.text).value_or(-1))
                      : parse_float(v.text);
      } else if (kind == ScalarKind::kString) {
        seconds = parse_duration_text(v.text);
      }
      if (!seconds) {
        error(where, path,
              "invalid duration " + quote(v.text) +
                  "; use a number with a unit ms, s, m or h (e.g. \"250ms\", \"5s\", \"1m\") or a "
                  "plain number of seconds");
        return std::nullopt;
      }
      if (!(*seconds > 0)) {
        error(where, path, "duration must be greater than 0, got " + v.text);
        return std::nullopt;
      }
      v.number = *seconds;
      if (!check_range(schema, v, path)) return std::nullopt;
      break;
    }
    case Type::kString:
      if (!schema.allowed.empty() &&
          std::find(schema.allowed.begin(), schema.allowed.end(), v.text) == schema.allowed.end()) {
        error(where, path,
              "unknown value " + quote(v.text) + "; allowed values: " + join(schema.allowed, ", "));
        return std::nullopt;
      }
      break;
    case Type::kList:
    case Type::kMap:
      type_error(schema, node, path, where);
      return std::nullopt;
  }
  for (const Check& check : schema.checks) {
    if (std::string message = check(v); !message.empty()) {
      error(where, path, std::move(message));
      return std::nullopt;
    }
  }
  return v;
}

bool Walker::check_range(const SchemaNode& schema, const Value& v, const std::string& path) {
  if (!schema.range) return true;
  const auto [min, max] = *schema.range;
  if (v.number >= min && v.number <= max) return true;
  const bool is_duration = schema.type == Type::kDuration;
  const auto show = [&](double x) { return is_duration ? format_duration(x) : format_number(x); };
  const std::string shown = schema.type == Type::kInteger ? std::to_string(v.integer)
                            : std::isfinite(v.number)     ? show(v.number)
                                                          : v.text;
  error(v.mark, path,
        schema.noun + " " + shown + " is out of range; allowed range is " + show(min) + ".." +
            show(max));
  return false;
}

void Walker::type_error(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                        const YAML::Mark& where) {
  std::string expected;
  std::string hint;
  const ScalarKind kind = node.IsScalar() || node.IsNull() ? classify(node) : ScalarKind::kString;
  switch (schema.type) {
    case Type::kBool:
      expected = "a bool (true or false)";
      break;
    case Type::kInteger:
    case Type::kNumber:
      expected = schema.type == Type::kInteger ? "an integer" : "a number";
      if (node.IsScalar() && kind == ScalarKind::kString &&
          (is_integer_text(node.Scalar()) || is_float_text(node.Scalar()))) {
        hint = "; remove the quotes";
      }
      break;
    case Type::kString:
      expected = "a string";
      break;
    case Type::kDuration:
      expected = "a duration (e.g. \"5s\", \"250ms\" or a number of seconds)";
      break;
    case Type::kList:
      expected = "a list";
      if (node.IsScalar()) hint = "; write [a, b] or one \"- item\" per line";
      break;
    case Type::kMap: {
      expected = "a map";
      const bool has_enabled = std::any_of(schema.fields.begin(), schema.fields.end(),
                                           [](const auto& f) { return f.first == "enabled"; });
      if (has_enabled && kind == ScalarKind::kBool && node.IsScalar()) {
        const std::string name = path.substr(path.rfind('.') + 1);
        hint = "; write \"" + name + ": {enabled: " + node.Scalar() + "}\"";
      }
      break;
    }
  }
  error(where, path, "expected " + expected + ", got " + describe(node) + hint);
}

std::string Walker::unknown_key_message(const SchemaNode& schema, const std::string& key) const {
  const std::string wanted = lowercase(key);
  const size_t limit = wanted.size() < 5 ? 1 : 2;
  std::string best;
  size_t best_distance = limit + 1;
  std::vector<std::string> names;
  for (const auto& [name, field] : schema.fields) {
    names.push_back(name);
    const size_t distance = edit_distance(wanted, lowercase(name));
    if (distance < best_distance) {
      best_distance = distance;
      best = name;
    }
  }
  if (!best.empty()) return "unknown key " + quote(key) + "; did you mean " + quote(best) + "?";
  return "unknown key " + quote(key) + "; allowed keys: " + join(names, ", ");
}

const Walker::Origin* Walker::origin(const std::string& target) const {
  auto it = origins_.find(target);
  return it == origins_.end() ? nullptr : &it->second;
}

void Walker::check_cross_fields() {
  check_windows();
  const SnmpThresholds& t = result_.config.snmp.thresholds;
  check_thresholds("retrans_ratio", t.retrans_ratio_warning, t.retrans_ratio_critical);
  check_thresholds("tlp_share", t.tlp_share_warning, t.tlp_share_critical);
  check_thresholds("listen_drops_per_second", t.listen_drops_per_second_warning,
                   t.listen_drops_per_second_critical);
  check_disjoint("network.include_ports", "network.exclude_ports", "port");
  check_disjoint("network.interfaces", "network.exclude_interfaces", "interface");
  check_disjoint("network.include_cidrs", "network.exclude_cidrs", "CIDR");
  check_tcp_grouping();
  check_dns_ports();
  check_xdp_ports();
}

// The dns BPF filter compares ports against a fixed array of 8.
void Walker::check_dns_ports() {
  const Origin* ports = origin("collectors.dns.ports");
  if (!ports || result_.config.dns.ports.size() <= 8) return;
  error(ports->mark, ports->path,
        "at most 8 DNS ports (got " + std::to_string(result_.config.dns.ports.size()) +
            "); drop some");
}

// The xdp BPF program keeps one counter slot per filters.ports entry, 64 in all.
void Walker::check_xdp_ports() {
  const Origin* ports = origin("collectors.xdp.filters.ports");
  if (!ports || result_.config.xdp.filter_ports.size() <= 64) return;
  error(ports->mark, ports->path,
        "at most 64 ports (got " + std::to_string(result_.config.xdp.filter_ports.size()) +
            "); each gets its own counters in the XDP program: drop some");
}

// tcp grouping: one name per port, remote_cidr needs groups, and the groups
// (plus "unmatched") must fit under max_groups and the 256-entry LPM map.
void Walker::check_tcp_grouping() {
  const TcpConfig& tcp = result_.config.tcp;
  if (const Origin* names = origin("collectors.tcp.port_names")) {
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < tcp.port_names.size() && i < names->item_marks.size(); ++i) {
      const std::string port = tcp.port_names[i].substr(0, tcp.port_names[i].find('='));
      if (auto [it, inserted] = seen.emplace(port, i); !inserted) {
        error(names->item_marks[i], names->path + "[" + std::to_string(i) + "]",
              "port " + port + " is already named at " + position(names->item_marks[it->second]) +
                  "; give each port one name");
      }
    }
  }
  const Origin* groups = origin("collectors.tcp.remote_cidr_groups");
  std::set<std::string> group_names;
  for (const std::string& entry : tcp.remote_cidr_groups) {
    group_names.insert(entry.substr(0, entry.find('=')));
  }
  if (groups && tcp.remote_cidr_groups.size() > 256) {
    error(groups->mark, groups->path,
          "at most 256 networks (got " + std::to_string(tcp.remote_cidr_groups.size()) + ")");
  }
  if (groups && group_names.size() + 1 > tcp.max_groups) {
    error(groups->mark, groups->path,
          std::to_string(group_names.size()) +
              " group names plus \"unmatched\" exceed max_groups " +
              std::to_string(tcp.max_groups) + "; raise collectors.tcp.max_groups");
  }
  if (tcp.group_by == "remote_cidr" && tcp.remote_cidr_groups.empty() &&
      failed_targets_.count("collectors.tcp.remote_cidr_groups") == 0) {
    const Origin* group_by = origin("collectors.tcp.group_by");
    error(group_by ? group_by->mark : YAML::Mark::null_mark(),
          group_by ? group_by->path : "collectors.tcp.group_by",
          "group_by remote_cidr needs collectors.tcp.remote_cidr_groups, e.g. "
          "[\"office=10.1.0.0/16\"]");
  }
}

// Windowed rates are sums of whole samples, so each window must hold a whole
// number of sample intervals.
void Walker::check_windows() {
  const SnmpConfig& snmp = result_.config.snmp;
  const Origin* windows = origin("collectors.snmp.windows");
  const Origin* interval = origin("collectors.snmp.sample_interval");
  if (!windows && !interval) return;
  if (failed_targets_.contains("collectors.snmp.windows") ||
      failed_targets_.contains("collectors.snmp.sample_interval")) {
    return;
  }
  const int64_t interval_ms = std::llround(snmp.sample_interval_seconds * 1000);
  const std::string interval_text = format_duration(snmp.sample_interval_seconds);
  for (size_t i = 0; i < snmp.windows_seconds.size(); ++i) {
    const int64_t window_ms = std::llround(snmp.windows_seconds[i] * 1000);
    const std::string window_text = format_duration(snmp.windows_seconds[i]);
    std::string problem;
    if (window_ms < interval_ms) {
      problem = "window " + window_text + " is shorter than sample_interval " + interval_text +
                "; each window must be at least one sample_interval";
    } else if (window_ms % interval_ms != 0) {
      const int64_t below = window_ms / interval_ms * interval_ms;
      problem = "window " + window_text + " is not a multiple of sample_interval " + interval_text +
                "; use e.g. " + format_duration(static_cast<double>(below) / 1000) + " or " +
                format_duration(static_cast<double>(below + interval_ms) / 1000);
    }
    if (problem.empty()) continue;
    if (windows) {
      error(windows->item_marks[i], windows->path + "[" + std::to_string(i) + "]", problem);
    } else {
      // Default windows: one error at sample_interval is enough.
      error(interval->mark, interval->path,
            problem + " (the default windows are 1m, 5m, 15m; set windows to match)");
      return;
    }
  }
}

void Walker::check_thresholds(const std::string& name, double warning, double critical) {
  if (warning <= critical) return;
  const std::string prefix = "collectors.snmp.thresholds." + name;
  if (failed_targets_.contains(prefix + "_warning") ||
      failed_targets_.contains(prefix + "_critical")) {
    return;
  }
  const Origin* where = origin(prefix + "_warning");
  if (!where) where = origin(prefix + "_critical");
  if (!where) return;
  error(where->mark, where->path,
        name + "_warning " + format_number(warning) + " is greater than " + name + "_critical " +
            format_number(critical) + "; the warning threshold must be <= the critical one");
}

void Walker::check_disjoint(const std::string& include_target, const std::string& exclude_target,
                            const std::string& what) {
  const Origin* include = origin(include_target);
  const Origin* exclude = origin(exclude_target);
  if (!include || !exclude) return;
  for (size_t i = 0; i < exclude->item_reprs.size(); ++i) {
    const std::string& item = exclude->item_reprs[i];
    if (std::find(include->item_reprs.begin(), include->item_reprs.end(), item) ==
        include->item_reprs.end()) {
      continue;
    }
    error(exclude->item_marks[i], exclude->path + "[" + std::to_string(i) + "]",
          what + " " + item + " is both included (" + include->path +
              ") and excluded; remove it "
              "from one of the lists");
  }
}

}  // namespace

ConfigLoadResult load_config_string(std::string_view yaml, std::string_view source_name) {
  ConfigLoadResult result;
  result.config.source = std::string(source_name);
  Walker walker(std::string(source_name), result);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigError& error = result.errors.emplace_back();
    error.file = std::string(source_name);
    if (!e.mark.is_null()) {
      error.line = e.mark.line + 1;
      error.column = e.mark.column + 1;
    }
    error.message = "YAML syntax error: " + e.msg;
    return result;
  }
  if (root.IsNull()) return result;  // an empty file means all defaults
  if (!root.IsMap()) {
    ConfigError& error = result.errors.emplace_back();
    error.file = std::string(source_name);
    error.line = root.Mark().line + 1;
    error.column = root.Mark().column + 1;
    error.message =
        "the top level must be a map of sections (exporter, network, events, collectors), got " +
        describe(root);
    return result;
  }
  walker.walk_section(schema(), root, "", root.Mark());
  walker.check_cross_fields();
  return result;
}

ConfigLoadResult load_config_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  std::string text;
  int read_errno = 0;
  if (file == nullptr) {
    read_errno = errno;
  } else {
    char buffer[65536];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
    if (std::ferror(file)) read_errno = errno != 0 ? errno : EIO;
    std::fclose(file);
  }
  if (read_errno != 0) {
    ConfigLoadResult result;
    result.config.source = path;
    ConfigError& error = result.errors.emplace_back();
    error.file = path;
    error.message = std::string("cannot read config file: ") + std::strerror(read_errno);
    return result;
  }
  return load_config_string(text, path);
}

ConfigLoadResult load_default_config() {
  return load_config_string(default_config_yaml(), "<built-in>");
}

}  // namespace netobs
