// The --web.config.file: TLS, basic auth and security headers in Prometheus
// exporter-toolkit's format, parsed strictly (unknown keys are errors) and
// validated with the error texts exporter-toolkit users know.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exporter/status.h"

namespace netobs::web {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

// Protocol versions as on the wire (OpenSSL's TLS1_x_VERSION values).
inline constexpr int kTls10 = 0x0301;
inline constexpr int kTls11 = 0x0302;
inline constexpr int kTls12 = 0x0303;
inline constexpr int kTls13 = 0x0304;

struct TlsSettings {
  // Paths are absolute or relative to the web config file's directory
  // (resolved by the parser); inline PEM in cert/key/client_ca.
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;
  std::string client_auth_type;  // as written; "" is NoClientCert
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> client_allowed_sans;
  bool client_allowed_sans_set = false;
  int min_version = kTls12;
  int max_version = kTls13;
  std::vector<std::string> cipher_suites;      // Go names, e.g. TLS_AES_128_GCM_SHA256
  std::vector<std::string> curve_preferences;  // CurveP256, CurveP384, CurveP521, X25519
  bool prefer_server_cipher_suites = true;

  // exporter-toolkit's IsEnabled: any TLS field set turns TLS on.
  bool enabled() const;
};

struct WebConfig {
  TlsSettings tls;
  bool http2 = true;  // accepted for compatibility; netobs serves HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string> users;  // user -> bcrypt hash
  double rate_limit_interval_seconds = 0;    // 0: no rate limit
  int rate_limit_burst = 0;
};

// Parses the YAML text; `dir` is the directory relative paths are joined to.
// Checks the structure, the header allow-list and every enumerated value.
Result<WebConfig> parse_web_config(const std::string& text, const std::string& dir);

// exporter-toolkit's bcrypt.Cost check of a configured hash.
Status check_bcrypt_hash(const std::string& hash);

// Reads and parses the file, then validates users and TLS (reads the
// certificate, key and client CA files): what exporter-toolkit checks before
// serving. The message is the problem alone; callers add the file name.
Result<WebConfig> load_web_config(const std::string& path);

// OpenSSL's name of a cipher suite Go calls `go_name`; "" when unknown.
std::string openssl_cipher_name(const std::string& go_name);
// OpenSSL's group name of a curve exporter-toolkit calls `name`; "" when unknown.
std::string openssl_group_name(const std::string& name);

}  // namespace netobs::web
