#include "autoscale/predict/combined_forecaster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autoscale/predict/evaluate.h"
#include "autoscale/predict/synthetic_trace.h"

namespace surge::autoscale {
namespace {

constexpr int64_t kMonday = 1767571200;  // 2026-01-05T00:00:00Z

// One sample per 5-minute bucket: the value is day * 1000 + bucket of the day.
std::vector<RpsSample> labelled(int days) {
  std::vector<RpsSample> out;
  for (int64_t t = kMonday; t < kMonday + days * kSecondsPerDay; t += 300) {
    const int64_t since = t - kMonday;
    out.push_back({t, static_cast<double>(since / kSecondsPerDay * 1000 +
                                          since % kSecondsPerDay / 300)});
  }
  return out;
}

TEST(BaselineTest, SameTimeLastWeekAndLastDayOfKind) {
  const BucketSeries s = BucketSeries::build(labelled(14), 300);
  ASSERT_EQ(s.values.size(), 14u * 288);
  const int64_t end = s.endTime();  // Monday of the third week, 00:00
  // Monday 10:00 of week 3: a week earlier is day 7; the last weekday is Friday, day 11.
  const int64_t t = end + 10 * 3600 + 150;
  EXPECT_EQ(sameTimeLastWeek(s, end, t).value(), 7 * 1000 + 120);
  EXPECT_EQ(sameTimeLastDayOfKind(s, end, t).value(), 11 * 1000 + 120);
  // Saturday of week 3 (day 19): the last weekend day known at the end is Sunday, day 13.
  const int64_t sat = end + 5 * kSecondsPerDay + 150;
  EXPECT_EQ(sameTimeLastDayOfKind(s, end, sat).value(), 13 * 1000);
  // Sunday of week 2 (day 13) known from Saturday's midday: Saturday itself, day 12.
  const int64_t sun = kMonday + 13 * kSecondsPerDay + 150;
  EXPECT_EQ(sameTimeLastDayOfKind(s, sun - 12 * 3600, sun).value(), 12 * 1000);
  // Eight days ahead: a week earlier is not known yet at the origin, two weeks earlier is.
  EXPECT_EQ(sameTimeLastWeek(s, end, end + 8 * kSecondsPerDay + 150).value(), 8 * 1000);
  // Nothing known that far back.
  EXPECT_FALSE(sameTimeLastWeek(s, kMonday + 3600, kMonday + 7200).has_value());

  SeasonalNaiveForecaster week;
  ASSERT_TRUE(week.fit(labelled(14)).isOk());
  EXPECT_EQ(week.forecast(t), 7 * 1000 + 120);
  DailyNaiveForecaster day;
  ASSERT_TRUE(day.fit(labelled(14)).isOk());
  EXPECT_EQ(day.forecast(t), 11 * 1000 + 120);
  EXPECT_FALSE(day.fit({}).isOk());
}

std::vector<RpsSample> shapeTrace(const std::string& shape, double days, uint64_t seed) {
  auto o = syntheticShape(shape);
  EXPECT_TRUE(o.isOk()) << shape;
  o->days = days;
  o->step_seconds = 300;
  Random rng(seed);
  return *generateSyntheticTrace(*o, rng);
}

TEST(CombinedForecasterTest, QuantilesAreOrderedAndTheMedianIsThePoint) {
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(shapeTrace("weekly", 21, 3)).isOk());
  ASSERT_TRUE(f.backtested()) << f.summary();
  for (int64_t lead : {600, 3600, 86400, 5 * 86400}) {
    const int64_t t = f.data().endTime() + lead;
    const double p = f.forecast(t);
    EXPECT_GT(p, 0);
    EXPECT_DOUBLE_EQ(f.forecastQuantile(t, 0.5), p);
    EXPECT_LT(f.forecastQuantile(t, 0.1), p);
    EXPECT_GT(f.forecastQuantile(t, 0.9), p);
    EXPECT_LE(f.forecastQuantile(t, 0.9), f.forecastQuantile(t, 0.99));
  }
}

TEST(CombinedForecasterTest, ShortHistoryIsTheHarmonicRegressionAlone) {
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(shapeTrace("weekly", 2, 1)).isOk());
  EXPECT_FALSE(f.backtested());
  EXPECT_NE(f.summary().find("harmonic regression alone"), std::string::npos) << f.summary();
  const int64_t t = f.data().endTime() + 600;
  // The same regression and short-term correction; the correction is referred to the newest
  // bucket's centre rather than its samples' mean time, hence "near".
  EXPECT_NEAR(f.forecast(t), f.harmonic().forecast(t), 0.03 * f.forecast(t));
  EXPECT_GT(f.forecastQuantile(t, 0.9), f.forecast(t));
  EXPECT_FALSE(f.fit({}).isOk());
  EXPECT_FALSE(f.fit({{kMonday, -1}}).isOk());
}

TEST(CombinedForecasterTest, RobustMeansLeaveOutOneAnomalousSource) {
  // 21 days of a flat 100 rps, but Friday of the third week (day 18) runs at 40.
  std::vector<RpsSample> h;
  for (int64_t t = kMonday; t < kMonday + 21 * kSecondsPerDay; t += 300) {
    h.push_back({t, (t - kMonday) / kSecondsPerDay == 18 ? 40.0 : 100.0});
  }
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(h).isOk());
  const int64_t end = f.data().endTime();
  const int64_t monday = end + 10 * 3600 + 150;
  EXPECT_EQ(f.componentFrom(Component::kDailyNaive, f.data(), end, monday).value(), 40);
  EXPECT_NEAR(f.componentFrom(Component::kDailyRobust, f.data(), end, monday).value(), 100, 1e-9);
  EXPECT_NEAR(f.componentFrom(Component::kWeeklyRobust, f.data(), end, monday).value(), 100, 1e-9);
  // Friday of the fourth week: a week earlier is the anomaly, the other two weeks are not.
  const int64_t friday = end + 4 * kSecondsPerDay + 150;
  EXPECT_EQ(f.componentFrom(Component::kWeeklyNaive, f.data(), end, friday).value(), 40);
  EXPECT_NEAR(f.componentFrom(Component::kWeeklyRobust, f.data(), end, friday).value(), 100, 1e-9);
}

TEST(CombinedForecasterTest, TheDailyRobustMeanAveragesTheLastFiveDaysOfTheKind) {
  // 21 days; weekdays at 100, 102, ..., 108 (Monday to Friday), Saturdays 50, Sundays 52: every
  // week alike, so the trend is 0.
  std::vector<RpsSample> h;
  for (int64_t t = kMonday; t < kMonday + 21 * kSecondsPerDay; t += 300) {
    const int64_t dow = (t - kMonday) / kSecondsPerDay % 7;
    h.push_back({t, dow < 5 ? 100.0 + 2 * static_cast<double>(dow) : dow == 5 ? 50.0 : 52.0});
  }
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(h).isOk());
  EXPECT_NEAR(f.weeklyTrend(), 0, 1e-12);
  const int64_t end = f.data().endTime();
  // Thursday of the fourth week: the last five weekdays are all of the third week's.
  const int64_t thursday = end + 3 * kSecondsPerDay + 10 * 3600 + 150;
  EXPECT_NEAR(f.componentFrom(Component::kDailyRobust, f.data(), end, thursday).value(), 104,
              1e-9);
  EXPECT_EQ(f.componentFrom(Component::kDailyNaive, f.data(), end, thursday).value(), 108);
  // Saturday: Sunday, Saturday, Sunday, Saturday, Sunday going back.
  const int64_t saturday = end + 5 * kSecondsPerDay + 150;
  EXPECT_NEAR(f.componentFrom(Component::kDailyRobust, f.data(), end, saturday).value(),
              (3 * 52.0 + 2 * 50.0) / 5, 1e-9);
}

TEST(CombinedForecasterTest, AHolidayDoesNotMoveTheTrend) {
  // 21 days growing 5 %/week, every 5-minute bucket up to ±5 % (uniform) off; the Wednesday of
  // the third week (day 16) runs at half the rate. A seventh of the last week's ratios are then
  // ~0.5: the median of all would read ~1 point/week low (3.9–4.1 %).
  Random rng(11);
  std::vector<RpsSample> h;
  for (int64_t t = kMonday; t < kMonday + 21 * kSecondsPerDay; t += 300) {
    const double weeks = static_cast<double>(t - kMonday) / kSecondsPerWeek;
    const double holiday = (t - kMonday) / kSecondsPerDay == 16 ? 0.5 : 1.0;
    h.push_back({t, 100 * std::pow(1.05, weeks) * holiday * (0.95 + 0.1 * rng.uniformDouble())});
  }
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(h).isOk());
  EXPECT_NEAR(f.weeklyTrend(), 0.05, 0.003);
}

TEST(CombinedForecasterTest, ARefitWithinTheHourKeepsTheBacktest) {
  std::vector<RpsSample> h = shapeTrace("weekly", 10, 2);
  CombinedForecaster f;
  ASSERT_TRUE(f.fit(h).isOk());
  ASSERT_TRUE(f.backtested());
  const double mape = f.bands()[0].backtest_mape;
  const int64_t last = h.back().unix_seconds;
  for (int i = 1; i <= 6; ++i) h.push_back({last + 300 * i, h[h.size() - 288].rps});
  ASSERT_TRUE(f.fit(h).isOk());  // 30 minutes more: the backtest is kept
  EXPECT_TRUE(f.backtested());
  EXPECT_EQ(f.bands()[0].backtest_mape, mape);
  for (int i = 7; i <= 24; ++i) h.push_back({last + 300 * i, h[h.size() - 288].rps});
  ASSERT_TRUE(f.fit(h).isOk());  // 2 hours more: a new backtest
  EXPECT_TRUE(f.backtested());
  EXPECT_NE(f.bands()[0].backtest_mape, mape);
}

// The acceptance check: on a held-out week of every synthetic shape the combination's MAPE per
// 5-minute bucket is at or below the better baseline's at every horizon, and so is its MAPE on
// the held-out hours forecast from the split alone (hourly_from_split, leads up to 7 days).
TEST(CombinedForecasterTest, NeverWorseThanTheBestBaselineOnSyntheticShapes) {
  for (const std::string& shape : syntheticShapeNames()) {
    auto r = compareForecasters(shapeTrace(shape, 28, 1), {});
    ASSERT_TRUE(r.isOk()) << shape << ": " << r.status().toString();
    std::vector<HorizonComparison> rows = r->horizons;
    rows.push_back(r->hourly_from_split);
    for (size_t i = 0; i < rows.size(); ++i) {
      const HorizonComparison& c = rows[i];
      const bool hourly = i + 1 == rows.size();
      std::printf("%-8s %7s  week %6.2f  day %6.2f  harmonic %6.2f  combination %6.2f  "
                  "cover %.2f\n",
                  shape.c_str(),
                  hourly ? "hourly*" : std::to_string(c.horizon_seconds).c_str(),
                  100 * c.last_week.mape, 100 * c.last_day.mape, 100 * c.harmonic.mape,
                  100 * c.combination.mape, c.coverage);
      EXPECT_GT(c.combination.scored, hourly ? 160u : 1500u) << shape;
      EXPECT_LE(c.combination.mape, c.bestBaselineMape())
          << shape << (hourly ? " hourly from the split" : " at " +
                                    std::to_string(c.horizon_seconds) + " s")
          << "; " << r->summary;
    }
  }
}

}  // namespace
}  // namespace surge::autoscale
