// Dashboards and alerts against real components: netobs_exporter, Prometheus,
// Alertmanager and a webhook, with real traffic and faults in the test's own
// network namespaces. The steps and the faults are in alerts_e2e.py (beside
// this file); this wraps it as one bounded test (under 2 minutes).
#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/test_support.h"

namespace netobs {
namespace {

TEST(DashboardsAndAlerts, FireThroughAlertmanagerOnRealFaultsAndPanelsShowData) {
  NETOBS_REQUIRE_ROOT();
  auto result = testing::run_command(
      {"python3", testing::source_dir() + "/tests/e2e/alerts/alerts_e2e.py", "--exporter",
       testing::exporter_binary(), "--source", testing::source_dir()},
      570);
  std::cout << result.output << std::endl;
  EXPECT_EQ(result.exit_code, 0) << "see the FAIL: lines above";
}

}  // namespace
}  // namespace netobs
