// The forecaster's feature vector for one instant (Unix seconds, UTC). The classic features —
// hour, weekday, weekend flag, sin/cos of the hour — become smooth periodic terms so that 23:59
// sits next to 00:00 and Sunday next to Monday:
//   intercept                         1
//   trend                             (t - t0) / 1 week
//   hour of day, harmonics k=1..K_d   sin/cos(2πk · hour_of_day / 24)    (the plain sin/cos hour)
//   hour of week, harmonics k=1..K_w  sin/cos(2πk · hour_of_week / 168)  (weekday, smoothly)
//   weekend flag                      1 on Saturday and Sunday (UTC)
//   weekend × hour of day, k=1..K_e   weekend · sin/cos(2πk · hour_of_day / 24) (weekend shape)
// Which groups are present depends on how much history there is (FeatureSpec, chosen by the
// forecaster). Every feature is O(1) in magnitude, which keeps the least-squares system well
// conditioned. Complexity O(number of features). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace surge::autoscale {

struct FeatureSpec {
  int64_t t0 = 0;  // trend origin (the first sample)
  bool trend = false;
  int day_harmonics = 0;   // K_d
  int week_harmonics = 0;  // K_w
  bool weekend = false;    // weekend flag and the weekend × hour-of-day interaction
  int weekend_harmonics = 2;  // K_e, used when weekend is set
};

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerWeek = 7 * kSecondsPerDay;

// 0 = Monday .. 6 = Sunday (UTC); 1970-01-01 was a Thursday.
int weekdayOf(int64_t unix_seconds);

size_t featureCount(const FeatureSpec& spec);
// Names in column order: "intercept", "trend_per_week", "day_sin1", "day_cos1", ...
std::vector<std::string> featureNames(const FeatureSpec& spec);
// Writes featureCount(spec) values to out.
void computeFeatures(const FeatureSpec& spec, int64_t unix_seconds, double* out);
std::vector<double> computeFeatures(const FeatureSpec& spec, int64_t unix_seconds);

}  // namespace surge::autoscale
