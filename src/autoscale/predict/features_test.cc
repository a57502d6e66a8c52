#include "autoscale/predict/features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autoscale/predict/history.h"

namespace surge::autoscale {
namespace {

const int64_t kMonday = daysFromCivil(2026, 1, 5) * kSecondsPerDay;  // 2026-01-05T00:00:00Z

FeatureSpec fullSpec() {
  FeatureSpec s;
  s.t0 = kMonday;
  s.trend = true;
  s.day_harmonics = 3;
  s.week_harmonics = 3;
  s.weekend = true;
  return s;
}

double feature(const FeatureSpec& spec, int64_t t, const std::string& name) {
  const auto names = featureNames(spec);
  const auto values = computeFeatures(spec, t);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return values[i];
  }
  ADD_FAILURE() << "no feature " << name;
  return NAN;
}

TEST(FeaturesTest, Weekday) {
  EXPECT_EQ(weekdayOf(0), 3);  // 1970-01-01 was a Thursday
  EXPECT_EQ(weekdayOf(kMonday), 0);
  EXPECT_EQ(weekdayOf(kMonday + 5 * kSecondsPerDay), 5);  // Saturday
  EXPECT_EQ(weekdayOf(kMonday + 7 * kSecondsPerDay - 1), 6);
  EXPECT_EQ(weekdayOf(-1), 2);  // 1969-12-31, a Wednesday
}

TEST(FeaturesTest, NamesMatchCountAndLayout) {
  const FeatureSpec spec = fullSpec();
  EXPECT_EQ(featureCount(spec), 19u);
  const auto names = featureNames(spec);
  ASSERT_EQ(names.size(), 19u);
  EXPECT_EQ(names[0], "intercept");
  EXPECT_EQ(names[1], "trend_per_week");
  EXPECT_EQ(names[2], "day_sin1");
  EXPECT_EQ(names[16], "weekend_day_cos1");
  EXPECT_EQ(names[18], "weekend_day_cos2");
  FeatureSpec daily;
  daily.day_harmonics = 2;
  EXPECT_EQ(featureCount(daily), 5u);
}

TEST(FeaturesTest, KnownValues) {
  const FeatureSpec spec = fullSpec();
  EXPECT_DOUBLE_EQ(feature(spec, kMonday, "intercept"), 1);
  EXPECT_NEAR(feature(spec, kMonday, "day_sin1"), 0, 1e-12);
  EXPECT_NEAR(feature(spec, kMonday, "day_cos1"), 1, 1e-12);
  EXPECT_NEAR(feature(spec, kMonday + 6 * 3600, "day_sin1"), 1, 1e-12);   // 06:00
  EXPECT_NEAR(feature(spec, kMonday + 6 * 3600, "day_cos2"), -1, 1e-12);  // 2 × 90°
  EXPECT_DOUBLE_EQ(feature(spec, kMonday, "weekend"), 0);
  const int64_t saturday_6am = kMonday + 5 * kSecondsPerDay + 6 * 3600;
  EXPECT_DOUBLE_EQ(feature(spec, saturday_6am, "weekend"), 1);
  EXPECT_NEAR(feature(spec, saturday_6am, "weekend_day_sin1"), 1, 1e-12);
  // Hour of week: Thursday 12:00 is half-way through the week.
  EXPECT_NEAR(feature(spec, kMonday + 3 * kSecondsPerDay + 12 * 3600, "week_cos1"), -1, 1e-12);
  EXPECT_NEAR(feature(spec, kMonday + 2 * kSecondsPerWeek, "trend_per_week"), 2, 1e-12);
}

TEST(FeaturesTest, MidnightIsContinuous) {
  FeatureSpec spec = fullSpec();
  spec.weekend = false;  // the weekend flag is a deliberate step
  spec.trend = false;
  const auto before = computeFeatures(spec, kMonday + kSecondsPerDay - 1);
  const auto after = computeFeatures(spec, kMonday + kSecondsPerDay);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(before[i], after[i], 1e-3) << i;
}

}  // namespace
}  // namespace surge::autoscale
