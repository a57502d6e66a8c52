#include "sim/traffic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

namespace surge::sim {
namespace {

RateCurve curveOf(std::vector<RateComponent> cs, double noise = 0) {
  return RateCurve(std::move(cs), 1, 1, 1767571200, noise, 60, 42);
}

// Counts arrivals in [0, seconds).
int64_t countArrivals(const RateCurve& curve, bool poisson, double seconds, uint64_t seed) {
  Random r(seed);
  ArrivalProcess a(&curve, poisson, 1.0, seconds, &r);
  int64_t n = 0;
  int64_t last = -1;
  for (int64_t t = a.next(); t != ArrivalProcess::kNever; t = a.next()) {
    EXPECT_GE(t, last);
    last = t;
    ++n;
  }
  return n;
}

TEST(Traffic, ConstantPoissonRate) {
  RateComponent c;
  c.rps = 1000;
  int64_t n = countArrivals(curveOf({c}), true, 1000, 1);
  EXPECT_NEAR(static_cast<double>(n), 1e6, 5 * std::sqrt(1e6));
}

TEST(Traffic, DeterministicArrivalsAreEvenlySpaced) {
  RateComponent c;
  c.rps = 100;
  RateCurve curve = curveOf({c});
  Random r(1);
  ArrivalProcess a(&curve, false, 1.0, 10, &r);
  int64_t prev = 0;
  for (int i = 0; i < 50; ++i) {
    int64_t t = a.next();
    EXPECT_NEAR(static_cast<double>(t - prev), 1e7, 2);
    prev = t;
  }
  EXPECT_NEAR(static_cast<double>(countArrivals(curve, false, 10, 1)), 1000, 1);
}

TEST(Traffic, DiurnalPeakTroughAndIntegral) {
  RateComponent d;
  d.kind = RateComponent::Kind::kDiurnal;
  d.trough = 100;
  d.peak = 500;
  d.peak_at = 14 * 3600;
  RateCurve curve = curveOf({d});
  EXPECT_NEAR(curve.rateAt(14 * 3600), 500, 1e-9);
  EXPECT_NEAR(curve.rateAt(2 * 3600), 100, 1e-9);
  EXPECT_NEAR(curve.rateAt(8 * 3600), 300, 1e-6);
  // An hour-long period (to keep the test fast) has mean 300 req/s → 1.08 M requests.
  d.period = 3600;
  d.peak_at = 1800;
  RateCurve hourly = curveOf({d});
  EXPECT_NEAR(hourly.rateAt(1800), 500, 1e-9);
  EXPECT_NEAR(hourly.rateAt(0), 100, 1e-9);
  int64_t n = countArrivals(hourly, true, 3600, 3);
  EXPECT_NEAR(static_cast<double>(n) / 1.08e6, 1.0, 0.005);
}

TEST(Traffic, StepRampSpikeCombine) {
  RateComponent base, step, ramp, spike;
  base.rps = 100;
  step.kind = RateComponent::Kind::kStep;
  step.at = 100;
  step.rps = 50;
  ramp.kind = RateComponent::Kind::kRamp;
  ramp.start = 200;
  ramp.end = 300;
  ramp.from = 0;
  ramp.to = 200;
  spike.kind = RateComponent::Kind::kSpike;
  spike.at = 400;
  spike.rise = 10;
  spike.duration = 20;
  spike.rps = 1000;
  RateCurve curve = curveOf({base, step, ramp, spike});
  EXPECT_DOUBLE_EQ(curve.rateAt(50), 100);
  EXPECT_DOUBLE_EQ(curve.rateAt(150), 150);
  EXPECT_DOUBLE_EQ(curve.rateAt(250), 250);
  EXPECT_DOUBLE_EQ(curve.rateAt(350), 350);
  EXPECT_DOUBLE_EQ(curve.rateAt(405), 850);
  EXPECT_DOUBLE_EQ(curve.rateAt(420), 1350);
  EXPECT_DOUBLE_EQ(curve.rateAt(435), 850);
  EXPECT_DOUBLE_EQ(curve.rateAt(441), 350);
  // Arrivals over [0, 500): ∫ = 100·500 + 50·400 + (100·100 + 200·200) + 1000·30
  int64_t n = countArrivals(curve, true, 500, 9);
  double expected = 50000 + 20000 + 50000 + 30000;
  EXPECT_NEAR(static_cast<double>(n), expected, 5 * std::sqrt(expected));
}

TEST(Traffic, NoiseIsSeededAndMeanPreserving) {
  RateComponent c;
  c.rps = 1000;
  RateCurve a = curveOf({c}, 0.2), b = curveOf({c}, 0.2);
  double sum = 0;
  for (int m = 0; m < 2000; ++m) {
    EXPECT_EQ(a.rateAt(m * 60.0 + 1), b.rateAt(m * 60.0 + 1));
    EXPECT_EQ(a.rateAt(m * 60.0 + 1), a.rateAt(m * 60.0 + 59));  // held per interval
    sum += a.rateAt(m * 60.0);
  }
  EXPECT_NEAR(sum / 2000, 1000, 15);
  EXPECT_NE(a.rateAt(30), a.rateAt(90));
}

TEST(Traffic, WeekendFactor) {
  RateComponent c;
  c.rps = 100;
  RateCurve curve(std::vector<RateComponent>{c}, 1, 0.5, 1767571200, 0, 60, 1);  // Monday 00:00
  EXPECT_DOUBLE_EQ(curve.rateAt(0), 100);
  EXPECT_DOUBLE_EQ(curve.rateAt(4.5 * 86400), 100);  // Friday
  EXPECT_DOUBLE_EQ(curve.rateAt(5.5 * 86400), 50);   // Saturday
  EXPECT_DOUBLE_EQ(curve.rateAt(6.5 * 86400), 50);   // Sunday
  EXPECT_DOUBLE_EQ(curve.rateAt(7.5 * 86400), 100);  // Monday
}

TEST(Traffic, TraceCsvInterpolatesAndReportsErrors) {
  std::string path = ::testing::TempDir() + "/sim_trace.csv";
  {
    std::ofstream f(path);
    f << "timestamp,rps\n2026-01-05T00:00:00Z,100\n2026-01-05T00:10:00Z,300\n1767572400,300\n";
  }
  int64_t first = 0;
  auto t = loadTraceCsv(path, &first);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(first, 1767571200);
  RateComponent c;
  c.kind = RateComponent::Kind::kTrace;
  c.trace = *t;
  RateCurve curve = curveOf({c});
  EXPECT_DOUBLE_EQ(curve.rateAt(300), 200);
  EXPECT_DOUBLE_EQ(curve.rateAt(5000), 300);
  {
    std::ofstream f(path);
    f << "timestamp,rps\n1767571200,100\n1767571260,lots\n";
  }
  auto bad = loadTraceCsv(path, &first);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find(":3: rps"), std::string::npos) << bad.status().message();
  std::remove(path.c_str());
  // A device is refused before it is read (/dev/zero would be one endless line).
  auto device = loadTraceCsv("/dev/zero", &first);
  ASSERT_FALSE(device.isOk());
  EXPECT_NE(device.status().message().find("not a regular file"), std::string::npos)
      << device.status().message();
}

TEST(Traffic, TraceIsReadOnTheWallClockAndItsEarlierPartIsHistory) {
  // Three days, one value per day (100, 200, 300); the run starts on the third day.
  RateComponent c;
  c.kind = RateComponent::Kind::kTrace;
  const int64_t first = 1767571200;  // 2026-01-05T00:00:00Z
  for (int day = 0; day < 3; ++day) {
    c.trace.push_back({day * 86400.0, 100.0 * (day + 1)});
    c.trace.push_back({day * 86400.0 + 86399, 100.0 * (day + 1)});
  }
  c.first_unix = first;
  RateCurve at_trace_start({c}, 1, 1, first, 0, 60, 1);
  EXPECT_DOUBLE_EQ(at_trace_start.rateAt(3600), 100);
  EXPECT_DOUBLE_EQ(at_trace_start.historyStart(), 0);  // no history before the trace
  RateCurve later({c}, 1, 1, first + 2 * 86400, 0, 60, 1);
  EXPECT_DOUBLE_EQ(later.rateAt(3600), 300);             // `start:` skips into the trace
  EXPECT_DOUBLE_EQ(later.historyRateAt(-86400 + 3600), 200);  // yesterday, as recorded
  EXPECT_DOUBLE_EQ(later.historyRateAt(-2 * 86400 + 3600), 100);
  EXPECT_DOUBLE_EQ(later.historyStart(), -2 * 86400.0);
  // Without a first timestamp (built in code), the trace starts at t = 0 as before.
  c.first_unix.reset();
  RateCurve plain({c}, 1, 1, first + 2 * 86400, 0, 60, 1);
  EXPECT_DOUBLE_EQ(plain.rateAt(3600), 100);
  // No trace: history is unbounded.
  RateComponent k;
  k.rps = 5;
  EXPECT_TRUE(std::isinf(RateCurve({k}, 1, 1, first, 0, 60, 1).historyStart()));
}

TEST(Traffic, ParseTimestamp) {
  EXPECT_EQ(*parseTimestamp("2026-01-05T00:00:00Z"), 1767571200);
  EXPECT_EQ(*parseTimestamp("2026-01-05T01:00:00+01:00"), 1767571200);
  EXPECT_EQ(*parseTimestamp("1767571200"), 1767571200);
  EXPECT_FALSE(parseTimestamp("yesterday").isOk());
}

}  // namespace
}  // namespace surge::sim
