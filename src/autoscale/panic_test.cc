#include "autoscale/panic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "common/random.h"

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
  PanicDecision d = p.decide(clock.now(), 100, 2, 2, 3);
  EXPECT_EQ(d.desired, 3);
  EXPECT_FALSE(d.panicking);
}

TEST(PanicPolicyTest, BelowThresholdDoesNotPanic) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  PanicDecision d = p.decide(clock.now(), 3.9, 2, 2, 3);  // 1.95x < 2x
  EXPECT_FALSE(d.panicking);
  EXPECT_EQ(d.desired, 3);
}

TEST(PanicPolicyTest, DemandAtThresholdScalesUpAtOnceToDemand) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  // The reactive path (rate-limited) only asks for 4; the demand is 9 replicas on 2.
  PanicDecision d = p.decide(clock.now(), 8.2, 2, 2, 4);
  EXPECT_TRUE(d.panicking);
  EXPECT_TRUE(d.entered);
  EXPECT_EQ(d.desired, 9);
  EXPECT_FALSE(d.reason.empty());
}

TEST(PanicPolicyTest, NoScaleDownUntilStableWindowAfterLastTrigger) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  ASSERT_EQ(p.decide(clock.now(), 10, 2, 2, 4).desired, 10);
  clock.advance(seconds(30));
  ASSERT_EQ(p.decide(clock.now(), 30, 10, 10, 10).desired, 30);  // re-triggers: 30 >= 2x10
  // The load is gone; the reactive path asks for 2, but panic holds the maximum.
  for (int i = 0; i < 4; ++i) {
    clock.advance(seconds(15));  // 15..60 s after the last trigger
    PanicDecision d = p.decide(clock.now(), 1, 30, 30, 2);
    EXPECT_TRUE(d.panicking) << i;
    EXPECT_EQ(d.desired, 30) << i;
  }
  clock.advance(seconds(1));  // 61 s > stable window
  PanicDecision d = p.decide(clock.now(), 1, 30, 30, 2);
  EXPECT_FALSE(d.panicking);
  EXPECT_TRUE(d.exited);
  EXPECT_EQ(d.desired, 2);
}

TEST(PanicPolicyTest, ShortWindowAveragesObservations) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  EXPECT_FALSE(p.decide(clock.now(), 2, 4, 4, 4).panicking);
  clock.advance(seconds(2));
  // Mean of 2 and 12 = 7 < 8 (2x4): no panic yet.
  PanicDecision d = p.decide(clock.now(), 12, 4, 4, 4);
  EXPECT_DOUBLE_EQ(d.short_demand, 7);
  EXPECT_FALSE(d.panicking);
  clock.advance(seconds(5));  // the first observation (7 s old) leaves the 6 s window
  d = p.decide(clock.now(), 12, 4, 4, 4);
  EXPECT_DOUBLE_EQ(d.short_demand, 12);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 12);
}

TEST(PanicPolicyTest, ZeroCurrentCountsAsOneReplicaOfCapacity) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  PanicDecision d = p.decide(clock.now(), 3, 0, 0, 1);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 3);
}

TEST(PanicPolicyTest, NeverBelowCurrentWhilePanicking) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  ASSERT_TRUE(p.decide(clock.now(), 10, 4, 4, 4).panicking);
  clock.advance(seconds(5));
  // Someone scaled to 12 meanwhile; the demand sits at 9 (over 2x? no: 9 < 24) and reactive says 3.
  PanicDecision d = p.decide(clock.now(), 9, 12, 12, 3);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 12);
}


// Knative's rule for the trigger (demand against the ready replicas) and surge's for the floor:
// replicas in cold start are capacity that is coming — a demand they cover adds none.
TEST(PanicPolicyTest, StartingReplicasAreCapacityThatIsComing) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  // 4 ready, 12 asked for (8 starting): a demand of 10 is over 2x the ready replicas, but the
  // starting ones cover it: no replica is added.
  PanicDecision d = p.decide(clock.now(), 10, 4, 12, 12);
  EXPECT_TRUE(d.panicking);
  EXPECT_TRUE(d.entered);
  EXPECT_EQ(d.desired, 12);
  EXPECT_TRUE(d.reason.empty());
  // The crowd keeps growing: 20 replicas' worth → 20, not 20 + the 8 already starting.
  clock.advance(seconds(15));
  d = p.decide(clock.now(), 20, 4, 12, 12);
  EXPECT_EQ(d.desired, 20);
  EXPECT_NE(d.reason.find("4 ready"), std::string::npos) << d.reason;
  // The same demand on 12 ready replicas (1.67x < 2x) does not trigger a fresh policy.
  PanicPolicy q(enabledConfig());
  EXPECT_FALSE(q.decide(clock.now(), 20, 12, 12, 12).panicking);
}

TEST(PanicPolicyTest, ASyncWithoutDemandAddsNoObservation) {
  PanicPolicy p(enabledConfig());
  ManualClock clock;
  EXPECT_FALSE(p.decide(clock.now(), std::nullopt, 4, 4, 4).panicking);  // nothing seen yet
  ASSERT_TRUE(p.decide(clock.now(), 10, 4, 4, 4).panicking);
  clock.advance(seconds(2));
  // The metric failed: the window still holds the 10 (not averaged with a zero).
  PanicDecision d = p.decide(clock.now(), std::nullopt, 4, 10, 10);
  EXPECT_DOUBLE_EQ(d.short_demand, 10);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 10);
  // Past the window nothing is left: no trigger, but panic holds until the stable window ends.
  clock.advance(seconds(10));
  d = p.decide(clock.now(), std::nullopt, 10, 10, 3);
  EXPECT_DOUBLE_EQ(d.short_demand, 0);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 10);
  clock.advance(seconds(60));
  d = p.decide(clock.now(), std::nullopt, 10, 10, 3);
  EXPECT_TRUE(d.exited);
  EXPECT_EQ(d.desired, 3);
}

// Properties over seeded random sequences (demand, ready ≤ current, the input decision, missing
// demands, time steps): disabled or not panicking → the input unchanged; panicking → at least
// the input, the current replicas and every earlier decision of this panic, and never more than
// the most of those and the demand rounded up; entering needs a short-window demand at the
// threshold × the ready replicas (at least 1).
TEST(PanicPolicyPropertyTest, NeverBelowInputOrCurrentNeverAboveDemand) {
  Random rng(20261207);
  for (int sequence = 0; sequence < 200; ++sequence) {
    PanicConfig c = enabledConfig();
    c.enabled = rng.uniform(8) != 0;
    c.threshold = 1.0 + static_cast<double>(rng.uniform(30)) / 10.0;
    c.window = seconds(1 + static_cast<int64_t>(rng.uniform(30)));
    c.stable_window = c.window + seconds(static_cast<int64_t>(rng.uniform(120)));
    PanicPolicy p(c);
    ManualClock clock;
    int32_t held = 0;  // the most decided during the current panic
    for (int sync = 0; sync < 40; ++sync) {
      SCOPED_TRACE("sequence " + std::to_string(sequence) + " sync " + std::to_string(sync));
      const int32_t current = static_cast<int32_t>(rng.uniform(40));
      const int32_t ready = current == 0 ? 0 : static_cast<int32_t>(rng.uniform(current + 1));
      const int32_t desired = static_cast<int32_t>(rng.uniform(60));
      std::optional<double> demand;
      if (rng.uniform(6) != 0) demand = static_cast<double>(rng.uniform(1200)) / 10.0;
      const bool was = p.panicking();
      const PanicDecision d = p.decide(clock.now(), demand, ready, current, desired);
      if (!c.enabled) {
        EXPECT_FALSE(d.panicking);
        EXPECT_EQ(d.desired, desired);
        clock.advance(seconds(1 + static_cast<int64_t>(rng.uniform(20))));
        continue;
      }
      EXPECT_EQ(d.panicking, p.panicking());
      EXPECT_EQ(d.entered, !was && d.panicking);
      EXPECT_EQ(d.exited, was && !d.panicking);
      if (d.entered) {
        EXPECT_GE(d.short_demand, c.threshold * std::max(ready, 1) - 1e-9);
        held = 0;
      }
      if (!d.panicking) {
        EXPECT_EQ(d.desired, desired);
        EXPECT_TRUE(d.reason.empty());
        held = 0;
      } else {
        EXPECT_GE(d.desired, desired);
        EXPECT_GE(d.desired, current);
        EXPECT_GE(d.desired, held);
        const auto needed = static_cast<int32_t>(std::ceil(d.short_demand - 1e-9));
        EXPECT_LE(d.desired, std::max({desired, current, held, needed}));
        EXPECT_EQ(d.reason.empty(), d.desired == desired);
        held = d.desired;
      }
      clock.advance(seconds(1 + static_cast<int64_t>(rng.uniform(20))));
    }
  }
}

}  // namespace
}  // namespace surge::autoscale
