#include "autoscale/predict/features.h"

#include <cmath>
#include <numbers>

namespace surge::autoscale {
namespace {

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int weekdayOf(int64_t unix_seconds) {
  const int64_t days = floorDiv(unix_seconds, kSecondsPerDay);
  return static_cast<int>(((days + 3) % 7 + 7) % 7);
}

size_t featureCount(const FeatureSpec& spec) {
  return 1 + (spec.trend ? 1 : 0) + 2 * static_cast<size_t>(spec.day_harmonics) +
         2 * static_cast<size_t>(spec.week_harmonics) + (spec.weekend ? 1 + 2 * static_cast<size_t>(spec.weekend_harmonics) : 0);
}

std::vector<std::string> featureNames(const FeatureSpec& spec) {
  std::vector<std::string> names = {"intercept"};
  if (spec.trend) names.push_back("trend_per_week");
  for (int k = 1; k <= spec.day_harmonics; ++k) {
    names.push_back("day_sin" + std::to_string(k));
    names.push_back("day_cos" + std::to_string(k));
  }
  for (int k = 1; k <= spec.week_harmonics; ++k) {
    names.push_back("week_sin" + std::to_string(k));
    names.push_back("week_cos" + std::to_string(k));
  }
  if (spec.weekend) {
    names.push_back("weekend");
    for (int k = 1; k <= spec.weekend_harmonics; ++k) {
      names.push_back("weekend_day_sin" + std::to_string(k));
      names.push_back("weekend_day_cos" + std::to_string(k));
    }
  }
  return names;
}

void computeFeatures(const FeatureSpec& spec, int64_t t, double* out) {
  constexpr double kTwoPi = 2 * std::numbers::pi;
  const int64_t sec_of_day = t - floorDiv(t, kSecondsPerDay) * kSecondsPerDay;
  const int weekday = weekdayOf(t);
  const double day_phase = static_cast<double>(sec_of_day) / kSecondsPerDay;                // [0,1)
  const double week_phase = (weekday + day_phase) / 7.0;                                     // [0,1)
  size_t i = 0;
  out[i++] = 1.0;
  if (spec.trend) out[i++] = static_cast<double>(t - spec.t0) / kSecondsPerWeek;
  for (int k = 1; k <= spec.day_harmonics; ++k) {
    out[i++] = std::sin(kTwoPi * k * day_phase);
    out[i++] = std::cos(kTwoPi * k * day_phase);
  }
  for (int k = 1; k <= spec.week_harmonics; ++k) {
    out[i++] = std::sin(kTwoPi * k * week_phase);
    out[i++] = std::cos(kTwoPi * k * week_phase);
  }
  if (spec.weekend) {
    const double w = weekday >= 5 ? 1.0 : 0.0;
    out[i++] = w;
    for (int k = 1; k <= spec.weekend_harmonics; ++k) {
      out[i++] = w * std::sin(kTwoPi * k * day_phase);
      out[i++] = w * std::cos(kTwoPi * k * day_phase);
    }
  }
}

std::vector<double> computeFeatures(const FeatureSpec& spec, int64_t unix_seconds) {
  std::vector<double> out(featureCount(spec));
  computeFeatures(spec, unix_seconds, out.data());
  return out;
}

}  // namespace surge::autoscale
