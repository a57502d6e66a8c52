#include "autoscale/predict/forecaster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autoscale/predict/evaluate.h"
#include "autoscale/predict/features.h"
#include "autoscale/predict/synthetic_trace.h"

namespace surge::autoscale {
namespace {

const int64_t kMonday = 1767571200;  // 2026-01-05T00:00:00Z

// Truth for the full 19-feature model (names as featureNames(): intercept, trend, 6 daily, 6
// weekly, weekend, 4 weekend × daily).
const std::vector<double> kTruth = {400, 20, 120, -80, 30, 10,  -5, 4, 15, -25,
                                    8,   -6, 3,   2,   -90, 25, -12, 6, -3};

std::vector<RpsSample> noiselessSeries(int64_t days, int64_t step) {
  FeatureSpec spec;
  spec.t0 = kMonday;
  spec.trend = true;
  spec.day_harmonics = 3;
  spec.week_harmonics = 3;
  spec.weekend = true;
  std::vector<RpsSample> out;
  for (int64_t t = kMonday; t < kMonday + days * kSecondsPerDay; t += step) {
    const auto f = computeFeatures(spec, t);
    double y = 0;
    for (size_t j = 0; j < f.size(); ++j) y += f[j] * kTruth[j];
    out.push_back({t, y});
  }
  return out;
}

TEST(ForecasterTest, RecoversKnownCoefficientsFromNoiselessSeries) {
  ForecasterOptions options;
  options.ridge = 0;
  SeasonalForecaster f(options);
  // One sample per bucket, at the bucket start, so bucket times equal sample times.
  ASSERT_TRUE(f.fit(noiselessSeries(28, 300)).isOk());
  ASSERT_FALSE(f.flat());
  ASSERT_EQ(f.coefficients().size(), kTruth.size()) << f.summary();
  for (size_t j = 0; j < kTruth.size(); ++j) {
    EXPECT_NEAR(f.coefficients()[j], kTruth[j], 1e-6) << f.featureNames()[j];
  }
  // The default ridge trades a little bias in correlated coefficients (weekend flag vs weekly
  // harmonics) for stability; the fitted curve stays within 1 rps of a ~400 rps mean.
  SeasonalForecaster ridge;
  ASSERT_TRUE(ridge.fit(noiselessSeries(28, 300)).isOk());
  for (const RpsSample& s : noiselessSeries(28, 3600)) {
    EXPECT_NEAR(ridge.seasonal(s.unix_seconds), s.rps, 1.0);
  }
  // Extrapolates a week ahead exactly (the truth is in the model's span).
  const auto future = noiselessSeries(35, 3600);
  for (size_t i = future.size() - 168; i < future.size(); i += 7) {
    EXPECT_NEAR(f.forecast(future[i].unix_seconds), future[i].rps, 1e-6);
  }
}

TEST(ForecasterTest, AggregatesPer15sSamplesIntoBuckets) {
  // Per-15 s samples for 28 days (161280): fit must stay fast and accurate.
  SeasonalForecaster f;
  ASSERT_TRUE(f.fit(noiselessSeries(28, 15)).isOk());
  EXPECT_NE(f.summary().find("8064 buckets"), std::string::npos) << f.summary();
  const auto future = noiselessSeries(29, 900);
  for (size_t i = future.size() - 96; i < future.size(); i += 5) {
    EXPECT_NEAR(f.forecast(future[i].unix_seconds), future[i].rps,
                0.005 * future[i].rps);  // bucket means of a curved signal: tiny bias
  }
}

TEST(ForecasterTest, HeldOutDayOfNoisyTraceWithSpikesBeatsSeasonalNaive) {
  // 28 days, 60 s steps, 5 % per-sample noise, a 3 % slow wander, ~2 spikes a day. The noise
  // alone puts a floor of E|N(0, 0.05)| = 0.04 under any per-sample MAPE; a bound of 0.06 leaves
  // room for the wander (which no forecast can know an hour ahead) and the model's approximation
  // of a multiplicative shape. Measured: ~0.05 at 10 min.
  SyntheticTraceOptions o;
  o.step_seconds = 60;
  Random rng(7);
  auto trace = generateSyntheticTrace(o, rng);
  ASSERT_TRUE(trace.isOk());
  EvaluationOptions e;
  e.holdout_seconds = kSecondsPerDay;
  e.horizon_seconds = 600;
  auto r = evaluateHoldout(*trace, e);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->holdout_samples, 1440u);
  EXPECT_LT(r->model.mape, 0.06) << r->model_summary;
  EXPECT_LT(r->model.mape, r->naive.mape);
  EXPECT_LT(r->model_bucket.mape, 0.04);
}

TEST(ForecasterTest, HuberIgnoresSpikesThatPlainLeastSquaresFollows) {
  // Clean seasonal series with ten 30-minute spikes of +300 % in the training data.
  auto clean = noiselessSeries(21, 300);
  auto spiky = clean;
  for (size_t i = 0; i < spiky.size(); ++i) {
    if (i % 600 < 6) spiky[i].rps *= 4;  // every ~2 days
  }
  ForecasterOptions plain;
  plain.huber_k = 1e9;  // no down-weighting: ordinary least squares
  plain.residual_correction = false;
  ForecasterOptions robust;
  robust.residual_correction = false;
  SeasonalForecaster a(plain), b(robust);
  ASSERT_TRUE(a.fit(spiky).isOk());
  ASSERT_TRUE(b.fit(spiky).isOk());
  double err_plain = 0, err_robust = 0;
  for (const RpsSample& s : clean) {
    err_plain += std::abs(a.forecast(s.unix_seconds) - s.rps) / s.rps;
    err_robust += std::abs(b.forecast(s.unix_seconds) - s.rps) / s.rps;
  }
  err_plain /= clean.size();
  err_robust /= clean.size();
  EXPECT_GT(err_plain, 0.02);
  EXPECT_LT(err_robust, 0.005) << b.summary();
}

TEST(ForecasterTest, FlatMeanWithLessThanADay) {
  std::vector<RpsSample> s;
  for (int i = 0; i < 6 * 240; ++i) s.push_back({kMonday + i * 15, i % 2 ? 110.0 : 90.0});
  SeasonalForecaster f;
  ASSERT_TRUE(f.fit(s).isOk());
  EXPECT_TRUE(f.fitted());
  EXPECT_TRUE(f.flat());
  EXPECT_DOUBLE_EQ(f.forecast(kMonday + 7 * 3600), 100);
  EXPECT_DOUBLE_EQ(f.forecast(kMonday + 30 * kSecondsPerDay), 100);
  EXPECT_NE(f.summary().find("flat mean 100"), std::string::npos) << f.summary();
  EXPECT_NE(f.summary().find("6 h"), std::string::npos) << f.summary();
}

TEST(ForecasterTest, DailyTermsOnlyWithUnderAWeek) {
  SeasonalForecaster f;
  ASSERT_TRUE(f.fit(noiselessSeries(3, 300)).isOk());
  EXPECT_FALSE(f.flat());
  EXPECT_EQ(f.featureSpec().week_harmonics, 0);
  EXPECT_FALSE(f.featureSpec().trend);
  EXPECT_EQ(f.coefficients().size(), 7u);
  EXPECT_NE(f.summary().find("daily seasonal regression"), std::string::npos);
}

TEST(ForecasterTest, RejectsEmptyAndBadSamples) {
  SeasonalForecaster f;
  Status s = f.fit({});
  EXPECT_FALSE(s.isOk());
  EXPECT_FALSE(f.fitted());
  EXPECT_EQ(f.summary(), "not fitted");
  s = f.fit({{kMonday, 1}, {kMonday + 15, std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("finite"), std::string::npos);
  ForecasterOptions bad;
  bad.bucket_seconds = 0;
  SeasonalForecaster g(bad);
  EXPECT_FALSE(g.fit({{kMonday, 1}}).isOk());
}

TEST(ForecasterTest, ForecastIsNeverNegative) {
  // A steep decline: the trend extrapolates below zero a few weeks on.
  std::vector<RpsSample> s;
  for (int64_t t = kMonday; t < kMonday + 21 * kSecondsPerDay; t += 300) {
    s.push_back({t, 1000.0 - 40.0 * static_cast<double>(t - kMonday) / 86400.0});
  }
  SeasonalForecaster f;
  ASSERT_TRUE(f.fit(s).isOk());
  EXPECT_LT(f.seasonal(kMonday + 60 * kSecondsPerDay), 0);
  EXPECT_EQ(f.forecast(kMonday + 60 * kSecondsPerDay), 0);
}

TEST(ForecasterTest, RecentResidualCorrectsShortHorizonsAndDecays) {
  SyntheticTraceOptions o;
  o.days = 14;
  o.step_seconds = 60;
  o.noise = 0.01;
  o.spikes_per_day = 0;
  o.wander = 0.1;
  o.wander_tau_seconds = 7200;
  Random rng(3);
  auto trace = generateSyntheticTrace(o, rng);
  ASSERT_TRUE(trace.isOk());
  SeasonalForecaster f;
  ASSERT_TRUE(f.fit(*trace).isOk());
  EXPECT_GT(f.residualPhi(), 0.8) << f.summary();  // a 2 h wander is strongly autocorrelated
  // Traffic running 20 % above the model for the last 10 minutes.
  const int64_t now = trace->back().unix_seconds + 60;
  std::vector<RpsSample> recent;
  for (int64_t t = now - 600; t < now; t += 60) recent.push_back({t, 1.2 * f.seasonal(t)});
  const double soon = f.forecastAfter(now + 300, recent) - f.seasonal(now + 300);
  const double later = f.forecastAfter(now + 6 * 3600, recent) - f.seasonal(now + 6 * 3600);
  EXPECT_GT(soon, 0.05 * f.seasonal(now + 300));
  EXPECT_LT(std::abs(later), 0.5 * soon);
  EXPECT_GE(later, 0);
}

TEST(PredictiveReplicasTest, CeilAndMinimum) {
  EXPECT_EQ(predictiveReplicas(250, 100, 2), 3);
  EXPECT_EQ(predictiveReplicas(200, 100, 2), 2);
  EXPECT_EQ(predictiveReplicas(201, 100, 1), 3);
  EXPECT_EQ(predictiveReplicas(1000, 100, 2), 10);
  EXPECT_EQ(predictiveReplicas(50, 100, 2), 2);
  EXPECT_EQ(predictiveReplicas(50, 100, 0), 1);
  EXPECT_EQ(predictiveReplicas(0, 100, 0), 0);
  EXPECT_EQ(predictiveReplicas(-5, 100, 2), 2);
  EXPECT_EQ(predictiveReplicas(1e30, 1, 2), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(predictiveReplicas(500, 0, 2), 2);   // no capacity figure: the floor only
  EXPECT_EQ(predictiveReplicas(NAN, 100, 3), 3);
  EXPECT_EQ(predictiveReplicas(500, 100, -4), 5);
}

}  // namespace
}  // namespace surge::autoscale
