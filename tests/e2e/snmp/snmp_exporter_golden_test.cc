// End to end: the real netobs_exporter binary with only the snmp collector,
// against a fixture procfs; its full /metrics output is compared with a
// checked-in expected file (values of *_seconds series and the build-info
// labels are masked: they differ per run and per build), and must pass
// `promtool check metrics`. NETOBS_UPDATE_GOLDEN=1 rewrites the expected file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

std::string fixture(const std::string& name) {
  return std::string(NETOBS_SOURCE_DIR) + "/tests/fixtures/snmp/" + name;
}

// Masks what differs between runs and builds, keeping every line.
std::string mask_nondeterministic(const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      size_t name_end = line.find_first_of("{ ");
      std::string name = line.substr(0, name_end);
      if (name == "netobs_build_info") {
        line = "netobs_build_info{<masked>} 1";
      } else if (name.size() > 8 && name.compare(name.size() - 8, 8, "_seconds") == 0) {
        line = line.substr(0, line.rfind(' ')) + " <masked>";
      }
    }
    out << line << "\n";
  }
  return out.str();
}

TEST(SnmpExporterGolden, FixtureProcfsFullOutput) {
  std::string binary = testing::exporter_binary();
  if (!std::filesystem::exists(binary)) {
    if (testing::running_in_ci()) FAIL() << binary << " not built";
    GTEST_SKIP() << binary << " not built";
  }
  testing::TempDir dir;
  std::string config = dir.write("netobs.yaml",
                                 "collectors:\n"
                                 "  snmp:\n"
                                 "    sample_interval: 1s\n"
                                 "    windows: [1m, 5m]\n");
  int port = testing::free_tcp_port();
  testing::Subprocess exporter({binary, "--collector.disable-defaults", "--collector.snmp",
                                "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                "--path.procfs=" + fixture("seed_t2"), "--config.file=" + config});
  ASSERT_TRUE(testing::wait_for_http(port, "/metrics", 15)) << exporter.output();

  // Wait for the sampler's second sample: then rates exist (all 0, the files
  // do not change) and every later scrape has the same shape.
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = testing::http_request("127.0.0.1", port, "/metrics");
    ASSERT_TRUE(response && response->status == 200);
    text = response->body;
    if (text.find("netobs_snmp_window_covered_seconds{window=\"5m\"}") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(text.find("netobs_snmp_mib_rate_per_second{field=\"RetransSegs\",group=\"Tcp\","
                      "window=\"1m\"} 0"),
            std::string::npos)
      << text;

  std::string masked = mask_nondeterministic(text);
  std::string expected_path = fixture("expected/exporter_seed_t2.prom");
  if (const char* update = std::getenv("NETOBS_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(expected_path, std::ios::trunc) << masked;
  }
  EXPECT_EQ(masked, testing::read_file(expected_path))
      << "the exporter's output changed; if intended, rerun with NETOBS_UPDATE_GOLDEN=1 and "
         "review the diff of "
      << expected_path;

  std::string scraped = dir.write("scrape.prom", text);
  testing::CommandResult promtool =
      testing::run_command({"sh", "-c", "promtool check metrics < '" + scraped + "'"}, 60);
  if (promtool.exit_code == 127) {
    if (testing::running_in_ci()) FAIL() << "promtool not installed (Debian package prometheus)";
    GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  }
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
  EXPECT_EQ(promtool.output, "") << "promtool reports lint problems";
}

}  // namespace
}  // namespace netobs
