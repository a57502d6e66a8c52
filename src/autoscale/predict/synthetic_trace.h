// A synthetic request-rate trace for tests, docs and the simulator: diurnal and weekly
// seasonality, a trend, a slowly wandering level, Gaussian noise and random spikes.
//   rate(t) = base · (1 + trend · weeks) · (1 + amplitude · shape(hour, weekend))
//                  · (weekend ? 1 - weekend_dip : 1) · (1 + wander_t) · spike_t · (1 + noise · N(0,1))
// shape: a daily curve peaking at 14:00 UTC with an evening shoulder (two harmonics), its peak 2 h
// later on weekends; wander_t: AR(1) with correlation time wander_tau_seconds and stationary sd
// `wander`; spikes: a Poisson process (spikes_per_day), each a half-sine bump lasting
// [spike_min_seconds, spike_max_seconds] that multiplies the rate by up to 1 + spike_magnitude.
// Deterministic for a given Random seed. Complexity O(samples). Thread-safety: pure (uses rng).
#pragma once

#include <cstdint>
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
};

Status validateSyntheticTraceOptions(const SyntheticTraceOptions& options);

// The noiseless rate (seasonality and trend only; no wander, spikes or noise).
double syntheticExpectedRate(const SyntheticTraceOptions& options, int64_t unix_seconds);

// Samples at start, start + step, ... for `days` days. Fails only on invalid options.
StatusOr<std::vector<RpsSample>> generateSyntheticTrace(const SyntheticTraceOptions& options,
                                                        Random& rng);

}  // namespace surge::autoscale
