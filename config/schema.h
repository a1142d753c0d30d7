// The schema language of netobs.yaml: typed nodes (bool, integer, number,
// string, duration, list, map) with ranges, enums, validators and a binder
// that stores a checked value in the Config. config/config_loader.cc walks a
// YAML document against it; each collector declares its own section with it
// in collectors/<name>/<name>_config.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"

namespace netobs::schema {

// ---------------------------------------------------------------------------
// YAML 1.2 core-schema typing of plain scalars; yaml-cpp leaves it to us.

enum class ScalarKind { kNull, kBool, kInteger, kFloat, kString };

ScalarKind classify(const YAML::Node& node);
bool is_integer_text(const std::string& s);
bool is_float_text(const std::string& s);
// Decimal, 0x hex or 0o octal; nullopt when it does not fit an int64.
std::optional<int64_t> parse_integer(std::string_view text);
double parse_float(const std::string& text);
// "250ms", "5s", "1.5m", "1h" in seconds; nullopt when it is not of that shape.
std::optional<double> parse_duration_text(const std::string& text);
// "the integer 5", "a list", "the string \"x\"": for "expected X, got Y".
std::string describe(const YAML::Node& node);

// ---------------------------------------------------------------------------
// Schema nodes

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

SchemaPtr make(Type type);
SchemaPtr boolean();
SchemaPtr text();
SchemaPtr integer(int64_t min, int64_t max, std::string noun = "value");
SchemaPtr number(double min, double max);
SchemaPtr duration(double min_seconds, double max_seconds);
SchemaPtr one_of(std::vector<std::string> allowed);
SchemaPtr list_of(SchemaPtr element, std::string empty_error = "");
SchemaPtr section(Fields fields);
SchemaPtr with_check(SchemaPtr node, Check check);
// Accepted and type-checked, reported once as not implemented by netobs.
SchemaPtr ignored(SchemaPtr node, std::string feature);

void assign(bool& out, const Value& v);
void assign(int& out, const Value& v);
void assign(uint16_t& out, const Value& v);
void assign(uint32_t& out, const Value& v);
void assign(uint64_t& out, const Value& v);
void assign(double& out, const Value& v);
void assign(std::string& out, const Value& v);

template <typename T>
void assign(std::vector<T>& out, const Value& v) {
  out.clear();
  for (const Value& item : v.items) assign(out.emplace_back(), item);
}

// `field` maps a Config to the member the value lands in (see NETOBS_FIELD).
template <typename Field>
SchemaPtr bind_to(SchemaPtr node, Field field) {
  node->bind = [field](Config& c, const Value& v) { assign(field(c), v); };
  return node;
}

// clang-format off
// A member of the global sections: NETOBS_FIELD(exporter.listen_address).
#define NETOBS_FIELD(member) [](::netobs::Config& c) -> auto& { return c.member; }
// A member of a collector's settings: NETOBS_COLLECTOR_FIELD(DnsConfig, ports).
#define NETOBS_COLLECTOR_FIELD(Settings, member) \
  [](::netobs::Config& c) -> auto& { return c.collector<Settings>().member; }
// clang-format on

// Canonical text of a value: compares values set in two places and lists.
std::string repr(const SchemaNode& schema, const Value& v);

// ---------------------------------------------------------------------------
// Validators shared by several sections: each returns "" or a message naming
// the problem and the fix.

// IPv4 or IPv6 network with an explicit prefix length and no host bits set.
std::string check_cidr(const Value& v);
// An interface name or fnmatch(3) glob that can match a Linux interface name.
std::string check_interface_glob(const Value& v);
// A network namespace path ("/run/netns/NAME", "/proc/PID/ns/net") or "" (every namespace).
std::string check_netns_path(const Value& v);

SchemaPtr port();
SchemaPtr cidr();
SchemaPtr interface_glob();

}  // namespace netobs::schema
