#include "autoscale/predict/synthetic_trace.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "autoscale/predict/features.h"

namespace surge::autoscale {
namespace {

constexpr double kTwoPi = 2 * std::numbers::pi;

double gaussian(Random& rng) {
  // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - rng.uniformDouble();
  const double u2 = rng.uniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

// In [-1, 1]: peak near `peak_hour`, a smaller evening shoulder.
double dailyShape(double hour, double peak_hour) {
  const double x = kTwoPi * (hour - peak_hour) / 24.0;
  return (std::cos(x) + 0.3 * std::cos(2 * x - 1.0)) / 1.3;
}

// In [-1, 1]: business hours, steep logistic ramps at 08:00 and 18:00, a lunch dip at 12:30.
double businessShape(double hour) {
  auto ramp = [](double x) { return 1 / (1 + std::exp(-x / 0.1)); };  // ~20 min wide
  const double open = ramp(hour - 8) * ramp(18 - hour);
  const double lunch = 0.15 * std::exp(-0.5 * std::pow((hour - 12.5) / 0.4, 2));
  return 2 * (open - lunch) - 1;
}

struct Spike {
  int64_t start;
  int64_t duration;
  double magnitude;
};

}  // namespace

Status validateSyntheticTraceOptions(const SyntheticTraceOptions& o) {
  auto bad = [](const std::string& m) { return invalidArgument("synthetic trace: " + m); };
  if (!(o.days > 0 && o.days <= 3660)) return bad("days must be in (0, 3660]");
  if (o.step_seconds < 1 || o.step_seconds > kSecondsPerDay) {
    return bad("step must be between 1 s and 1 day");
  }
  if (o.days * kSecondsPerDay / static_cast<double>(o.step_seconds) > 20e6) {
    return bad("more than 20 million samples; use a larger step");
  }
  if (o.start_unix_seconds < 0) return bad("start must be >= 0 (Unix seconds)");
  if (!(o.base > 0 && o.base <= 1e9)) return bad("base must be in (0, 1e9]");
  if (!(o.amplitude >= 0 && o.amplitude <= 1)) return bad("amplitude must be in [0, 1]");
  if (!(o.weekend_dip >= 0 && o.weekend_dip < 1)) return bad("weekend dip must be in [0, 1)");
  if (!(o.trend_per_week >= -1 && o.trend_per_week <= 10)) {
    return bad("trend per week must be in [-1, 10]");
  }
  if (!(o.noise >= 0 && o.noise <= 1)) return bad("noise must be in [0, 1]");
  if (!(o.wander >= 0 && o.wander <= 0.5)) return bad("wander must be in [0, 0.5]");
  if (o.wander_tau_seconds < 1) return bad("wander correlation time must be >= 1 s");
  if (!(o.spikes_per_day >= 0 && o.spikes_per_day <= 1000)) {
    return bad("spikes per day must be in [0, 1000]");
  }
  if (!(o.spike_magnitude >= 0 && o.spike_magnitude <= 100)) {
    return bad("spike magnitude must be in [0, 100]");
  }
  if (o.spike_min_seconds < 1 || o.spike_max_seconds < o.spike_min_seconds) {
    return bad("spike durations need 1 <= min <= max");
  }
  if (!(o.weekend_peak_hour >= 0 && o.weekend_peak_hour < 24)) {
    return bad("weekend peak hour must be in [0, 24)");
  }
  for (int h : o.holidays) {
    if (h < 0 || h > 3660) return bad("holidays must be day numbers in [0, 3660]");
  }
  return Status::ok();
}

double syntheticExpectedRate(const SyntheticTraceOptions& o, int64_t t) {
  const double weeks = static_cast<double>(t - o.start_unix_seconds) / kSecondsPerWeek;
  const int64_t day_start = t - ((t % kSecondsPerDay) + kSecondsPerDay) % kSecondsPerDay;
  const double hour = static_cast<double>(t - day_start) / 3600.0;
  bool weekend = weekdayOf(t) >= 5;
  if (!o.holidays.empty()) {
    const int64_t since = t - o.start_unix_seconds;
    const int64_t day = since / kSecondsPerDay - (since % kSecondsPerDay < 0 ? 1 : 0);
    for (int h : o.holidays) weekend = weekend || h == day;
  }
  const double shape = !weekend && o.business_hours ? businessShape(hour)
                                                    : dailyShape(hour, weekend ? o.weekend_peak_hour : 14.0);
  const double level = std::max(0.0, 1 + o.trend_per_week * weeks);
  return o.base * level * (1 + o.amplitude * shape) * (weekend ? 1 - o.weekend_dip : 1.0);
}

const std::vector<std::string>& syntheticShapeNames() {
  static const std::vector<std::string> names = {"weekly", "daily", "trend", "holiday", "flash"};
  return names;
}

StatusOr<SyntheticTraceOptions> syntheticShape(const std::string& name) {
  SyntheticTraceOptions o;
  o.weekend_dip = 0.4;
  o.trend_per_week = 0;
  o.noise = 0.03;
  o.spikes_per_day = 0.5;
  o.spike_magnitude = 1.0;
  if (name == "weekly") {
    o.business_hours = true;
    o.weekend_dip = 0.5;
    return o;
  }
  if (name == "daily") {
    o.weekend_dip = 0;
    o.weekend_peak_hour = 14;
    return o;
  }
  if (name == "trend") {
    o.weekend_dip = 0.3;
    o.trend_per_week = 0.08;
    return o;
  }
  o.business_hours = true;
  o.weekend_dip = 0.5;
  if (name == "holiday") {
    o.holidays = {16};
    return o;
  }
  if (name == "flash") {
    o.spikes_per_day = 1;
    o.spike_magnitude = 3;
    o.spike_min_seconds = 1200;
    o.spike_max_seconds = 7200;
    return o;
  }
  std::string known;
  for (const std::string& n : syntheticShapeNames()) known += (known.empty() ? "" : ", ") + n;
  return invalidArgument("unknown shape '" + name + "' (one of " + known + ")");
}

StatusOr<std::vector<RpsSample>> generateSyntheticTrace(const SyntheticTraceOptions& o,
                                                        Random& rng) {
  RETURN_IF_ERROR(validateSyntheticTraceOptions(o));
  const int64_t span = static_cast<int64_t>(std::llround(o.days * kSecondsPerDay));
  const int64_t end = o.start_unix_seconds + span;

  // Spikes first (a fixed number of draws per spike), so their placement does not depend on the
  // per-sample noise draws.
  std::vector<Spike> spikes;
  if (o.spikes_per_day > 0) {
    const double mean_gap = kSecondsPerDay / o.spikes_per_day;
    double t = static_cast<double>(o.start_unix_seconds);
    while (true) {
      t += -std::log(1.0 - rng.uniformDouble()) * mean_gap;
      if (t >= static_cast<double>(end)) break;
      const int64_t width = o.spike_max_seconds - o.spike_min_seconds + 1;
      const int64_t duration =
          o.spike_min_seconds + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(width)));
      const double magnitude = o.spike_magnitude * (0.5 + 0.5 * rng.uniformDouble());
      spikes.push_back({static_cast<int64_t>(t), duration, magnitude});
    }
  }

  std::vector<RpsSample> out;
  out.reserve(static_cast<size_t>(span / o.step_seconds + 1));
  const double a = std::exp(-static_cast<double>(o.step_seconds) / o.wander_tau_seconds);
  const double innovation = o.wander * std::sqrt(1 - a * a);
  double wander = o.wander * gaussian(rng);
  size_t next_spike = 0;
  for (int64_t t = o.start_unix_seconds; t < end; t += o.step_seconds) {
    double rate = syntheticExpectedRate(o, t) * std::max(0.0, 1 + wander);
    while (next_spike < spikes.size() &&
           spikes[next_spike].start + spikes[next_spike].duration <= t) {
      ++next_spike;
    }
    for (size_t i = next_spike; i < spikes.size() && spikes[i].start <= t; ++i) {
      const Spike& s = spikes[i];
      if (t < s.start + s.duration) {
        const double phase = static_cast<double>(t - s.start) / static_cast<double>(s.duration);
        rate *= 1 + s.magnitude * std::sin(std::numbers::pi * phase);
      }
    }
    rate *= 1 + o.noise * gaussian(rng);
    out.push_back({t, std::max(0.0, rate)});
    wander = a * wander + innovation * gaussian(rng);
  }
  return out;
}

}  // namespace surge::autoscale
