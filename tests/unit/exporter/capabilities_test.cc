// `netobs check --systemd`: collector requirements to capabilities and the
// unit drop-in, and the packaged unit granting exactly what the default
// config needs.
#include "exporter/capabilities.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "exporter/builtin_config.h"

namespace netobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

Config config_from(const std::string& yaml) {
  ConfigLoadResult loaded = load_config_string(yaml, "test.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  return loaded.config;
}

ServicePlan plan_for(const Config& config) {
  CollectorRegistry registry;
  register_builtin_collectors(registry);
  return plan_service(config, registry);
}

const CapabilityNeed* find_need(const ServicePlan& plan, const std::string& name) {
  for (const auto& c : plan.capabilities) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(CapabilitiesTest, DefaultConfigNeedsTheFourCapabilitiesWithTheirCollectors) {
  ConfigLoadResult loaded = load_default_config();
  ASSERT_TRUE(loaded.ok());
  ServicePlan plan = plan_for(loaded.config);
  EXPECT_EQ(capability_list(plan), "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW");
  EXPECT_THAT(plan.enabled_collectors, ElementsAre("snmp", "socket", "tcp", "dns", "drops"));
  ASSERT_NE(find_need(plan, "CAP_BPF"), nullptr);
  EXPECT_THAT(find_need(plan, "CAP_BPF")->needed_by, ElementsAre("socket", "tcp", "dns", "drops"));
  ASSERT_NE(find_need(plan, "CAP_NET_ADMIN"), nullptr);
  EXPECT_THAT(find_need(plan, "CAP_NET_ADMIN")->needed_by, ElementsAre("dns"));
  ASSERT_NE(find_need(plan, "CAP_NET_RAW"), nullptr);
  EXPECT_THAT(find_need(plan, "CAP_NET_RAW")->needed_by, ElementsAre("dns"));
  EXPECT_TRUE(plan.read_write_paths.empty());
}

// The packaged unit must grant what the default config needs, no more: a
// collector that gains a requirement fails here until the unit follows.
TEST(CapabilitiesTest, PackagedUnitGrantsExactlyWhatTheDefaultConfigNeeds) {
  std::ifstream in(std::string(NETOBS_SOURCE_DIR) + "/packaging/systemd/netobs.service.in");
  ASSERT_TRUE(in) << "packaging/systemd/netobs.service.in not found";
  std::string line, ambient, bounding;
  while (std::getline(in, line)) {
    if (line.rfind("AmbientCapabilities=", 0) == 0) ambient = line.substr(20);
    if (line.rfind("CapabilityBoundingSet=", 0) == 0) bounding = line.substr(22);
  }
  ServicePlan plan = plan_for(load_default_config().config);
  EXPECT_EQ(ambient, capability_list(plan));
  EXPECT_EQ(bounding, capability_list(plan));
}

TEST(CapabilitiesTest, SnmpAloneNeedsNoCapability) {
  ServicePlan plan =
      plan_for(config_from("collectors:\n  socket: {enabled: false}\n  tcp: {enabled: false}\n"
                           "  dns: {enabled: false}\n  drops: {enabled: false}\n"));
  EXPECT_THAT(plan.enabled_collectors, ElementsAre("snmp"));
  EXPECT_TRUE(plan.capabilities.empty());
  EXPECT_EQ(render_systemd_dropin(plan),
            "[Service]\n"
            "# The empty lines reset the packaged unit's lists; the next lines set them.\n"
            "AmbientCapabilities=\n"
            "CapabilityBoundingSet=\n");
}

TEST(CapabilitiesTest, XdpAloneNeedsBpfAndNetAdmin) {
  ServicePlan plan = plan_for(
      config_from("collectors:\n  snmp: {enabled: false}\n  socket: {enabled: false}\n"
                  "  tcp: {enabled: false}\n  dns: {enabled: false}\n  drops: {enabled: false}\n"
                  "  xdp: {enabled: true}\n"));
  EXPECT_EQ(capability_list(plan), "CAP_BPF CAP_PERFMON CAP_NET_ADMIN");
  EXPECT_THAT(render_systemd_dropin(plan),
              HasSubstr("AmbientCapabilities=\nAmbientCapabilities=CAP_BPF CAP_PERFMON "
                        "CAP_NET_ADMIN\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_BPF "
                        "CAP_PERFMON CAP_NET_ADMIN\n"));
}

TEST(CapabilitiesTest, EventDirectoryOutsideTheStateDirectoryBecomesWritable) {
  ServicePlan outside = plan_for(config_from("events:\n  output_dir: /srv/netobs-events\n"));
  EXPECT_THAT(outside.read_write_paths, ElementsAre("/srv/netobs-events"));
  EXPECT_THAT(render_systemd_dropin(outside), HasSubstr("ReadWritePaths=/srv/netobs-events\n"));

  ServicePlan inside = plan_for(config_from("events:\n  output_dir: /var/lib/netobs/events\n"));
  EXPECT_TRUE(inside.read_write_paths.empty());
  ServicePlan prefix_only = plan_for(config_from("events:\n  output_dir: /var/lib/netobs2\n"));
  EXPECT_THAT(prefix_only.read_write_paths, ElementsAre("/var/lib/netobs2"));
}

TEST(CapabilitiesTest, SettingsNoCapabilityCanGrantAreExplained) {
  ServicePlan details = plan_for(config_from(
      "collectors:\n  socket:\n    syscall_details: true\nexporter:\n  bpf_stats: true\n"));
  std::string report = format_service_plan(details);
  EXPECT_THAT(report, HasSubstr("syscall_details"));
  EXPECT_THAT(report, HasSubstr("kernel.bpf_stats_enabled=1"));

  ServicePlan plain = plan_for(config_from("collectors:\n  socket:\n    syscall_details: false\n"));
  EXPECT_THAT(format_service_plan(plain), Not(HasSubstr("syscall_details")));
  EXPECT_THAT(format_service_plan(plain), Not(HasSubstr("not granted by capabilities")));
}

}  // namespace
}  // namespace netobs
