#include "config/config_loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "config/config_text.h"
#include "config/schema.h"

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
  if (more_errors > 0) out += "\n" + more_errors_line();
  return out;
}

std::string ConfigLoadResult::more_errors_line() const {
  if (more_errors == 0) return "";
  return "and " + std::to_string(more_errors) + " more error" + (more_errors == 1 ? "" : "s") +
         " (fix the ones above first)";
}

namespace {

using namespace schema;

constexpr int64_t kPageSize = 4096;  // libbpf ring buffers are page multiples
constexpr char kHttpTracing[] = "HTTP/gRPC tracing";

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

std::string check_kubelet_url(const Value& v) {
  if (v.text.empty() || v.text.rfind("http://", 0) == 0 || v.text.rfind("https://", 0) == 0) {
    return "";
  }
  return "kubelet_url " + quote(v.text) +
         " must be an https:// or http:// URL, e.g. the kubelet's https://<node>:10250/pods "
         "(with kubelet_token_file and kubelet_ca_file) or its read-only port "
         "http://127.0.0.1:10255/pods";
}

std::string check_procfs(const Value& v) {
  if (v.text.empty() || v.text[0] != '/') {
    return "procfs must be an absolute path, e.g. \"/proc\"";
  }
  return "";
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

// A collector's section: `enabled` and `required`, then its own fields.
SchemaPtr collector_section(const CollectorConfigSection& collector) {
  const std::string name = collector.name;
  auto common = [name](Config& c) -> CollectorCommon& { return *c.collector_common(name); };
  Fields fields = {
      {"enabled", bind_to(boolean(), [common](Config& c) -> bool& { return common(c).enabled; })},
      {"required", bind_to(boolean(), [common](Config& c) -> bool& { return common(c).required; })},
  };
  fields.insert(fields.end(), collector.fields.begin(), collector.fields.end());
  return section(std::move(fields));
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

SchemaPtr& find_field(SchemaNode& node, const std::string& name) {
  for (auto& [field_name, field] : node.fields) {
    if (field_name == name) return field;
  }
  return node.fields.emplace_back(name, section({})).second;
}

// Makes `path` (e.g. "agent.network.dns") lead to `node`, creating the maps
// on the way.
void place_alias(SchemaNode& root, const std::string& path, const SchemaPtr& node) {
  SchemaNode* parent = &root;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    parent = find_field(*parent, path.substr(start, dot - start)).get();
    start = dot + 1;
  }
  find_field(*parent, path.substr(start)) = node;
}

// The sections every config has (exporter, network, events), the collectors'
// sections under `collectors:`, and the `agent:` layout aliased onto them.
SchemaPtr build_schema(const CollectorConfigSections& collector_sections) {
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

  Fields collectors;
  for (const CollectorConfigSection& collector : collector_sections) {
    collectors.emplace_back(collector.name, collector_section(collector));
  }

  SchemaPtr attribution = section({
      {"label_idle_time",
       bind_to(duration(0, 30 * 86400), NETOBS_FIELD(attribution.label_idle_seconds))},
      {"gone_after",
       bind_to(duration(0, 30 * 86400), NETOBS_FIELD(attribution.gone_after_seconds))},
      {"cgroup_root", bind_to(text(), NETOBS_FIELD(attribution.cgroup_root))},
      {"kubelet_url",
       bind_to(with_check(text(), check_kubelet_url), NETOBS_FIELD(attribution.kubelet_url))},
      {"kubelet_token_file", bind_to(text(), NETOBS_FIELD(attribution.kubelet_token_file))},
      {"kubelet_ca_file", bind_to(text(), NETOBS_FIELD(attribution.kubelet_ca_file))},
      {"kubelet_insecure_skip_verify",
       bind_to(boolean(), NETOBS_FIELD(attribution.kubelet_insecure_skip_verify))},
      {"pods_file", bind_to(text(), NETOBS_FIELD(attribution.pods_file))},
      {"metadata_refresh",
       bind_to(duration(1, 86400), NETOBS_FIELD(attribution.metadata_refresh_seconds))},
  });

  SchemaPtr root = section({
      {"exporter", exporter},
      {"network", network},
      {"events", events},
      {"collectors", section(std::move(collectors))},
      {"attribution", attribution},
  });
  assign_targets(*root, "");

  // The `agent:` layout reuses the canonical nodes (same targets), and
  // accepts the keys of features netobs does not implement, type-checked.
  SchemaPtr agent_network = section({
      {"interfaces", interfaces},
      {"exclude_interfaces", exclude_interfaces},
      {"include_ports", include_ports},
      {"ring_buffer_size", ring_buffer_size},
      {"http", section({
                   {"max_body_capture",
                    ignored(integer(0, int64_t{1} << 40, "max_body_capture"), kHttpTracing)},
                   {"max_headers", ignored(integer(0, 1000000, "max_headers"), kHttpTracing)},
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
  const SchemaPtr& collectors_node = root->fields[3].second;
  for (const CollectorConfigSection& collector : collector_sections) {
    const SchemaPtr& node = find_field(*collectors_node, collector.name);
    for (const std::string& alias : collector.aliases) place_alias(*root, alias, node);
  }
  return root;
}

// Walks one YAML document against the schema, binding every good value into
// result.config and recording every problem in result.errors.
class Walker : public ConfigChecker {
 public:
  Walker(std::string file, ConfigLoadResult& result) : file_(std::move(file)), result_(result) {}

  void walk_section(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
                    const YAML::Mark& where);
  void check_cross_fields(const CollectorConfigSections& sections);

  // ConfigChecker
  const Config& config() const override { return result_.config; }
  const FieldOrigin* origin(const std::string& target) const override;
  bool failed(const std::string& target) const override { return failed_targets_.contains(target); }
  void error(const YAML::Mark& mark, const std::string& path, std::string message) override;

 private:
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
  void check_disjoint(const std::string& include_target, const std::string& exclude_target,
                      const std::string& what);

  std::string file_;
  ConfigLoadResult& result_;
  std::map<std::string, FieldOrigin> origins_;  // by canonical target
  std::set<std::string> failed_targets_;        // set with a bad value: skip cross checks
};

void Walker::error(const YAML::Mark& mark, const std::string& path, std::string message) {
  if (result_.errors.size() >= kMaxConfigErrors) {
    ++result_.more_errors;
    return;
  }
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
  FieldOrigin here{path, value->mark, repr(schema, *value), {}, {}};
  for (const Value& item : value->items) {
    here.item_marks.push_back(item.mark);
    here.item_reprs.push_back(repr(*schema.element, item));
  }
  auto [it, inserted] = origins_.emplace(schema.target, here);
  if (!inserted) {
    const FieldOrigin& first = it->second;
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

const FieldOrigin* Walker::origin(const std::string& target) const {
  auto it = origins_.find(target);
  return it == origins_.end() ? nullptr : &it->second;
}

void Walker::check_cross_fields(const CollectorConfigSections& sections) {
  check_disjoint("network.include_ports", "network.exclude_ports", "port");
  check_disjoint("network.interfaces", "network.exclude_interfaces", "interface");
  check_disjoint("network.include_cidrs", "network.exclude_cidrs", "CIDR");
  for (const CollectorConfigSection& section : sections) {
    if (section.check) section.check(*this);
  }
}

void Walker::check_disjoint(const std::string& include_target, const std::string& exclude_target,
                            const std::string& what) {
  const FieldOrigin* include = origin(include_target);
  const FieldOrigin* exclude = origin(exclude_target);
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

Config default_config(const CollectorConfigSections& sections) {
  Config config;
  for (const CollectorConfigSection& section : sections) {
    config.collectors.put(section.name, section.make_default());
  }
  return config;
}

namespace {

ConfigLoadResult load_config_text(std::string_view yaml, std::string_view source_name,
                                  const CollectorConfigSections& sections, bool empty_is_error) {
  ConfigLoadResult result;
  result.config = default_config(sections);
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
  if (root.IsNull() && empty_is_error) {
    ConfigError& error = result.errors.emplace_back();
    error.file = std::string(source_name);
    error.message =
        "the config file is empty (no settings); write the settings you want, or run without "
        "--config.file to use the defaults";
    return result;
  }
  if (root.IsNull()) return result;  // an empty text means all defaults
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
  const SchemaPtr schema = build_schema(sections);
  walker.walk_section(*schema, root, "", root.Mark());
  walker.check_cross_fields(sections);
  return result;
}

ConfigLoadResult file_error(const std::string& path, const std::string& message) {
  ConfigLoadResult result;
  result.config.source = path;
  ConfigError& error = result.errors.emplace_back();
  error.file = path;
  error.message = message;
  return result;
}

}  // namespace

ConfigLoadResult load_config_string(std::string_view yaml, std::string_view source_name,
                                    const CollectorConfigSections& sections) {
  return load_config_text(yaml, source_name, sections, /*empty_is_error=*/false);
}

ConfigLoadResult load_config_file(const std::string& path,
                                  const CollectorConfigSections& sections) {
  // Non-blocking: a FIFO given as the config must not hang the start.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return file_error(path, std::string("cannot read config file: ") + std::strerror(errno));
  }
  struct stat st {};
  std::string text;
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot read config file: ") + std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    problem = std::string("cannot read config file: ") + std::strerror(EISDIR);
  } else if (!S_ISREG(st.st_mode)) {
    problem =
        "cannot read config file: not a regular file (a FIFO, socket or device); "
        "point --config.file at a YAML file";
  } else if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) {
    problem = "the config file is " + std::to_string(st.st_size) + " bytes, above the limit of " +
              std::to_string(kMaxConfigFileBytes) +
              " bytes; a netobs config is a few KiB: check the path";
  } else {
    // Read at most one byte past the cap: a file growing meanwhile is refused too.
    text.resize(kMaxConfigFileBytes + 1);
    size_t size = 0;
    while (size < text.size()) {
      const ssize_t n = ::read(fd, text.data() + size, text.size() - size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        problem = std::string("cannot read config file: ") + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      size += static_cast<size_t>(n);
    }
    text.resize(size);
    if (problem.empty() && size > kMaxConfigFileBytes) {
      problem = "the config file is above the limit of " + std::to_string(kMaxConfigFileBytes) +
                " bytes; a netobs config is a few KiB: check the path";
    }
  }
  ::close(fd);
  if (!problem.empty()) return file_error(path, problem);
  return load_config_text(text, path, sections, /*empty_is_error=*/true);
}

ConfigLoadResult load_default_config(const CollectorConfigSections& sections) {
  return load_config_string(default_config_yaml(), "<built-in>", sections);
}

}  // namespace netobs