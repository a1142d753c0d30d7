#include "config/schema.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "config/config_text.h"

namespace netobs::schema {
namespace {

constexpr int kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1

bool is_bool_text(const std::string& s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

}  // namespace

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

SchemaPtr make(Type type) {
  auto node = std::make_shared<SchemaNode>();
  node->type = type;
  return node;
}

SchemaPtr boolean() { return make(Type::kBool); }
SchemaPtr text() { return make(Type::kString); }

SchemaPtr integer(int64_t min, int64_t max, std::string noun) {
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

SchemaPtr list_of(SchemaPtr element, std::string empty_error) {
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

std::string check_netns_path(const Value& v) {
  if (v.text.empty() || v.text[0] == '/') return "";
  return "network_namespace must be an absolute path such as \"/run/netns/NAME\" or "
         "\"/proc/PID/ns/net\" (empty: every namespace)";
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

SchemaPtr port() { return integer(1, 65535, "port"); }
SchemaPtr cidr() { return with_check(text(), check_cidr); }
SchemaPtr interface_glob() { return with_check(text(), check_interface_glob); }

}  // namespace netobs::schema
