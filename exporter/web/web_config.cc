#include "exporter/web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>

#include "exporter/web/file_read.h"
#include "exporter/web/tls_material.h"

namespace netobs::web {
namespace {

// Error texts follow exporter-toolkit (Go's yaml.v2 UnmarshalStrict and its
// own checks), so a message found in its issues or docs matches ours.
std::string line_of(const YAML::Node& node) {
  return "line " + std::to_string(node.Mark().line + 1);
}

Status unmarshal_error(const YAML::Node& node, const std::string& what) {
  return Status::error("yaml: unmarshal errors: " + line_of(node) + ": " + what);
}

std::string yaml_tag(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "!!seq";
    case YAML::NodeType::Map:
      return "!!map";
    case YAML::NodeType::Null:
      return "!!null";
    default:
      return "!!str";
  }
}

std::string shortened(const std::string& value) {
  return value.size() > 20 ? value.substr(0, 20) + "..." : value;
}

Status cannot_unmarshal(const YAML::Node& node, const std::string& into) {
  std::string shown = node.IsScalar() ? " `" + shortened(node.Scalar()) + "`" : "";
  return unmarshal_error(node, "cannot unmarshal " + yaml_tag(node) + shown + " into " + into);
}

// Walks a mapping; unknown and repeated keys are errors.
Status for_each_field(const YAML::Node& map, const std::string& type,
                      const std::set<std::string>& known,
                      const std::function<Status(const std::string&, const YAML::Node&)>& field) {
  if (map.IsNull()) return Status::ok();
  if (!map.IsMap()) return cannot_unmarshal(map, type);
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>("");
    if (!seen.insert(key).second) {
      return unmarshal_error(entry.first, "key \"" + key + "\" already set in map");
    }
    if (known.count(key) == 0) {
      return unmarshal_error(entry.first, "field " + key + " not found in type " + type);
    }
    Status status = field(key, entry.second);
    if (!status.is_ok()) return status;
  }
  return Status::ok();
}

Result<std::string> as_string(const YAML::Node& node) {
  if (node.IsNull()) return std::string();
  if (!node.IsScalar()) return cannot_unmarshal(node, "string");
  return node.Scalar();
}

Result<bool> as_bool(const YAML::Node& node) {
  if (node.IsScalar()) {
    static const std::set<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes",
                                                "YES",  "on",   "On",   "ON"};
    static const std::set<std::string> kFalse = {"false", "False", "FALSE", "no", "No",
                                                 "NO",    "off",   "Off",   "OFF"};
    if (kTrue.count(node.Scalar())) return true;
    if (kFalse.count(node.Scalar())) return false;
  }
  return cannot_unmarshal(node, "bool");
}

Result<std::vector<std::string>> as_strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) return cannot_unmarshal(node, "[]string");
  for (const auto& item : node) {
    Result<std::string> value = as_string(item);
    if (!value) return value.status();
    out.push_back(*value);
  }
  return out;
}

// Go's time.ParseDuration for the forms a config uses ("1s", "1m30s", "250ms", "0").
Result<double> parse_go_duration(const YAML::Node& node) {
  Result<std::string> text = as_string(node);
  if (!text) return text.status();
  const std::string& s = *text;
  if (s == "0") return 0.0;
  double total = 0;
  size_t i = 0;
  if (s.empty()) return cannot_unmarshal(node, "time.Duration");
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return Status::error("time: invalid duration \"" + s + "\"");
    double number = std::strtod(s.substr(start, i - start).c_str(), nullptr);
    size_t unit_start = i;
    // As Go: the unit is everything up to the next number.
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    const std::string unit = s.substr(unit_start, i - unit_start);
    static const std::map<std::string, double> kUnits = {
        {"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
    auto it = kUnits.find(unit);
    if (it == kUnits.end()) {
      return Status::error(unit.empty()
                               ? "time: missing unit in duration \"" + s + "\""
                               : "time: unknown unit \"" + unit + "\" in duration \"" + s + "\"");
    }
    total += number * it->second;
  }
  return total;
}

const std::map<std::string, int>& tls_versions() {
  static const std::map<std::string, int> kVersions = {
      {"TLS10", kTls10}, {"TLS11", kTls11}, {"TLS12", kTls12}, {"TLS13", kTls13}};
  return kVersions;
}

std::string version_name(int version) {
  for (const auto& [name, value] : tls_versions()) {
    if (value == version) return name;
  }
  return "?";
}

Result<int> parse_tls_version(const YAML::Node& node) {
  Result<std::string> text = as_string(node);
  if (!text) return text.status();
  auto it = tls_versions().find(*text);
  if (it == tls_versions().end()) return Status::error("unknown TLS version: " + *text);
  return it->second;
}

// Go's crypto/tls secure suites (tls.CipherSuites()) and OpenSSL's names.
const std::map<std::string, std::string>& cipher_names() {
  static const std::map<std::string, std::string> kNames = {
      {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"},
      {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"},
      {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
  };
  return kNames;
}

// Security headers exporter-toolkit lets users set, and their allowed values
// (empty: any value).
const std::map<std::string, std::vector<std::string>>& allowed_headers() {
  static const std::map<std::string, std::vector<std::string>> kHeaders = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return kHeaders;
}

std::string go_quoted_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? " \"" : "\"") + values[i] + "\"";
  return out + "]";
}

Status validate_header(const std::string& name, const std::string& value) {
  auto it = allowed_headers().find(name);
  if (it == allowed_headers().end()) {
    return Status::error("HTTP header \"" + name + "\" can not be configured");
  }
  const auto& values = it->second;
  if (values.empty() || std::find(values.begin(), values.end(), value) != values.end()) {
    return Status::ok();
  }
  return Status::error("invalid value for " + name + ". Expected one of: " +
                       go_quoted_list(values) + ", but got: \"" + value + "\"");
}

std::string join_dir(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

Status parse_tls(const YAML::Node& node, TlsSettings& tls) {
  const std::set<std::string> known = {"cert",
                                       "key",
                                       "client_ca",
                                       "cert_file",
                                       "key_file",
                                       "client_ca_file",
                                       "client_auth_type",
                                       "cipher_suites",
                                       "curve_preferences",
                                       "min_version",
                                       "max_version",
                                       "prefer_server_cipher_suites",
                                       "client_allowed_sans"};
  return for_each_field(node, "tls_server_config", known,
                        [&](const std::string& key, const YAML::Node& value) -> Status {
                          if (key == "cipher_suites") {
                            Result<std::vector<std::string>> names = as_strings(value);
                            if (!names) return names.status();
                            for (const auto& name : *names) {
                              if (!cipher_names().count(name))
                                return Status::error("unknown cipher: " + name);
                            }
                            tls.cipher_suites = *names;
                            return Status::ok();
                          }
                          if (key == "curve_preferences") {
                            Result<std::vector<std::string>> names = as_strings(value);
                            if (!names) return names.status();
                            for (const auto& name : *names) {
                              if (openssl_group_name(name).empty())
                                return Status::error("unknown curve: " + name);
                            }
                            tls.curve_preferences = *names;
                            return Status::ok();
                          }
                          if (key == "client_allowed_sans") {
                            Result<std::vector<std::string>> sans = as_strings(value);
                            if (!sans) return sans.status();
                            tls.client_allowed_sans = *sans;
                            tls.client_allowed_sans_set = !value.IsNull();
                            return Status::ok();
                          }
                          if (key == "min_version" || key == "max_version") {
                            Result<int> version = parse_tls_version(value);
                            if (!version) return version.status();
                            (key == "min_version" ? tls.min_version : tls.max_version) = *version;
                            return Status::ok();
                          }
                          if (key == "prefer_server_cipher_suites") {
                            Result<bool> prefer = as_bool(value);
                            if (!prefer) return prefer.status();
                            tls.prefer_server_cipher_suites = *prefer;
                            return Status::ok();
                          }
                          Result<std::string> text = as_string(value);
                          if (!text) return text.status();
                          std::map<std::string, std::string*> strings = {
                              {"cert", &tls.cert},
                              {"key", &tls.key},
                              {"client_ca", &tls.client_ca},
                              {"cert_file", &tls.cert_file},
                              {"key_file", &tls.key_file},
                              {"client_ca_file", &tls.client_ca_file},
                              {"client_auth_type", &tls.client_auth_type}};
                          *strings.at(key) = *text;
                          return Status::ok();
                        });
}

Status parse_http(const YAML::Node& node, WebConfig& config) {
  return for_each_field(node, "http_server_config", {"http2", "headers"},
                        [&](const std::string& key, const YAML::Node& value) -> Status {
                          if (key == "http2") {
                            Result<bool> http2 = as_bool(value);
                            if (!http2) return http2.status();
                            config.http2 = *http2;
                            return Status::ok();
                          }
                          if (value.IsNull()) return Status::ok();
                          if (!value.IsMap()) return cannot_unmarshal(value, "map[string]string");
                          for (const auto& header : value) {
                            Result<std::string> text = as_string(header.second);
                            if (!text) return text.status();
                            config.headers.emplace_back(header.first.as<std::string>(""), *text);
                          }
                          return Status::ok();
                        });
}

Status parse_users(const YAML::Node& node, WebConfig& config) {
  if (node.IsNull()) return Status::ok();
  if (!node.IsMap()) return cannot_unmarshal(node, "map[string]config.Secret");
  for (const auto& user : node) {
    const std::string name = user.first.as<std::string>("");
    Result<std::string> hash = as_string(user.second);
    if (!hash) return hash.status();
    if (!config.users.emplace(name, *hash).second) {
      return unmarshal_error(user.first, "key \"" + name + "\" already set in map");
    }
  }
  return Status::ok();
}

Status parse_rate_limit(const YAML::Node& node, WebConfig& config) {
  return for_each_field(
      node, "rate_limit", {"burst", "interval"},
      [&](const std::string& key, const YAML::Node& value) -> Status {
        if (key == "interval") {
          Result<double> seconds = parse_go_duration(value);
          if (!seconds) return seconds.status();
          config.rate_limit_interval_seconds = *seconds;
          return Status::ok();
        }
        int burst = 0;
        if (!value.IsScalar() || !YAML::convert<int>::decode(value, burst) || burst < 0) {
          return cannot_unmarshal(value, "int");
        }
        config.rate_limit_burst = burst;
        return Status::ok();
      });
}

}  // namespace

bool TlsSettings::enabled() const {
  return !cert_file.empty() || !cert.empty() || !key_file.empty() || !key.empty() ||
         !client_ca_file.empty() || !client_ca.empty() || !client_auth_type.empty();
}

std::string openssl_cipher_name(const std::string& go_name) {
  auto it = cipher_names().find(go_name);
  return it == cipher_names().end() ? "" : it->second;
}

std::string openssl_group_name(const std::string& name) {
  static const std::map<std::string, std::string> kGroups = {
      {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};
  auto it = kGroups.find(name);
  return it == kGroups.end() ? "" : it->second;
}

Result<WebConfig> parse_web_config(const std::string& text, const std::string& dir) {
  WebConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::error("yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Status status = Status::ok();
  try {
    status = for_each_field(
        root, "web config",
        {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"},
        [&](const std::string& key, const YAML::Node& value) -> Status {
          if (key == "tls_server_config") return parse_tls(value, config.tls);
          if (key == "http_server_config") return parse_http(value, config);
          if (key == "basic_auth_users") return parse_users(value, config);
          return parse_rate_limit(value, config);
        });
  } catch (const YAML::Exception& e) {
    return Status::error("yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!status.is_ok()) return status;
  for (const auto& [name, value] : config.headers) {
    Status header = validate_header(name, value);
    if (!header.is_ok()) return header;
  }
  config.tls.cert_file = join_dir(dir, config.tls.cert_file);
  config.tls.key_file = join_dir(dir, config.tls.key_file);
  config.tls.client_ca_file = join_dir(dir, config.tls.client_ca_file);
  return config;
}

Status check_bcrypt_hash(const std::string& hash) {
  // golang.org/x/crypto/bcrypt's checks, with its messages.
  constexpr size_t kMinHashSize = 59;
  if (hash.size() < kMinHashSize) {
    return Status::error("crypto/bcrypt: hashedSecret too short to be a bcrypted password");
  }
  if (hash[0] != '$') {
    return Status::error(
        std::string("crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started "
                    "with '") +
        hash[0] + "'");
  }
  if (hash[1] > '2') {
    return Status::error(std::string("crypto/bcrypt: bcrypt algorithm version '") + hash[1] +
                         "' requested is newer than current version '2'");
  }
  size_t cost_at = hash[2] == '$' ? 3 : 4;
  if (cost_at == 4 && hash[3] != '$') {
    return Status::error("crypto/bcrypt: hashedSecret too short to be a bcrypted password");
  }
  if (!std::isdigit(static_cast<unsigned char>(hash[cost_at])) ||
      !std::isdigit(static_cast<unsigned char>(hash[cost_at + 1])) || hash[cost_at + 2] != '$') {
    return Status::error("crypto/bcrypt: hashedSecret too short to be a bcrypted password");
  }
  int cost = (hash[cost_at] - '0') * 10 + (hash[cost_at + 1] - '0');
  if (cost < 4 || cost > 31) {
    return Status::error("crypto/bcrypt: cost " + std::to_string(cost) +
                         " is outside allowed inclusive range 4..31");
  }
  return Status::ok();
}

Result<WebConfig> load_web_config(const std::string& path) {
  constexpr size_t kMaxWebConfigBytes = 1 << 20;
  Result<std::string> text = read_small_file(path, kMaxWebConfigBytes);
  if (!text) return text.status();
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  Result<WebConfig> config = parse_web_config(*text, slash == 0 ? "/" : dir);
  if (!config) return config;
  for (const auto& [user, hash] : config->users) {
    Status status = check_bcrypt_hash(hash);
    if (!status.is_ok()) return status;
  }
  if (config->tls.enabled()) {
    Result<std::shared_ptr<const TlsMaterial>> material = build_tls_material(config->tls);
    if (!material) return material.status();
  }
  if (config->tls.min_version > config->tls.max_version) {
    return Status::error("min_version " + version_name(config->tls.min_version) +
                         " is above max_version " + version_name(config->tls.max_version));
  }
  return config;
}

}  // namespace netobs::web
