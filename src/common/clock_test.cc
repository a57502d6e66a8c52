#include "common/clock.h"

#include <gtest/gtest.h>

namespace surge {
namespace {

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock c;
  TimePoint t0 = c.now();
  EXPECT_EQ(c.now(), t0);
  c.advance(std::chrono::milliseconds(1500));
  EXPECT_DOUBLE_EQ(toSeconds(c.now() - t0), 1.5);
}

TEST(ClockTest, SteadyClockIsMonotonic) {
  TimePoint a = SteadyClock::instance().now();
  TimePoint b = SteadyClock::instance().now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace surge
