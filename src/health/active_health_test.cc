#include "health/active_health.h"

#include <gtest/gtest.h>

#include <set>

namespace surge::health {
namespace {

ActiveHealthOptions defaults(bool initially_healthy = true) {
  ActiveHealthOptions o;
  o.initially_healthy = initially_healthy;
  return o;
}

TEST(ActiveHealthState, DefaultsAreHaproxys) {
  ActiveHealthOptions o;
  EXPECT_EQ(o.interval, std::chrono::seconds(2));
  EXPECT_EQ(o.timeout, std::chrono::seconds(1));
  EXPECT_EQ(o.unhealthy_threshold, 3);
  EXPECT_EQ(o.healthy_threshold, 2);
  EXPECT_EQ(o.path, "/v2/health/ready");
  EXPECT_TRUE(o.initially_healthy);
}

TEST(ActiveHealthState, FallsAfterThreeConsecutiveFailures) {
  ActiveHealthState s(defaults());
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.onProbe(false), Transition::kBecameUnhealthy);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.consecutiveFailures(), 3);
  // Further failures are no new transition.
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_FALSE(s.healthy());
}

TEST(ActiveHealthState, PassResetsFailureStreak) {
  ActiveHealthState s(defaults());
  s.onProbe(false);
  s.onProbe(false);
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
  EXPECT_EQ(s.consecutiveFailures(), 0);
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.onProbe(false), Transition::kBecameUnhealthy);
}

TEST(ActiveHealthState, RisesAfterTwoConsecutivePasses) {
  ActiveHealthState s(defaults(/*initially_healthy=*/false));
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.onProbe(true), Transition::kBecameHealthy);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
}

TEST(ActiveHealthState, FailureResetsPassStreak) {
  ActiveHealthState s(defaults(false));
  s.onProbe(true);
  EXPECT_EQ(s.onProbe(false), Transition::kNone);
  EXPECT_EQ(s.consecutivePasses(), 0);
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.onProbe(true), Transition::kBecameHealthy);
}

TEST(ActiveHealthState, FullCycleWithCustomThresholds) {
  ActiveHealthState s(/*healthy_threshold=*/3, /*unhealthy_threshold=*/1, true);
  EXPECT_EQ(s.onProbe(false), Transition::kBecameUnhealthy);
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
  EXPECT_EQ(s.onProbe(true), Transition::kNone);
  EXPECT_EQ(s.onProbe(true), Transition::kBecameHealthy);
  EXPECT_EQ(s.onProbe(false), Transition::kBecameUnhealthy);
}

TEST(ActiveHealthState, ThresholdsBelowOneActLikeOne) {
  ActiveHealthState s(0, -4, true);
  EXPECT_EQ(s.onProbe(false), Transition::kBecameUnhealthy);
  EXPECT_EQ(s.onProbe(true), Transition::kBecameHealthy);
}

TEST(ProbeSchedule, FirstProbeIsSpreadOverTheInterval) {
  ActiveHealthOptions o;
  o.interval = std::chrono::milliseconds(100);
  Random random(42);
  std::set<int64_t> tenths;
  for (int i = 0; i < 1000; ++i) {
    const Duration d = firstProbeDelay(o, random);
    ASSERT_GE(d, Duration::zero());
    ASSERT_LT(d, o.interval);
    tenths.insert(d / std::chrono::milliseconds(10));
  }
  EXPECT_EQ(tenths.size(), 10u);  // every tenth of the interval is used
}

TEST(ProbeSchedule, NextProbeStaysWithinJitter) {
  ActiveHealthOptions o;
  o.interval = std::chrono::seconds(2);
  o.jitter = 0.1;
  Random random(7);
  Duration lo = Duration::max();
  Duration hi = Duration::min();
  for (int i = 0; i < 2000; ++i) {
    const Duration d = nextProbeDelay(o, random);
    ASSERT_GE(d, std::chrono::milliseconds(1800));
    ASSERT_LE(d, std::chrono::milliseconds(2200));
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, std::chrono::milliseconds(1820));  // the whole band is used
  EXPECT_GT(hi, std::chrono::milliseconds(2180));
}

TEST(ProbeSchedule, NoJitterMeansExactInterval) {
  ActiveHealthOptions o;
  o.interval = std::chrono::milliseconds(50);
  o.jitter = 0;
  Random random(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(nextProbeDelay(o, random), o.interval);
}

}  // namespace
}  // namespace surge::health
