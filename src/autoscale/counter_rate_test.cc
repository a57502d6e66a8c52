#include "autoscale/counter_rate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

TEST(CounterRates, FirstPointIsMissingThenRate) {
  ManualClock clock;
  CounterRates r;
  EXPECT_FALSE(r.observe("a", 100, clock.now()).has_value());
  clock.advance(15s);
  auto s = r.observe("a", 400, clock.now());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value_milli, 20000);  // 300 / 15 s = 20/s
  EXPECT_EQ(s->timestamp, clock.now());
  EXPECT_EQ(s->window, Duration(15s));
}

TEST(CounterRates, ResetCountsFromZero) {
  ManualClock clock;
  CounterRates r;
  (void)r.observe("a", 1000, clock.now());
  clock.advance(10s);
  auto s = r.observe("a", 50, clock.now());  // restarted process
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value_milli, 5000);
}

TEST(CounterRates, SameTimeIgnoredAndRetain) {
  ManualClock clock;
  CounterRates r;
  (void)r.observe("a", 1, clock.now());
  EXPECT_FALSE(r.observe("a", 2, clock.now()).has_value());
  (void)r.observe("b", 1, clock.now());
  EXPECT_EQ(r.size(), 2u);
  r.retain({"b"});
  EXPECT_EQ(r.size(), 1u);
  clock.advance(1s);
  EXPECT_FALSE(r.observe("a", 5, clock.now()).has_value());  // forgotten: first point again
  auto s = r.observe("b", 3, clock.now());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value_milli, 2000);
}

TEST(ToMilli, RoundsAndClamps) {
  EXPECT_EQ(toMilli(0.1), 100);
  EXPECT_EQ(toMilli(1.0005), 1001);
  EXPECT_EQ(toMilli(-3), 0);
  EXPECT_EQ(toMilli(std::nan("")), 0);
  EXPECT_EQ(toMilli(std::numeric_limits<double>::infinity()), 0);
  EXPECT_EQ(toMilli(1e30), std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace surge::autoscale
