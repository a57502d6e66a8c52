// RateLimitedLog (common/logging.h): at most one line per period, the rest counted and reported.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/logging.h"

namespace surge {
namespace {

using namespace std::chrono_literals;

TEST(RateLimitedLog, OneLinePerPeriodAndTheSuppressedCountOnTheNext) {
  ManualClock clock;
  RateLimitedLog log(10s, clock);
  uint64_t suppressed = 99;
  ASSERT_TRUE(log.allow(&suppressed));  // the first occurrence is always written
  EXPECT_EQ(suppressed, 0u);
  for (int i = 0; i < 199; ++i) {  // 20 per second for ~10 s
    clock.advance(50ms);
    EXPECT_FALSE(log.allow(&suppressed)) << i;
  }
  clock.advance(50ms);  // 10 s after the first line
  ASSERT_TRUE(log.allow(&suppressed));
  EXPECT_EQ(suppressed, 199u);
  clock.advance(9s);
  EXPECT_FALSE(log.allow(&suppressed));
  clock.advance(1s);
  ASSERT_TRUE(log.allow(&suppressed));
  EXPECT_EQ(suppressed, 1u);  // the count restarts after each written line
  EXPECT_EQ(log.suppressedTotal(), 200u);
}

TEST(RateLimitedLog, QuietConditionWritesAtOnceAgain) {
  ManualClock clock;
  RateLimitedLog log(1s, clock);
  uint64_t suppressed = 0;
  ASSERT_TRUE(log.allow(&suppressed));
  clock.advance(1h);
  ASSERT_TRUE(log.allow(&suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(RateLimitedLog, LogWritesOnlyWhenAllowedAndAboveTheLevel) {
  ManualClock clock;
  RateLimitedLog log(1s, clock);
  LogLevel before = logLevel();
  setLogLevel(LogLevel::kError);
  EXPECT_FALSE(log.log(LogLevel::kWarn, "test", "below the level: not even counted"));
  EXPECT_EQ(log.suppressedTotal(), 0u);
  setLogLevel(LogLevel::kWarn);
  EXPECT_TRUE(log.log(LogLevel::kWarn, "test", "first"));
  EXPECT_FALSE(log.log(LogLevel::kWarn, "test", "second"));
  clock.advance(1s);
  EXPECT_TRUE(log.log(LogLevel::kWarn, "test", "third (1 similar suppressed)"));
  setLogLevel(before);
}

}  // namespace
}  // namespace surge
