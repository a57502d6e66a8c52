// sim/service: how long a replica takes to serve one batch of `rows` requests.
//   exponential    mean S                  (M/M/c checks; a batch takes one draw)
//   deterministic  exactly S               (M/D/c checks)
//   lognormal      mean S, coefficient of variation cv (σ² = ln(1 + cv²), μ = ln S − σ²/2)
//   batch_curve    base + per_item × rows + U[0, jitter) — the synthetic backend's cost model
//                  (runtime/synthetic_backend.h), so a simulated replica costs what a
//                  `surge serve` synthetic model costs.
//   percentiles    a measured distribution: p0 (the minimum), p100 (the maximum) and any
//                  percentiles between (e.g. a model's p50/p90/p99 from a load test); sampled by
//                  linear interpolation between them, so the mean is their trapezoid sum.
// Complexity O(1). Thread-safety: immutable; the Random is the caller's.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "common/random.h"

namespace surge::sim {

struct ServiceModel {
  enum class Kind { kExponential, kDeterministic, kLognormal, kBatchCurve, kPercentiles };
  Kind kind = Kind::kExponential;
  double mean = 0.005;  // seconds (exponential, deterministic, lognormal)
  double cv = 0.5;      // lognormal
  double base = 0;      // seconds (batch_curve)
  double per_item = 0;  // seconds per row (batch_curve)
  double jitter = 0;    // seconds (batch_curve): uniform extra in [0, jitter)
  // percentiles: (fraction in [0, 1], seconds), fractions rising from 0 to 1, seconds not
  // falling.
  std::vector<std::pair<double, double>> quantiles;

  // Mean service time of a batch of `rows`.
  double meanSeconds(int64_t rows) const;
  int64_t sampleNanos(int64_t rows, Random& random) const;
};

std::string_view serviceKindName(ServiceModel::Kind kind);

}  // namespace surge::sim
