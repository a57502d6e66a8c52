#include "autoscale/panic.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

using std::chrono::seconds;

PanicConfig enabledConfig() {
  PanicConfig c;
  c.enabled = true;
  c.window = seconds(6);
  c.stable_window = seconds(60);
  c.threshold = 2.0;
  return c;
}

TEST(PanicPolicyTest, DisabledPassesDesiredThrough) {
  PanicPolicy p(PanicConfig{});
  ManualClock clock;
  PanicDecision d = p.decide(clock.now(), 100, 2, 3);
  EXPECT_EQ(d.desired, 3);
  EXPECT_FALSE(d.panicking);
}

TEST(PanicPolicyTest, BelowThresholdDoesNotPanic) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  PanicDecision d = p.decide(clock.now(), 3.9, 2, 3);  // 1.95x < 2x
  EXPECT_FALSE(d.panicking);
  EXPECT_EQ(d.desired, 3);
}

TEST(PanicPolicyTest, DemandAtThresholdScalesUpAtOnceToDemand) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  // The reactive path (rate-limited) only asks for 4; the demand is 9 replicas on 2.
  PanicDecision d = p.decide(clock.now(), 8.2, 2, 4);
  EXPECT_TRUE(d.panicking);
  EXPECT_TRUE(d.entered);
  EXPECT_EQ(d.desired, 9);
  EXPECT_FALSE(d.reason.empty());
}

TEST(PanicPolicyTest, NoScaleDownUntilStableWindowAfterLastTrigger) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  ASSERT_EQ(p.decide(clock.now(), 10, 2, 4).desired, 10);
  clock.advance(seconds(30));
  ASSERT_EQ(p.decide(clock.now(), 30, 10, 10).desired, 30);  // re-triggers: 30 >= 2x10
  // The load is gone; the reactive path asks for 2, but panic holds the maximum.
  for (int i = 0; i < 4; ++i) {
    clock.advance(seconds(15));  // 15..60 s after the last trigger
    PanicDecision d = p.decide(clock.now(), 1, 30, 2);
    EXPECT_TRUE(d.panicking) << i;
    EXPECT_EQ(d.desired, 30) << i;
  }
  clock.advance(seconds(1));  // 61 s > stable window
  PanicDecision d = p.decide(clock.now(), 1, 30, 2);
  EXPECT_FALSE(d.panicking);
  EXPECT_TRUE(d.exited);
  EXPECT_EQ(d.desired, 2);
}

TEST(PanicPolicyTest, ShortWindowAveragesObservations) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  EXPECT_FALSE(p.decide(clock.now(), 2, 4, 4).panicking);
  clock.advance(seconds(2));
  // Mean of 2 and 12 = 7 < 8 (2x4): no panic yet.
  PanicDecision d = p.decide(clock.now(), 12, 4, 4);
  EXPECT_DOUBLE_EQ(d.short_demand, 7);
  EXPECT_FALSE(d.panicking);
  clock.advance(seconds(5));  // the first observation (7 s old) leaves the 6 s window
  d = p.decide(clock.now(), 12, 4, 4);
  EXPECT_DOUBLE_EQ(d.short_demand, 12);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 12);
}

TEST(PanicPolicyTest, ZeroCurrentCountsAsOneReplicaOfCapacity) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  PanicDecision d = p.decide(clock.now(), 3, 0, 1);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 3);
}

TEST(PanicPolicyTest, NeverBelowCurrentWhilePanicking) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  ASSERT_TRUE(p.decide(clock.now(), 10, 4, 4).panicking);
  clock.advance(seconds(5));
  // Someone scaled to 12 meanwhile; the demand sits at 9 (over 2x? no: 9 < 24) and reactive says 3.
  PanicDecision d = p.decide(clock.now(), 9, 12, 3);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 12);
}

}  // namespace
}  // namespace surge::autoscale
