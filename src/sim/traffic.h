// sim/traffic: the offered request rate as a function of virtual time, and the arrival process
// that turns it into request times.
//   RateCurve: a sum of components — constant, step, ramp, diurnal (sinusoid between trough and
//   peak, peaking at peak_at within its period), spike (a flash crowd with linear rise and fall), a
//   CSV trace (`timestamp,rps`, the format of `surge predict`'s history; linear between samples,
//   held before the first and after the last) — times a weekend factor on Saturdays and Sundays
//   (UTC, from the start time) and a multiplicative noise factor max(0, 1 + noise·z), z standard
//   normal, drawn per noise interval from a hash of (seed, interval): rateAt() is a pure function.
//   ArrivalProcess: a non-homogeneous Poisson process (or deterministic arrivals) over the curve
//   held piecewise constant on `resolution` steps (evaluated at each step's middle). It draws a
//   unit of "work" — Exp(1) for Poisson, exactly 1 for deterministic — and consumes it at the
//   step's rate, crossing steps as needed: the time-change construction, exact for a piecewise
//   constant rate, with one random draw per request and no thinning.
// Complexity: rateAt O(components) (a trace: O(1) amortised for increasing times, O(log n)
// otherwise); next() O(1) amortised. Thread-safety: RateCurve immutable; ArrivalProcess none.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/status.h"

namespace surge::sim {

struct TracePoint {
  double t = 0;  // seconds since the trace's first sample
  double rps = 0;
};

struct RateComponent {
  enum class Kind { kConstant, kStep, kRamp, kDiurnal, kSpike, kTrace };
  Kind kind = Kind::kConstant;
  double rps = 0;        // constant; step (added from `at` on); spike height
  double at = 0;         // step, spike: start (s)
  double from = 0, to = 0;     // ramp: rates; between start and end, `to` after end, 0 before
  double start = 0, end = 0;   // ramp (s)
  double trough = 0, peak = 0;  // diurnal
  double peak_at = 14 * 3600.0;  // diurnal: time within the period of the peak (s)
  double period = 86400;        // diurnal (s)
  double duration = 0;          // spike: time at full height (s)
  double rise = 0;              // spike: rise and fall time (s)
  double scale = 1;             // trace
  std::vector<TracePoint> trace;
  // trace: Unix time of its first sample. Set, the trace is read on the wall clock (t = 0 is the
  // run's start, so `start:` later than the first sample skips into the trace and the part before
  // it is history); unset, the trace starts at t = 0.
  std::optional<int64_t> first_unix;
};

// Parses "timestamp,rps" lines (optional header; Unix seconds or RFC 3339 "2026-01-05T00:00:00Z").
// Times become seconds since the first sample; `first_unix` receives that sample's Unix time.
// Errors name file and line.
StatusOr<std::vector<TracePoint>> loadTraceCsv(const std::string& path, int64_t* first_unix);
// RFC 3339 (UTC "Z" or ±hh:mm offset; fractional seconds ignored) or an integer → Unix seconds.
StatusOr<int64_t> parseTimestamp(const std::string& text);

class RateCurve {
 public:
  RateCurve() = default;
  RateCurve(std::vector<RateComponent> components, double scale, double weekend_factor,
            int64_t start_unix, double noise, double noise_interval_s, uint64_t noise_seed);

  double rateAt(double t_seconds) const;  // requests/s at t (≥ 0)
  // Rate without noise.
  double baseRateAt(double t_seconds) const;
  // A typical past day at t (may be negative): the seasonal components only — constant, diurnal,
  // trace — without steps, ramps, spikes or noise, with the weekend factor of that date. What a
  // recorded history would have taught a forecaster before the run.
  double historyRateAt(double t_seconds) const;
  int64_t startUnix() const { return start_unix_; }
  // The earliest t (≤ 0 when the data reaches back before the start) for which every trace
  // component has recorded data: history before it would only repeat a trace's first value.
  // -infinity without trace components.
  double historyStart() const;

 private:
  double componentRate(const RateComponent& c, double t) const;
  double sum(double t, bool seasonal_only) const;
  std::vector<RateComponent> components_;
  double scale_ = 1;
  double weekend_factor_ = 1;
  int64_t start_unix_ = 0;
  double noise_ = 0;
  double noise_interval_ = 60;
  uint64_t noise_seed_ = 0;
};

class ArrivalProcess {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  ArrivalProcess(const RateCurve* curve, bool poisson, double resolution_s, double end_s,
                 Random* random);
  // The next arrival time in ns since the start, or kNever after end_s.
  int64_t next();

 private:
  void enterStep(int64_t step);
  const RateCurve* curve_;
  bool poisson_;
  double resolution_;
  double end_;
  Random* random_;
  int64_t step_ = -1;
  double step_rate_ = 0;  // requests per second in the current step
  double step_end_ = 0;   // seconds
  double t_ = 0;          // seconds; time of the last arrival
};

}  // namespace surge::sim
