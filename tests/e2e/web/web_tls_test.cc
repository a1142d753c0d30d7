// --web.config.file live: TLS (versions, client certificates, SAN checks,
// certificate rotation on disk), basic auth, re-reads, and a real Prometheus
// scraping over TLS with basic auth. Clients are curl and openssl s_client;
// certificates are made by the openssl CLI per test suite.
#include <arpa/inet.h>
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/support/test_certs.h"
#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string bcrypt_hash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  crypt_gensalt_rn("$2y$", 4, nullptr, 0, salt, sizeof salt);
  crypt_data data{};
  return crypt_rn(password.c_str(), salt, &data, sizeof data);
}

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

struct CurlResult {
  int exit_code = -1;
  int status = 0;  // 0: no HTTP answer
  std::string output;
};

class WebTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new testing::TempDir();
    auto made = testing::make_test_certs(certs_->path());
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    // Each test gets its own copies: the rotation test overwrites them.
    for (const auto& entry : std::filesystem::directory_iterator(certs_->path())) {
      std::filesystem::copy(entry.path(), dir_.path() + "/" + entry.path().filename().string());
    }
  }
  void TearDown() override { stop(); }

  void start(const std::string& web_yaml) {
    stop();
    port_ = testing::free_tcp_port();
    web_config_ = dir_.write("web.yml", web_yaml);
    exporter_ = std::make_unique<testing::Subprocess>(std::vector<std::string>{
        testing::exporter_binary(), "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--web.config.file=" + web_config_, "--collector.disable-defaults", "--collector.snmp"});
    for (int i = 0; i < 200 && !port_open(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(port_open(port_)) << exporter_->output();
  }
  void stop() {
    if (!exporter_) return;
    exporter_->signal(SIGTERM);
    EXPECT_EQ(exporter_->wait(20), 0) << exporter_->output();
    exporter_.reset();
  }
  std::string file(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string url(const std::string& path) const {
    return "https://localhost:" + std::to_string(port_) + path;
  }

  // curl with our CA; `args` add credentials or client certificates.
  CurlResult curl(const std::string& path, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {
        "curl",       "-sS",
        "-D",         "-",
        "--max-time", "10",
        "--cacert",   file("ca.crt"),
        "--resolve",  "localhost:" + std::to_string(port_) + ":127.0.0.1"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url(path));
    testing::CommandResult run = testing::run_command(argv, 20);
    CurlResult out{run.exit_code, 0, run.output};
    auto at = run.output.find("HTTP/1.1 ");
    if (at != std::string::npos) out.status = std::atoi(run.output.c_str() + at + 9);
    return out;
  }
  testing::CommandResult s_client(const std::string& args) {
    return testing::run_command(
        {"bash", "-c",
         "openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
             " -servername localhost -CAfile " + file("ca.crt") + " " + args + " </dev/null"},
        20);
  }

  static testing::TempDir* certs_;
  testing::TempDir dir_;
  int port_ = 0;
  std::string web_config_;
  std::unique_ptr<testing::Subprocess> exporter_;
};

testing::TempDir* WebTlsTest::certs_ = nullptr;

std::string tls_section(const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
}

TEST_F(WebTlsTest, BasicAuthOverTls) {
  start(tls_section("  min_version: TLS12\n") +
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "basic_auth_users:\n  alice: " +
        bcrypt_hash("wonderland") + "\n  bob: " + bcrypt_hash("builder") + "\n");

  CurlResult ok = curl("/metrics", {"-u", "alice:wonderland"});
  EXPECT_EQ(ok.status, 200) << ok.output << exporter_->output();
  EXPECT_THAT(ok.output, HasSubstr("netobs_build_info{"));
  EXPECT_THAT(ok.output, HasSubstr("X-Frame-Options: deny\r\n"));
  EXPECT_EQ(curl("/healthz", {"-u", "bob:builder"}).status, 200);

  for (const auto& [what, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"wrong password", {"-u", "alice:builder"}},
           {"unknown user", {"-u", "mallory:wonderland"}},
           {"empty password", {"-u", "alice:"}},
           {"no credentials", {}}}) {
    for (const char* path : {"/metrics", "/healthz", "/"}) {
      CurlResult denied = curl(path, args);
      EXPECT_EQ(denied.status, 401) << what << " " << path << "\n" << denied.output;
      EXPECT_THAT(denied.output, HasSubstr("WWW-Authenticate: Basic\r\n")) << what << " " << path;
      EXPECT_THAT(denied.output, Not(HasSubstr("netobs_build_info"))) << what;
      EXPECT_THAT(denied.output, HasSubstr("X-Frame-Options: deny\r\n")) << what;
    }
  }

  // Plain HTTP on the TLS port gets no metrics.
  auto plain = testing::run_command({"curl", "-sS", "--max-time", "5", "-u", "alice:wonderland",
                                     "http://127.0.0.1:" + std::to_string(port_) + "/metrics"},
                                    20);
  EXPECT_THAT(plain.output, Not(HasSubstr("netobs_build_info")));
}

TEST_F(WebTlsTest, MinVersionDecidesWhetherTls11IsAccepted) {
  start(tls_section("  min_version: TLS12\n"));
  // SECLEVEL=0 lets this OpenSSL client offer TLS 1.1 at all.
  auto tls11 = s_client("-tls1_1 -cipher DEFAULT@SECLEVEL=0");
  EXPECT_NE(tls11.exit_code, 0) << tls11.output;
  auto tls12 = s_client("-tls1_2");
  EXPECT_EQ(tls12.exit_code, 0) << tls12.output;
  EXPECT_THAT(tls12.output, HasSubstr("TLSv1.2"));
  EXPECT_THAT(tls12.output, HasSubstr("Verify return code: 0 (ok)"));
  auto tls13 = s_client("-tls1_3");
  EXPECT_EQ(tls13.exit_code, 0) << tls13.output;
  EXPECT_THAT(tls13.output, HasSubstr("TLSv1.3"));

  // The same client is accepted once the config allows TLS 1.1: the refusal
  // above came from min_version, not from the client.
  start(tls_section("  min_version: TLS10\n"));
  auto allowed = s_client("-tls1_1 -cipher DEFAULT@SECLEVEL=0");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output << exporter_->output();
  EXPECT_THAT(allowed.output, HasSubstr("TLSv1.1"));

  start(tls_section("  max_version: TLS12\n"));
  EXPECT_NE(s_client("-tls1_3").exit_code, 0);
}

TEST_F(WebTlsTest, ClientCertificatesRequiredVerifiedAndSanChecked) {
  start(
      tls_section("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                  "  client_allowed_sans:\n    - client.allowed\n"));
  auto with = [&](const std::string& name) {
    return curl("/healthz", {"--cert", file(name + ".crt"), "--key", file(name + ".key")});
  };
  EXPECT_EQ(with("client").status, 200) << with("client").output << exporter_->output();
  CurlResult none = curl("/healthz");
  EXPECT_EQ(none.status, 0) << none.output;
  EXPECT_NE(none.exit_code, 0);
  CurlResult wrong_san = with("other");  // signed by the CA, SAN not allowed
  EXPECT_EQ(wrong_san.status, 0) << wrong_san.output;
  CurlResult untrusted = with("rogue");  // allowed SAN, CA not trusted
  EXPECT_EQ(untrusted.status, 0) << untrusted.output;
  // The server names the CA it accepts.
  auto hello = s_client("-tls1_2 -cert " + file("client.crt") + " -key " + file("client.key"));
  EXPECT_THAT(hello.output, HasSubstr("Acceptable client certificate CA names"));
  EXPECT_THAT(hello.output, HasSubstr("CN = ca"));

  // RequireAnyClientCert: any certificate, but one is needed.
  start(tls_section("  client_auth_type: RequireAnyClientCert\n"));
  EXPECT_EQ(with("rogue").status, 200) << exporter_->output();
  EXPECT_EQ(curl("/healthz").status, 0);

  // VerifyClientCertIfGiven: none is fine, an untrusted one is not.
  start(tls_section("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n"));
  EXPECT_EQ(curl("/healthz").status, 200);
  EXPECT_EQ(with("client").status, 200);
  EXPECT_EQ(with("rogue").status, 0);
}

TEST_F(WebTlsTest, SwappedCertificateIsServedOnTheNextConnection) {
  start(tls_section() + "basic_auth_users:\n  alice: " + bcrypt_hash("wonderland") + "\n");
  auto first = s_client("-tls1_3");
  EXPECT_THAT(first.output, HasSubstr("subject=CN = localhost"));
  const pid_t pid = exporter_->pid();

  // Rotate as certbot-like tools do: new files renamed over the old ones.
  std::filesystem::copy_file(file("rotated.key"), file("new.key"));
  std::filesystem::copy_file(file("rotated.crt"), file("new.crt"));
  std::filesystem::rename(file("new.key"), file("server.key"));
  std::filesystem::rename(file("new.crt"), file("server.crt"));
  auto second = s_client("-tls1_3");
  EXPECT_THAT(second.output, HasSubstr("subject=CN = rotated.localhost")) << second.output;
  EXPECT_EQ(exporter_->pid(), pid);
  EXPECT_TRUE(exporter_->running());

  // A broken new web config: logged, counted, the running one kept.
  dir_.write("web.yml", tls_section("  cipher_suites: [NOPE]\n"));
  CurlResult kept = curl("/metrics", {"-u", "alice:wonderland"});
  EXPECT_EQ(kept.status, 200) << kept.output;
  EXPECT_EQ(testing::metric_value(kept.output, "netobs_web_config_reload_failures_total"), 1);
  EXPECT_EQ(testing::metric_value(kept.output, "netobs_web_config_last_reload_successful"), 0);
  EXPECT_THAT(exporter_->output(), HasSubstr("web config reload failed"));
  EXPECT_THAT(exporter_->output(), HasSubstr("unknown cipher: NOPE"));

  // Fixed again, with a new user: applied without a restart.
  dir_.write("web.yml",
             tls_section() + "basic_auth_users:\n  carol: " + bcrypt_hash("c4rol") + "\n");
  EXPECT_EQ(curl("/metrics", {"-u", "alice:wonderland"}).status, 401);
  CurlResult carol = curl("/metrics", {"-u", "carol:c4rol"});
  EXPECT_EQ(carol.status, 200);
  EXPECT_EQ(testing::metric_value(carol.output, "netobs_web_config_last_reload_successful"), 1);
}

TEST_F(WebTlsTest, IdleConnectionsWithoutHandshakeDoNotBlockAScrape) {
  start(tls_section());
  // Connections that never send a ClientHello (more than the old thread count).
  std::vector<int> idle;
  for (int i = 0; i < 60; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    idle.push_back(fd);
  }
  const auto start_time = std::chrono::steady_clock::now();
  CurlResult scrape = curl("/metrics");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  EXPECT_EQ(scrape.status, 200) << scrape.output;
  EXPECT_LT(seconds, 2.0);
  for (int fd : idle) close(fd);
}

TEST_F(WebTlsTest, BadWebConfigAtStartExitsTwoWithTheError) {
  const std::string bad = dir_.write("bad.yml", tls_section("  curve_preferences: [CurveP257]\n"));
  auto run = testing::run_command(
      {testing::exporter_binary(), "--web.config.file=" + bad, "--collector.disable-defaults",
       "--web.listen-address=127.0.0.1:" + std::to_string(testing::free_tcp_port())},
      20);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("unknown curve: CurveP257"));
  EXPECT_THAT(run.output, HasSubstr("bad.yml"));

  auto missing =
      testing::run_command({testing::exporter_binary(), "--web.config.file=" + file("nope.yml"),
                            "--collector.disable-defaults"},
                           20);
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output,
              HasSubstr("open " + file("nope.yml") + ": no such file or directory"));
}

TEST_F(WebTlsTest, RealPrometheusScrapesOverTlsWithBasicAuth) {
  start(tls_section() + "basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape-me") + "\n");
  const int prometheus_port = testing::free_tcp_port();
  const std::string config = dir_.write("prometheus.yml",
                                        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                        "scrape_configs:\n  - job_name: netobs\n    scheme: https\n"
                                        "    tls_config:\n      ca_file: " +
                                            file("ca.crt") +
                                            "\n      server_name: localhost\n"
                                            "    basic_auth:\n      username: prometheus\n"
                                            "      password: scrape-me\n"
                                            "    static_configs:\n      - targets: ['127.0.0.1:" +
                                            std::to_string(port_) + "']\n");
  testing::Subprocess prometheus(
      {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir_.path() + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});
  ASSERT_TRUE(testing::wait_for_http(prometheus_port, "/-/ready", 60)) << prometheus.output();
  std::string last;
  bool up = false;
  for (int i = 0; i < 120 && !up; ++i) {
    auto r = testing::http_request("127.0.0.1", prometheus_port,
                                   "/api/v1/query?query=up%7Bjob%3D%22netobs%22%7D");
    if (r && r->status == 200) {
      last = r->body;
      up = last.find("\"1\"]") != std::string::npos;
    }
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(up) << "last answer: " << last << "\nprometheus: " << prometheus.output();
  // And Prometheus stored the exporter's own series through that scrape.
  auto series =
      testing::http_request("127.0.0.1", prometheus_port, "/api/v1/query?query=netobs_build_info");
  ASSERT_TRUE(series);
  EXPECT_THAT(series->body, HasSubstr("\"__name__\":\"netobs_build_info\""));
  prometheus.signal(SIGTERM);
  prometheus.wait(20);
}

}  // namespace
}  // namespace netobs
