// IdleKeys: keys whose activity did not move for idle_after are returned once
// and forgotten; keys gone from the map are forgotten; idle_after 0 never
// reclaims.
#include "exporter/attribution/idle_keys.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace netobs {
namespace {

using Keys = IdleKeys<uint32_t>;
using std::chrono::seconds;

TEST(IdleKeys, ReclaimsKeysIdleLongerThanIdleAfter) {
  Keys keys(seconds(10));
  const auto t0 = Keys::Clock::time_point{} + seconds(100);
  keys.observe(1, 5, t0);
  keys.observe(2, 5, t0);
  EXPECT_TRUE(keys.reclaim_idle(t0).empty());
  keys.observe(1, 5, t0 + seconds(8));  // unchanged: idle since t0
  keys.observe(2, 6, t0 + seconds(8));  // moved: active at t0 + 8
  EXPECT_TRUE(keys.reclaim_idle(t0 + seconds(8)).empty());
  keys.observe(1, 5, t0 + seconds(11));
  keys.observe(2, 6, t0 + seconds(11));
  EXPECT_EQ(keys.reclaim_idle(t0 + seconds(11)), std::vector<uint32_t>{1});
  EXPECT_EQ(keys.size(), 1u);
  // Seen again (the kernel re-inserted it): a new key, active from now.
  keys.observe(1, 0, t0 + seconds(12));
  keys.observe(2, 6, t0 + seconds(19));
  EXPECT_EQ(keys.reclaim_idle(t0 + seconds(19)), std::vector<uint32_t>{2});
  EXPECT_EQ(keys.size(), 1u);
  // 1 not observed at the next collect: gone from the map, forgotten, not returned.
  EXPECT_TRUE(keys.reclaim_idle(t0 + seconds(40)).empty());
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_EQ(keys.reclaimed_total(), 2u);
}

TEST(IdleKeys, ZeroIdleTimeNeverReclaims) {
  Keys keys(Keys::Clock::duration::zero());
  const auto t0 = Keys::Clock::time_point{};
  keys.observe(7, 1, t0);
  keys.reclaim_idle(t0);
  keys.observe(7, 1, t0 + seconds(100000));
  EXPECT_TRUE(keys.reclaim_idle(t0 + seconds(100000)).empty());
  EXPECT_FALSE(keys.enabled());
}

}  // namespace
}  // namespace netobs
