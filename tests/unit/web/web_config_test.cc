// The web config file (--web.config.file): exporter-toolkit's good and bad
// cases (web/testdata and TestYAMLFiles/TestServerBehaviour in
// prometheus/exporter-toolkit), each bad one with its exact error text.
#include "exporter/web/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/web/tls_material.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_support.h"

namespace netobs::web {
namespace {

struct Case {
  const char* name;
  std::string yaml;
  std::string error;  // "" = valid; "$DIR" stands for the config's directory
};

class WebConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto made = testing::make_test_certs(dir_->path());
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // Loads `yaml` written next to the certificates; the error or "".
  static std::string load(const std::string& yaml) {
    const std::string path = dir_->write("web.yml", yaml);
    Result<WebConfig> config = load_web_config(path);
    return config ? "" : config.message();
  }
  static std::string expand(std::string text) {
    for (auto at = text.find("$DIR"); at != std::string::npos; at = text.find("$DIR")) {
      text.replace(at, 4, dir_->path());
    }
    return text;
  }
  static testing::TempDir* dir_;
};

testing::TempDir* WebConfigTest::dir_ = nullptr;

const std::string kTls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
// bcrypt("fakepassword"), exporter-toolkit's dummy hash, and users.good's hashes.
const std::string kUsers =
    "basic_auth_users:\n"
    "  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n"
    "  carol: $2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu\n";

TEST_F(WebConfigTest, ExporterToolkitCasesGiveTheirErrors) {
  const std::vector<Case> cases = {
      {"empty config", "", ""},
      {"no TLS, users only", kUsers, ""},
      {"users with TLS", kTls + kUsers, ""},
      {"noAuth.good", kTls + "  client_auth_type: VerifyClientCertIfGiven\n", ""},
      {"junk", "hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n",
       "yaml: unmarshal errors: line 1: cannot unmarshal !!str `hWkNKCp3fvIx3jKnsaBI...` into "
       "web config"},
      {"junk key", "tls_server_config:\n  cert_filse: \"server.crt\"\n",
       "yaml: unmarshal errors: line 2: field cert_filse not found in type tls_server_config"},
      {"unknown top-level key", "tls_config:\n  cert_file: server.crt\n",
       "yaml: unmarshal errors: line 1: field tls_config not found in type web config"},
      {"cert path empty", "tls_server_config:\n  cert_file: \"\"\n  key_file: server.key\n",
       "missing one of cert or cert_file"},
      {"cert empty", "tls_server_config:\n  cert: \"\"\n  key_file: server.key\n",
       "missing one of cert or cert_file"},
      {"key path empty", "tls_server_config:\n  cert_file: server.crt\n  key_file: \"\"\n",
       "missing one of key or key_file"},
      {"key empty", "tls_server_config:\n  cert_file: server.crt\n  key: \"\"\n",
       "missing one of key or key_file"},
      {"cert and key path empty",
       "tls_server_config:\n  cert_file: \"\"\n  key_file: \"\"\n  client_auth_type: \"x\"\n",
       "missing one of cert or cert_file"},
      {"cert path invalid", "tls_server_config:\n  cert_file: somefile\n  key_file: server.key\n",
       "failed to read cert_file ($DIR/somefile): open $DIR/somefile: no such file or directory"},
      {"key path invalid", "tls_server_config:\n  cert_file: server.crt\n  key_file: somefile\n",
       "failed to read key_file ($DIR/somefile): open $DIR/somefile: no such file or directory"},
      {"cert and key path invalid",
       "tls_server_config:\n  cert_file: somefile\n  key_file: somefile\n",
       "failed to read cert_file ($DIR/somefile): open $DIR/somefile: no such file or directory"},
      {"absolute cert path invalid",
       "tls_server_config:\n  cert_file: /nonexistent/x.crt\n  key_file: server.key\n",
       "failed to read cert_file (/nonexistent/x.crt): open /nonexistent/x.crt: no such file or "
       "directory"},
      {"key of another certificate",
       "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
       "failed to load X509KeyPair: tls: private key does not match public key"},
      {"cert file is not PEM",
       "tls_server_config:\n  cert_file: server.ext\n  key_file: server.key\n",
       "failed to load X509KeyPair: tls: failed to find any PEM data in certificate input"},
      {"client CA without policy", kTls + "  client_ca_file: /dev/null\n",
       "client CA's have been configured without a Client Auth Policy"},
      {"client CA file invalid", kTls + "  client_ca_file: somefile\n",
       "open $DIR/somefile: no such file or directory"},
      {"invalid ClientAuth", kTls + "  client_auth_type: x\n", "invalid ClientAuth: x"},
      {"RequireAndVerifyClientCert with CA",
       kTls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n", ""},
      {"RequireAnyClientCert", kTls + "  client_auth_type: RequireAnyClientCert\n", ""},
      {"RequireAndVerifyClientCert without CA (system roots)",
       kTls + "  client_auth_type: RequireAndVerifyClientCert\n", ""},
      {"client SANs",
       kTls + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
              "  client_allowed_sans:\n    - one\n    - client.allowed\n",
       ""},
      {"user list invalid", kTls + "basic_auth_users:\n  john: doe\n",
       "crypto/bcrypt: hashedSecret too short to be a bcrypted password"},
      {"bcrypt cost out of range",
       "basic_auth_users:\n  john: $2y$03$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n",
       "crypto/bcrypt: cost 3 is outside allowed inclusive range 4..31"},
      {"not a bcrypt hash",
       "basic_auth_users:\n  john: x2y$10$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n",
       "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with 'x'"},
      {"all ciphers",
       kTls + "  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
              "  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
              "  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
              "  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
              "  - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
              "  - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
              "  - TLS_AES_128_GCM_SHA256\n  - TLS_AES_256_GCM_SHA384\n"
              "  - TLS_CHACHA20_POLY1305_SHA256\n"
              "  - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\n  - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA\n"
              "  - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n  - TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA\n",
       ""},
      {"invented cipher", kTls + "  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048\n",
       "unknown cipher: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048"},
      {"all curves",
       kTls + "  curve_preferences:\n    - CurveP256\n    - CurveP384\n    - CurveP521\n"
              "    - X25519\n",
       ""},
      {"invented curve", kTls + "  curve_preferences:\n    - CurveP257\n",
       "unknown curve: CurveP257"},
      {"some ciphers, no order",
       kTls + "  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
              "  prefer_server_cipher_suites: false\n  min_version: TLS12\n  max_version: TLS12\n",
       ""},
      {"wrong TLS version", kTls + "  min_version: TLS111\n", "unknown TLS version: TLS111"},
      {"min above max", kTls + "  min_version: TLS13\n  max_version: TLS12\n",
       "min_version TLS13 is above max_version TLS12"},
      {"version as a list", kTls + "  min_version: [TLS12]\n",
       "yaml: unmarshal errors: line 4: cannot unmarshal !!seq into string"},
      {"prefer_server_cipher_suites not a bool", kTls + "  prefer_server_cipher_suites: maybe\n",
       "yaml: unmarshal errors: line 4: cannot unmarshal !!str `maybe` into bool"},
      {"repeated key", kTls + "  cert_file: server.crt\n",
       "yaml: unmarshal errors: line 4: key \"cert_file\" already set in map"},
      {"no HTTP/2", kTls + "http_server_config:\n  http2: false\n", ""},
      {"headers good",
       "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
       "    Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
       "    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n"
       "    Content-Security-Policy: \"default-src 'self' *.test.example.net\"\n",
       ""},
      {"X-Content-Type-Options value",
       "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       "invalid value for X-Content-Type-Options. Expected one of: [\"nosniff\"], but got: "
       "\"sniff\""},
      {"X-Frame-Options value", "http_server_config:\n  headers:\n    X-Frame-Options: foo\n",
       "invalid value for X-Frame-Options. Expected one of: [\"deny\" \"sameorigin\"], but got: "
       "\"foo\""},
      {"header that cannot be set", "http_server_config:\n  headers:\n    Content-Type: foo\n",
       "HTTP header \"Content-Type\" can not be configured"},
      {"unknown http_server_config key", "http_server_config:\n  http3: true\n",
       "yaml: unmarshal errors: line 2: field http3 not found in type http_server_config"},
      {"rate limit", "rate_limit:\n  interval: 1s\n  burst: 2\n", ""},
      {"rate limit bad interval", "rate_limit:\n  interval: 1 fortnight\n",
       "time: unknown unit \" fortnight\" in duration \"1 fortnight\""},
      {"YAML syntax error", "tls_server_config:\n  cert_file: [\n",
       "yaml: line 3: end of sequence flow not found"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(load(c.yaml), expand(c.error));
  }
}

TEST_F(WebConfigTest, MissingFileSaysSoAsGoDoes) {
  Result<WebConfig> config = load_web_config(dir_->path() + "/somefile");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.message(), "open " + dir_->path() + "/somefile: no such file or directory");
  Result<WebConfig> directory = load_web_config(dir_->path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.message(), "read " + dir_->path() + ": is a directory");
}

TEST_F(WebConfigTest, ValuesAndRelativePathsAreResolved) {
  const std::string path = dir_->write(
      "full.yml", kTls +
                      "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                      "  min_version: TLS13\n  curve_preferences: [X25519, CurveP256]\n"
                      "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
                      "TLS_AES_256_GCM_SHA384]\n  client_allowed_sans: [client.allowed]\n" +
                      kUsers + "rate_limit:\n  interval: 1m30s\n  burst: 3\n");
  Result<WebConfig> config = load_web_config(path);
  ASSERT_TRUE(config) << config.message();
  EXPECT_EQ(config->tls.cert_file, dir_->path() + "/server.crt");
  EXPECT_EQ(config->tls.client_ca_file, dir_->path() + "/ca.crt");
  EXPECT_EQ(config->tls.min_version, kTls13);
  EXPECT_EQ(config->tls.max_version, kTls13);
  EXPECT_EQ(config->users.size(), 2u);
  EXPECT_DOUBLE_EQ(config->rate_limit_interval_seconds, 90);
  EXPECT_EQ(config->rate_limit_burst, 3);

  Result<std::shared_ptr<const TlsMaterial>> material = build_tls_material(config->tls);
  ASSERT_TRUE(material) << material.message();
  EXPECT_EQ((*material)->cipher_list, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ((*material)->ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ((*material)->groups, "X25519:P-256");
  EXPECT_TRUE((*material)->verify_chain);
}

TEST(WebConfigNames, GoNamesMapToOpenSsl) {
  EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
            "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(openssl_cipher_name("TLS_RSA_WITH_RC4_128_SHA"), "");
  EXPECT_EQ(openssl_group_name("CurveP521"), "P-521");
  EXPECT_EQ(openssl_group_name("P-521"), "");
}

}  // namespace
}  // namespace netobs::web
