#include "autoscale/predict/evaluate.h"

#include <gtest/gtest.h>

#include "autoscale/predict/synthetic_trace.h"

namespace surge::autoscale {
namespace {

std::vector<RpsSample> weeklyPeriodic(double days) {
  SyntheticTraceOptions o;
  o.days = days;
  o.step_seconds = 300;
  o.noise = 0;
  o.wander = 0;
  o.spikes_per_day = 0;
  o.trend_per_week = 0;
  Random rng(1);
  return *generateSyntheticTrace(o, rng);
}

TEST(EvaluateTest, SplitsAndScoresBothModels) {
  auto r = evaluateHoldout(weeklyPeriodic(21), {});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->holdout_samples, 7u * 288);
  EXPECT_EQ(r->train_samples, 14u * 288);
  // The last sample is at 21 d - 300 s, so the trace ends at 21 d and the hold-out starts at 14 d.
  EXPECT_EQ(r->split_unix_seconds, 1767571200 + 14 * kSecondsPerDay);
  EXPECT_EQ(r->model.scored, 7u * 288);
  // A perfectly weekly trace: the baseline is exact; so is the regression, up to the ridge (the
  // trace's shape has two daily harmonics and a weekend shift, all in the model's span).
  EXPECT_NEAR(r->naive.mape, 0, 1e-12);
  EXPECT_LT(r->model.mape, 0.002);
  EXPECT_EQ(r->model_bucket.scored, 7u * 288);
}

TEST(EvaluateTest, BaselineNeedsAPeriodOfHistory) {
  // 10 days, 7 held out: the first 4 held-out days have no sample a week earlier.
  auto r = evaluateHoldout(weeklyPeriodic(10), {});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->skipped, 4u * 288);
  EXPECT_EQ(r->model.scored, 3u * 288);
}

TEST(EvaluateTest, Errors) {
  EXPECT_FALSE(evaluateHoldout({}, {}).isOk());
  EvaluationOptions o;
  o.holdout_seconds = 30 * kSecondsPerDay;
  auto r = evaluateHoldout(weeklyPeriodic(21), o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("whole history"), std::string::npos);
  o = {};
  o.horizon_seconds = -1;
  EXPECT_FALSE(evaluateHoldout(weeklyPeriodic(21), o).isOk());
}

}  // namespace
}  // namespace surge::autoscale
