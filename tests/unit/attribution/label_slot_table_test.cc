// The reclaiming label-slot table: caps, folding, idle reclaim, gone keys.
#include "exporter/attribution/label_slot_table.h"

#include <gtest/gtest.h>

namespace netobs {
namespace {

using namespace std::chrono_literals;
using Clock = LabelSlotTable::Clock;

TEST(LabelSlotTable, UserSpaceSlotsAreReclaimedWhenIdle) {
  LabelSlotTable table(2, 10s);
  Clock::time_point t0{};
  EXPECT_EQ(table.acquire("a", t0), 0u);
  EXPECT_EQ(table.acquire("b", t0), 1u);
  EXPECT_EQ(table.acquire("c", t0), std::nullopt);  // full: the caller folds into other
  EXPECT_EQ(table.acquire("a", t0 + 8s), 0u);       // a stays active
  EXPECT_TRUE(table.reclaim_idle(t0 + 10s).empty());
  auto reclaimed = table.reclaim_idle(t0 + 11s);  // b idle for 11 s
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].slot, 1u);
  EXPECT_EQ(reclaimed[0].key, "b");
  EXPECT_EQ(table.acquire("c", t0 + 11s), 1u);
  EXPECT_EQ(table.find("b"), std::nullopt);
  EXPECT_EQ(table.reclaimed_total(), 1u);
}

TEST(LabelSlotTable, ZeroIdleTimeNeverReclaims) {
  LabelSlotTable table(1, Clock::duration::zero());
  Clock::time_point t0{};
  EXPECT_EQ(table.acquire("a", t0), 0u);
  EXPECT_TRUE(table.reclaim_idle(t0 + 1000h).empty());
  EXPECT_EQ(table.acquire("b", t0 + 1000h), std::nullopt);
}

TEST(LabelSlotTable, KernelSlotsIdleWhenTheirActivityStops) {
  LabelSlotTable table(4, 5s);
  Clock::time_point t0{};
  table.observe(2, "nginx", 100, t0);
  table.observe(3, "curl", 7, t0);
  table.observe(2, "nginx", 150, t0 + 4s);  // grew: active
  table.observe(3, "curl", 7, t0 + 4s);     // unchanged: idle since t0
  auto reclaimed = table.reclaim_idle(t0 + 6s);
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].slot, 3u);
  EXPECT_EQ(reclaimed[0].key, "curl");
  EXPECT_EQ(table.find("nginx"), 2u);
  // a slot that changes hands in the kernel follows its new key
  table.observe(2, "java", 0, t0 + 7s);
  EXPECT_EQ(table.find("nginx"), std::nullopt);
  EXPECT_EQ(table.find("java"), 2u);
}

TEST(LabelSlotTable, GoneKeysAgeOutSooner) {
  LabelSlotTable table(3, 1h);
  Clock::time_point t0{};
  table.observe(0, "cgroup-a", 1, t0);
  table.observe(1, "cgroup-b", 1, t0);
  auto gone = [](const std::string& key) { return key == "cgroup-b"; };
  EXPECT_TRUE(table.reclaim_idle(t0 + 2s, gone, 5s).empty());
  auto reclaimed = table.reclaim_idle(t0 + 6s, gone, 5s);
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].key, "cgroup-b");
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace netobs
