#include "autoscale/predict/synthetic_trace.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "autoscale/predict/features.h"

namespace surge::autoscale {
namespace {

TEST(SyntheticTraceTest, DeterministicPerSeed) {
  SyntheticTraceOptions o;
  o.days = 2;
  Random a(1), b(1), c(2);
  auto x = generateSyntheticTrace(o, a);
  auto y = generateSyntheticTrace(o, b);
  auto z = generateSyntheticTrace(o, c);
  ASSERT_TRUE(x.isOk() && y.isOk() && z.isOk());
  ASSERT_EQ(x->size(), 2u * 86400 / 15);
  ASSERT_EQ(x->size(), z->size());
  bool differs = false;
  for (size_t i = 0; i < x->size(); ++i) {
    EXPECT_EQ((*x)[i].unix_seconds, o.start_unix_seconds + static_cast<int64_t>(i) * 15);
    ASSERT_EQ((*x)[i].rps, (*y)[i].rps);
    differs |= (*x)[i].rps != (*z)[i].rps;
    EXPECT_GE((*x)[i].rps, 0);
  }
  EXPECT_TRUE(differs);
}

TEST(SyntheticTraceTest, NoiselessTraceIsTheExpectedRate) {
  SyntheticTraceOptions o;
  o.days = 7;
  o.step_seconds = 600;
  o.noise = 0;
  o.wander = 0;
  o.spikes_per_day = 0;
  Random rng(1);
  auto x = generateSyntheticTrace(o, rng);
  ASSERT_TRUE(x.isOk());
  for (const RpsSample& s : *x) {
    ASSERT_DOUBLE_EQ(s.rps, syntheticExpectedRate(o, s.unix_seconds));
  }
  // Shape: weekday afternoon above the night, weekends lower.
  const int64_t monday = o.start_unix_seconds;
  EXPECT_GT(syntheticExpectedRate(o, monday + 14 * 3600),
            1.5 * syntheticExpectedRate(o, monday + 3 * 3600));
  EXPECT_LT(syntheticExpectedRate(o, monday + 5 * kSecondsPerDay + 16 * 3600),
            syntheticExpectedRate(o, monday + 14 * 3600));
}

TEST(SyntheticTraceTest, SpikesRaiseThePeak) {
  SyntheticTraceOptions o;
  o.days = 7;
  o.noise = 0;
  o.wander = 0;
  o.spikes_per_day = 0;
  Random r1(5), r2(5);
  auto calm = generateSyntheticTrace(o, r1);
  o.spikes_per_day = 4;
  o.spike_magnitude = 3;
  auto spiky = generateSyntheticTrace(o, r2);
  ASSERT_TRUE(calm.isOk() && spiky.isOk());
  size_t raised = 0;
  for (size_t i = 0; i < calm->size(); ++i) {
    ASSERT_GE((*spiky)[i].rps, (*calm)[i].rps - 1e-9);
    if ((*spiky)[i].rps > 1.5 * (*calm)[i].rps) ++raised;
  }
  EXPECT_GT(raised, 10u);
  EXPECT_LT(raised, calm->size() / 10);
}

TEST(SyntheticTraceTest, RejectsBadOptions) {
  Random rng(1);
  SyntheticTraceOptions o;
  o.days = 0;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());
  o = {};
  o.amplitude = 1.5;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());
  o = {};
  o.noise = -0.1;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());
  o = {};
  o.step_seconds = 0;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());
  o = {};
  o.spike_min_seconds = 100;
  o.spike_max_seconds = 50;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());
  o = {};
  o.days = 3650;
  o.step_seconds = 1;
  EXPECT_FALSE(generateSyntheticTrace(o, rng).isOk());  // too many samples
}

}  // namespace
}  // namespace surge::autoscale
