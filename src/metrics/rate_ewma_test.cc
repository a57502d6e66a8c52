#include "metrics/rate_ewma.h"

#include <gtest/gtest.h>

#include <cmath>

namespace surge::metrics {
namespace {

using std::chrono::seconds;

TEST(RateEwma, FirstIntervalSeedsTheRate) {
  ManualClock clock;
  RateEwma r(seconds(10));
  EXPECT_FALSE(r.ready());
  r.update(100, clock.now());
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.rate(), 0);
  clock.advance(seconds(2));
  r.update(300, clock.now());
  EXPECT_TRUE(r.ready());
  EXPECT_DOUBLE_EQ(r.rate(), 100);  // 200 events in 2 s
}

TEST(RateEwma, MovesTowardNewRateWithTimeConstant) {
  ManualClock clock;
  RateEwma r(seconds(10));
  double total = 0;
  r.update(total, clock.now());
  clock.advance(seconds(1));
  total += 50;
  r.update(total, clock.now());
  EXPECT_DOUBLE_EQ(r.rate(), 50);
  // The rate jumps to 150/s; after one window the gap has shrunk to e^-1 of itself.
  for (int i = 0; i < 10; ++i) {
    clock.advance(seconds(1));
    total += 150;
    r.update(total, clock.now());
  }
  EXPECT_NEAR(r.rate(), 150 - 100 * std::exp(-1.0), 1e-9);
  // Irregular intervals weigh by length: one 10 s interval equals ten 1 s ones.
  RateEwma a(seconds(10)), b(seconds(10));
  ManualClock ca, cb;
  a.update(0, ca.now());
  b.update(0, cb.now());
  ca.advance(seconds(1));
  cb.advance(seconds(1));
  a.update(10, ca.now());
  b.update(10, cb.now());
  ca.advance(seconds(10));
  a.update(10 + 500, ca.now());
  for (int i = 1; i <= 10; ++i) {
    cb.advance(seconds(1));
    b.update(10 + 50 * i, cb.now());
  }
  EXPECT_NEAR(a.rate(), b.rate(), 1e-9);
}

TEST(RateEwma, ConvergesToASteadyRate) {
  ManualClock clock;
  RateEwma r(seconds(30));
  double total = 0;
  for (int i = 0; i < 600; ++i) {
    r.update(total, clock.now());
    clock.advance(std::chrono::milliseconds(500));
    total += 40;  // 80 events/s
  }
  EXPECT_NEAR(r.rate(), 80, 1e-6);
}

TEST(RateEwma, CounterResetAndTimeGoingNowhere) {
  ManualClock clock;
  RateEwma r(seconds(10));
  r.update(1000, clock.now());
  clock.advance(seconds(1));
  r.update(1010, clock.now());
  EXPECT_DOUBLE_EQ(r.rate(), 10);
  r.update(5000, clock.now());  // same instant: ignored, counted by the next reading
  EXPECT_DOUBLE_EQ(r.rate(), 10);
  clock.advance(seconds(10));
  r.update(1110, clock.now());  // +100 over 10 s = 10/s
  EXPECT_NEAR(r.rate(), 10, 1e-9);
  clock.advance(seconds(10));
  r.update(100, clock.now());  // restart: 100 new events in 10 s = 10/s
  EXPECT_NEAR(r.rate(), 10, 1e-9);
}

TEST(RateEwma, DecaysWhenIdleAndAddCounts) {
  ManualClock clock;
  RateEwma r(seconds(10));
  r.add(0, clock.now());
  clock.advance(seconds(1));
  r.add(20, clock.now());
  EXPECT_DOUBLE_EQ(r.rate(), 20);
  EXPECT_DOUBLE_EQ(r.rateAt(clock.now()), 20);
  EXPECT_NEAR(r.rateAt(clock.now() + seconds(10)), 20 * std::exp(-1.0), 1e-9);
  r.reset();
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.rate(), 0);
  EXPECT_EQ(r.window(), seconds(10));
}

}  // namespace
}  // namespace surge::metrics
