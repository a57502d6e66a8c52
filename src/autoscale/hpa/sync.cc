// runSync: one reconcile of the HorizontalPodAutoscaler controller (horizontal.go
// reconcileAutoscaler), steps 1–6 of docs/autoscaling.md "Rules, in one breath": seed the history, the
// current == 0 / out-of-range guards, per-metric proposals and their max with the partial-failure
// rules, normalization (legacy or behavior), and the scale event. Pure: everything it needs is in
// SyncInput, everything it decides (with the history to keep) in SyncResult.
// Complexity O(metrics × (pods + samples) + history). Thread-safety: pure function.
#include <string>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/normalization.h"
#include "autoscale/hpa/replica_calculator.h"

namespace surge::autoscale {
namespace {

std::string failureReason(MetricSourceType type) {
  return std::string("FailedGet") + metricSourceTypeName(type) + "Metric";
}

}  // namespace

SyncResult runSync(const SyncInput& in) {
  SyncResult out;
  const int32_t current = in.scale.spec_replicas;
  const int32_t min_replicas = in.spec.min_replicas;
  const int32_t max_replicas = in.spec.max_replicas;

  // 2. First time the HPA is seen: seed the recommendations with {current, now}.
  if (in.history) {
    out.history = *in.history;
  } else {
    out.history.recommendations.push_back({current, in.now});
  }
  out.desired_replicas = current;
  out.proposal = current;
  out.stabilized_replicas = current;

  std::optional<ResolvedBehavior> behavior;
  if (in.spec.behavior) behavior = resolveBehavior(*in.spec.behavior, in.controller);

  auto finish = [&](int32_t desired) {
    out.desired_replicas = desired;
    out.scaled = desired != current;
    if (out.scaled && behavior) storeScaleEvent(*behavior, current, desired, in.now, &out.history);
    return out;
  };

  // 3. Guards that read no metric.
  if (current == 0 && min_replicas != 0) {
    out.condition = {"ScalingDisabled",
                     "scaling is disabled since the replica count of the target is zero"};
    return out;
  }
  if (current > max_replicas) {
    out.condition = {"TooManyReplicas", "Current number of replicas above Spec.MaxReplicas"};
    return finish(max_replicas);
  }
  if (current < min_replicas) {
    out.condition = {"TooFewReplicas", "Current number of replicas below Spec.MinReplicas"};
    return finish(min_replicas);
  }

  // 4. One proposal per metric; max over the valid ones.
  const Tolerances tolerances = tolerancesFor(in.spec, in.controller);
  int32_t replicas = 0;
  std::string best_metric;
  int invalid = 0;
  const MetricResult* first_invalid = nullptr;
  out.metrics.reserve(in.spec.metrics.size());
  for (const MetricSpec& m : in.spec.metrics) {
    out.metrics.push_back(computeMetricProposal(m, in, tolerances));
  }
  for (const MetricResult& r : out.metrics) {
    if (!r.proposal) {
      if (first_invalid == nullptr) first_invalid = &r;
      ++invalid;
      continue;
    }
    if (replicas == 0 || *r.proposal > replicas) {
      replicas = *r.proposal;
      best_metric = r.name;
    }
  }
  const int total = static_cast<int>(in.spec.metrics.size());
  if (invalid >= total || (invalid > 0 && replicas < current)) {
    // All failed, or some failed and the rest would scale down: hold, and say why.
    std::string msg = "invalid metrics (" + std::to_string(invalid) + " invalid out of " +
                      std::to_string(total) + "), first error is: ";
    msg += first_invalid != nullptr ? *first_invalid->error : "no metrics";
    if (invalid < total) {
      msg += "; not scaling down to " + std::to_string(replicas) + " on partial metrics";
    }
    out.condition = {first_invalid != nullptr ? failureReason(first_invalid->type)
                                              : std::string("FailedGetResourceMetric"),
                     msg};
    if (invalid < total) out.proposal = replicas;  // what the valid metrics wanted
    return out;
  }
  out.proposal = replicas;

  // 5. Normalize.
  Normalized n;
  if (behavior) {
    n = normalizeWithBehavior(current, replicas, min_replicas, max_replicas, in.now, *behavior,
                              &out.history);
  } else {
    n = normalizeLegacy(current, replicas, min_replicas, max_replicas, in.now, in.controller,
                        &out.history.recommendations);
  }
  out.stabilized_replicas = n.stabilized;
  out.condition = n.condition;
  // 6. Write the scale (the driver does) and store the event.
  return finish(n.desired);
}

}  // namespace surge::autoscale
