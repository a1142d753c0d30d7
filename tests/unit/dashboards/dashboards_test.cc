// The Grafana dashboards: the committed JSON matches its generator, and it
// passes the offline dashboard-linter rules (PromQL parsed by promtool).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

using ::testing::HasSubstr;

std::string dashboards_dir() { return testing::source_dir() + "/dashboards"; }

TEST(Dashboards, CommittedJsonMatchesGenerator) {
  auto result = testing::run_command({"python3", dashboards_dir() + "/generate.py", "--check"}, 60);
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(Dashboards, LintIsClean) {
  auto result = testing::run_command({"python3", dashboards_dir() + "/lint.py"}, 120);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("7 dashboards"));
  EXPECT_THAT(result.output, HasSubstr(" 0 problems"));
}

// The linter is only worth something if it fails: a fixture breaks each rule once.
TEST(Dashboards, LintReportsEveryRuleOnABrokenDashboard) {
  auto result = testing::run_command(
      {"python3", dashboards_dir() + "/lint.py",
       testing::source_dir() + "/tests/fixtures/dashboards/lint_violations.json"},
      120);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  for (const char* rule :
       {"template-job", "panel-datasource", "panel-title-description", "panel-units",
        "panel-no-targets", "target-promql", "target-rate-interval", "target-instance",
        "target-counter-agg", "timezone"}) {
    EXPECT_THAT(result.output, HasSubstr(std::string(rule) + ":")) << rule;
  }
  // promtool itself rejected the broken expression
  EXPECT_THAT(result.output, HasSubstr("parse error"));
}

}  // namespace
}  // namespace netobs
