// The Prometheus rules: generated file up to date, promtool check and unit
// tests pass, every alert has a firing and a quiet unit test case and a
// runbook section, and the retransmission thresholds equal the snmp verdicts'.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

std::string alerts_dir() { return testing::source_dir() + "/alerts"; }

std::set<std::string> alert_names(const std::string& rules) {
  std::set<std::string> names;
  std::regex alert(R"(- alert: (\w+))");
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), alert);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

TEST(AlertRules, CommittedRulesMatchGenerator) {
  auto result = testing::run_command({"python3", alerts_dir() + "/generate.py", "--check"}, 60);
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(AlertRules, PromtoolCheckRules) {
  auto result =
      testing::run_command({"promtool", "check", "rules", alerts_dir() + "/netobs.rules.yml"}, 60);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("SUCCESS"));
}

TEST(AlertRules, PromtoolUnitTests) {
  auto result = testing::run_command(
      {"promtool", "test", "rules", alerts_dir() + "/tests/netobs_test.yml"}, 120);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("SUCCESS"));
}

TEST(AlertRules, EveryAlertHasAFiringAndAQuietTestCase) {
  const auto names = alert_names(testing::read_file(alerts_dir() + "/netobs.rules.yml"));
  ASSERT_GE(names.size(), 16u);
  std::map<std::string, bool> fires, quiet;
  std::istringstream tests(testing::read_file(alerts_dir() + "/tests/netobs_test.yml"));
  std::regex alertname(R"(^\s+alertname: (\w+))");
  std::string line, current;
  while (std::getline(tests, line)) {
    std::smatch m;
    if (std::regex_search(line, m, alertname)) {
      current = m[1];
    } else if (!current.empty() && line.find("exp_alerts: []") != std::string::npos) {
      quiet[current] = true;
      current.clear();
    } else if (!current.empty() && line.find("exp_labels:") != std::string::npos) {
      fires[current] = true;
      current.clear();
    }
  }
  for (const auto& name : names) {
    EXPECT_TRUE(fires[name]) << name << " has no firing case";
    EXPECT_TRUE(quiet[name]) << name << " has no not-firing case";
  }
}

TEST(AlertRules, EveryRunbookUrlHasASection) {
  const std::string rules = testing::read_file(alerts_dir() + "/netobs.rules.yml");
  const std::string runbooks = testing::read_file(alerts_dir() + "/runbooks.md");
  for (const auto& name : alert_names(rules)) {
    std::string anchor = name;
    for (char& c : anchor) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_THAT(rules, HasSubstr("runbooks.md#" + anchor + "\"")) << name;
    EXPECT_THAT(runbooks, HasSubstr("\n## " + name + "\n")) << name;
  }
}

// The alerts must agree with the snmp collector's verdicts (and `netobs stats
// --ratios`): the same retransmission thresholds as the default config.
TEST(AlertRules, RetransmissionThresholdsEqualSnmpVerdicts) {
  const std::string config = testing::read_file(testing::source_dir() + "/config/netobs.yaml");
  const std::string rules = testing::read_file(alerts_dir() + "/netobs.rules.yml");
  std::map<std::string, double> alert_threshold;  // severity -> threshold
  for (size_t at = rules.find("- alert: NetobsTcpRetransmissionRatioHigh"); at != std::string::npos;
       at = rules.find("- alert: NetobsTcpRetransmissionRatioHigh", at + 1)) {
    const std::string block = rules.substr(at, rules.find("- alert:", at + 1) - at);
    std::smatch threshold, severity;
    ASSERT_TRUE(std::regex_search(
        block, threshold,
        std::regex(R"(instance:netobs_tcp_retransmission:ratio_rate5m > ([0-9.]+))")));
    ASSERT_TRUE(std::regex_search(block, severity, std::regex(R"(severity: (\w+))")));
    alert_threshold[severity[1]] = std::stod(threshold[1]);
  }
  for (const char* level : {"warning", "critical"}) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        config, m, std::regex(std::string("retrans_ratio_") + level + R"(: ([0-9.]+))")))
        << level;
    ASSERT_TRUE(alert_threshold.count(level)) << level;
    EXPECT_EQ(alert_threshold[level], std::stod(m[1])) << level;
  }
}

}  // namespace
}  // namespace netobs
