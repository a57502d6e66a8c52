// Per-metric replica proposals, as kubernetes pkg/controller/podautoscaler/replica_calculator.go
// computes them (docs/autoscaling.md "Rules, in one breath"): Resource/ContainerResource Utilization
// and AverageValue, Pods AverageValue, Object and External Value/AverageValue, with pod grouping,
// back-fill of missing and unready pods, and per-direction tolerance.
// Complexity O(pods + samples) per metric (plus set look-ups). Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "autoscale/hpa/types.h"

namespace surge::autoscale {

// The dead band around 1.0: a usage ratio inside it proposes the current count.
struct Tolerances {
  double scale_down = 0.1;
  double scale_up = 0.1;
  bool isWithin(double ratio) const {
    return (1.0 - scale_down) <= ratio && ratio <= (1.0 + scale_up);
  }
};

// The controller's tolerance, overridden per direction by behavior.scaleUp/scaleDown.tolerance.
Tolerances tolerancesFor(const HpaSpec& spec, const ControllerOptions& options);

// Go's int32(math.Ceil(x)) without undefined behaviour: NaN → 0, saturating at the int32 range.
int32_t ceilToInt32(double x);

// One metric's proposal (or its error, with the pod lists filled as far as they were computed).
// Reads input.scale.spec_replicas (or status_replicas for per-pod Object/External targets),
// input.pods, input.metrics and input.now.
MetricResult computeMetricProposal(const MetricSpec& metric, const SyncInput& input,
                                   const Tolerances& tolerances);

}  // namespace surge::autoscale
