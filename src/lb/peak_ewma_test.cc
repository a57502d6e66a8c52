#include "lb/peak_ewma.h"

#include <cmath>

#include <gtest/gtest.h>

namespace surge::lb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr double kMs = 1e6;

TEST(PeakEwmaTest, NoSampleUsesFallback) {
  PeakEwma e;
  EXPECT_FALSE(e.hasSamples());
  EXPECT_DOUBLE_EQ(e.estimateNanos(milliseconds(30)), 30 * kMs);
}

TEST(PeakEwmaTest, FirstSampleSetsCost) {
  ManualClock clock;
  PeakEwma e;
  e.observe(milliseconds(12), clock.now(), seconds(10));
  EXPECT_TRUE(e.hasSamples());
  EXPECT_EQ(e.samples(), 1u);
  EXPECT_DOUBLE_EQ(e.estimateNanos(milliseconds(30)), 12 * kMs);
}

TEST(PeakEwmaTest, JumpsUpAtOnceOnASlowSample) {
  ManualClock clock;
  PeakEwma e;
  e.observe(milliseconds(10), clock.now(), seconds(10));
  clock.advance(milliseconds(1));
  e.observe(milliseconds(500), clock.now(), seconds(10));
  EXPECT_DOUBLE_EQ(e.estimateNanos(milliseconds(30)), 500 * kMs);
}

TEST(PeakEwmaTest, DecaysTowardFasterSamplesWithTau) {
  ManualClock clock;
  const auto tau = seconds(10);
  PeakEwma e;
  e.observe(milliseconds(100), clock.now(), tau);
  clock.advance(tau);  // one time constant: w = e^-1
  e.observe(milliseconds(10), clock.now(), tau);
  const double w = std::exp(-1.0);
  const double expected = 100 * kMs * w + 10 * kMs * (1 - w);
  EXPECT_NEAR(e.estimateNanos(milliseconds(30)), expected, 1.0);
  // A sample right after barely moves the estimate (w ~ 1).
  clock.advance(milliseconds(1));
  e.observe(milliseconds(10), clock.now(), tau);
  EXPECT_NEAR(e.estimateNanos(milliseconds(30)), expected, 0.01 * kMs);
  // A long quiet period then one fast sample: almost all the way down.
  clock.advance(seconds(100));
  e.observe(milliseconds(10), clock.now(), tau);
  EXPECT_NEAR(e.estimateNanos(milliseconds(30)), 10 * kMs, 0.01 * kMs);
}

TEST(PeakEwmaTest, SlowerTauDecaysLess) {
  ManualClock clock;
  PeakEwma fast, slow;
  fast.observe(milliseconds(100), clock.now(), seconds(1));
  slow.observe(milliseconds(100), clock.now(), seconds(30));
  clock.advance(seconds(1));
  fast.observe(milliseconds(10), clock.now(), seconds(1));
  slow.observe(milliseconds(10), clock.now(), seconds(30));
  EXPECT_LT(fast.estimateNanos({}), slow.estimateNanos({}));
}

}  // namespace
}  // namespace surge::lb
