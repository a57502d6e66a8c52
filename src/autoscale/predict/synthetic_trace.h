// A synthetic request-rate trace for tests, docs and the simulator: diurnal and weekly
// seasonality, a trend, a slowly wandering level, Gaussian noise and random spikes.
//   rate(t) = base · (1 + trend · weeks) · (1 + amplitude · shape(hour, weekend))
//                  · (weekend ? 1 - weekend_dip : 1) · (1 + wander_t) · spike_t · (1 + noise · N(0,1))
// shape: a daily curve peaking at 14:00 UTC with an evening shoulder (two harmonics), its peak at
// weekend_peak_hour on weekends and holidays; wander_t: AR(1) with correlation time wander_tau_seconds and stationary sd
// `wander`; spikes: a Poisson process (spikes_per_day), each a half-sine bump lasting
// [spike_min_seconds, spike_max_seconds] that multiplies the rate by up to 1 + spike_magnitude.
// Deterministic for a given Random seed. Complexity O(samples). Thread-safety: pure (uses rng).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autoscale/predict/forecaster.h"
#include "common/random.h"
#include "common/status.h"

namespace surge::autoscale {

struct SyntheticTraceOptions {
  int64_t start_unix_seconds = 1767571200;  // 2026-01-05T00:00:00Z, a Monday
  double days = 28;
  int64_t step_seconds = 15;
  double base = 500;             // mean weekday rate at the start, req/s
  double amplitude = 0.6;        // diurnal swing as a fraction of the level, [0, 1]
  double weekend_dip = 0.3;      // weekend level reduction, [0, 1)
  double trend_per_week = 0.02;  // relative growth per week
  double noise = 0.05;           // per-sample relative Gaussian sd, [0, 1]
  double wander = 0.03;          // stationary relative sd of the slow level, [0, 0.5]
  int64_t wander_tau_seconds = 3600;
  double spikes_per_day = 2;
  double spike_magnitude = 1.5;  // peak extra rate as a fraction of the rate
  int64_t spike_min_seconds = 60;
  int64_t spike_max_seconds = 900;
  double weekend_peak_hour = 16;  // the weekday peak is at 14:00 UTC
  // Weekdays follow a business-hours curve instead: low at night, steep ramps (about 20 min)
  // up at 08:00 and down at 18:00 UTC, a plateau with a lunch dip in between — a shape that a
  // few harmonics cannot follow.
  bool business_hours = false;
  // Days (0 = the start's day) that are holidays: weekend level and shape on a weekday.
  std::vector<int> holidays;
};

// Named shapes for evaluations (`surge predict synth --shape`), each the defaults plus:
//   weekly   strong weekly pattern: business-hours weekdays, weekend dip 0.5, no trend
//   daily    daily only: no weekend dip, the same peak hour every day, no trend
//   trend    growth of 8 %/week
//   holiday  weekly, and day 16 (a Wednesday for the default start) is a holiday
//   flash    weekly plus flash crowds: 1 a day, up to +300 %, lasting 20 min to 2 h
StatusOr<SyntheticTraceOptions> syntheticShape(const std::string& name);
const std::vector<std::string>& syntheticShapeNames();

Status validateSyntheticTraceOptions(const SyntheticTraceOptions& options);

// The noiseless rate (seasonality and trend only; no wander, spikes or noise).
double syntheticExpectedRate(const SyntheticTraceOptions& options, int64_t unix_seconds);

// Samples at start, start + step, ... for `days` days. Fails only on invalid options.
StatusOr<std::vector<RpsSample>> generateSyntheticTrace(const SyntheticTraceOptions& options,
                                                        Random& rng);

}  // namespace surge::autoscale
