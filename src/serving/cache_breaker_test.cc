// CacheBreaker: every transition, with a manual clock.
#include "serving/cache_breaker.h"

#include <gtest/gtest.h>

namespace surge::serving {
namespace {

using namespace std::chrono_literals;

class CacheBreakerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  CacheBreaker breaker_{BreakerOptions{3, 5s}, clock_};

  void failTimes(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(breaker_.allow());
      breaker_.onFailure();
    }
  }
};

TEST_F(CacheBreakerTest, StartsClosedAndAllows) {
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker_.wouldAllow());
  EXPECT_TRUE(breaker_.allow());
  EXPECT_TRUE(breaker_.allow());  // closed: no limit on concurrent operations
}

TEST_F(CacheBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  failTimes(2);
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  EXPECT_EQ(breaker_.consecutiveFailures(), 2);
  failTimes(1);
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker_.opens(), 1u);
  EXPECT_FALSE(breaker_.wouldAllow());
  EXPECT_FALSE(breaker_.allow());
}

TEST_F(CacheBreakerTest, SuccessResetsTheConsecutiveCount) {
  failTimes(2);
  ASSERT_TRUE(breaker_.allow());
  breaker_.onSuccess();
  EXPECT_EQ(breaker_.consecutiveFailures(), 0);
  failTimes(2);
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  failTimes(1);
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
}

TEST_F(CacheBreakerTest, CooldownThenOneProbe) {
  failTimes(3);
  clock_.advance(4999ms);
  EXPECT_FALSE(breaker_.wouldAllow());
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
  clock_.advance(1ms);
  EXPECT_TRUE(breaker_.wouldAllow());
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);  // wouldAllow does not take the probe
  EXPECT_TRUE(breaker_.allow());
  EXPECT_EQ(breaker_.state(), BreakerState::kHalfOpen);
  // Only one probe at a time.
  EXPECT_FALSE(breaker_.wouldAllow());
  EXPECT_FALSE(breaker_.allow());
}

TEST_F(CacheBreakerTest, ProbeSuccessCloses) {
  failTimes(3);
  clock_.advance(5s);
  ASSERT_TRUE(breaker_.allow());
  breaker_.onSuccess();
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
  EXPECT_EQ(breaker_.consecutiveFailures(), 0);
  EXPECT_TRUE(breaker_.allow());
  // A fresh threshold is needed to open again.
  failTimes(2);
  EXPECT_EQ(breaker_.state(), BreakerState::kClosed);
}

TEST_F(CacheBreakerTest, ProbeFailureReopensForAFullCooldown) {
  failTimes(3);
  clock_.advance(7s);
  ASSERT_TRUE(breaker_.allow());
  breaker_.onFailure();
  EXPECT_EQ(breaker_.state(), BreakerState::kOpen);
  EXPECT_EQ(breaker_.opens(), 2u);
  clock_.advance(4s);
  EXPECT_FALSE(breaker_.allow());
  clock_.advance(1s);
  EXPECT_TRUE(breaker_.allow());
  EXPECT_EQ(breaker_.state(), BreakerState::kHalfOpen);
}

TEST_F(CacheBreakerTest, AbandonedProbeFreesTheSlot) {
  failTimes(3);
  clock_.advance(5s);
  ASSERT_TRUE(breaker_.allow());
  EXPECT_FALSE(breaker_.allow());
  breaker_.onAbandon();
  EXPECT_EQ(breaker_.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(breaker_.allow());
}

TEST_F(CacheBreakerTest, LateFailureWhileOpenDoesNotExtendTheCooldown) {
  // Two operations allowed while closed; the breaker opens on other failures; a late failure
  // arriving while open neither counts another opening nor restarts the cooldown.
  ASSERT_TRUE(breaker_.allow());
  failTimes(3);
  clock_.advance(3s);
  breaker_.onFailure();
  EXPECT_EQ(breaker_.opens(), 1u);
  clock_.advance(2s);
  EXPECT_TRUE(breaker_.allow());
}

TEST(CacheBreaker, ThresholdOneAndNames) {
  ManualClock clock;
  CacheBreaker b(BreakerOptions{1, 1s}, clock);
  ASSERT_TRUE(b.allow());
  b.onFailure();
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(breakerStateName(BreakerState::kClosed), "closed");
  EXPECT_EQ(breakerStateName(BreakerState::kOpen), "open");
  EXPECT_EQ(breakerStateName(BreakerState::kHalfOpen), "half_open");
  // A threshold below 1 is treated as 1, not as "never open".
  CacheBreaker zero(BreakerOptions{0, 1s}, clock);
  ASSERT_TRUE(zero.allow());
  zero.onFailure();
  EXPECT_EQ(zero.state(), BreakerState::kOpen);
}

}  // namespace
}  // namespace surge::serving
