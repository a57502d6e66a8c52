// KEDA's pure decisions, apart from the queries (keda_scaler.h) — one poll of a ScaledObject:
//  1. promValue: a Prometheus answer → the trigger's value (prometheus_scaler.go
//     ExecutePromQuery): an empty result or an empty value list → 0 with ignoreNullValues (the
//     default), else an error; several series → error; NaN/±Inf → 0 with ignoreNullValues, else
//     error. A scalar result is taken as is (a surge extension: KEDA's parser rejects scalars).
//  2. evaluateTrigger: the value → External metric in milli-units and activity (value >
//     activationThreshold); a failure increments the trigger's consecutive-failure count and,
//     with a fallback configured, once the count exceeds failureThreshold
//     (fallback.go: NumberOfFailures > FailureThreshold) reports fallback.replicas × threshold
//     (× 1000 milli, truncated as KEDA's int64 conversion), so the HPA computes exactly
//     fallback.replicas; a fallback counts as active and not as an error. A success resets the
//     count to 0.
//  3. decideActivation: the scale executor's 0↔N step (scale_scaledobjects.go RequestScale):
//     active and at 0 replicas → scale to max(minReplicaCount, 1); active → lastActiveTime = now
//     (unless some trigger errored); inactive, no error, replicas > 0 and minReplicaCount == 0 →
//     scale to 0 once lastActiveTime + cooldownPeriod is before now (never active: creation +
//     initialCooldownPeriod); inactive and below minReplicaCount → scale to minReplicaCount;
//     inactive with errors → hold. Between 1 and maxReplicaCount the HPA (runSync) decides; at 0
//     replicas the HPA is disabled (Kubernetes' ScalingDisabled) and only this step runs.
// Complexity O(triggers). Thread-safety: pure functions on caller-owned state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "autoscale/keda.h"
#include "autoscale/sources/prometheus_client.h"
#include "common/clock.h"
#include "common/status.h"

namespace surge::autoscale {

StatusOr<double> promValue(const PromResult& result, const PrometheusTrigger& trigger);

struct TriggerHealth {
  int32_t consecutive_failures = 0;
};

struct TriggerOutcome {
  std::optional<int64_t> value_milli;  // the External metric value; nullopt when it failed
  bool active = false;                 // value > activationThreshold (or a fallback)
  bool error = false;                  // failed and no fallback yet
  bool fallback = false;               // value_milli is the fallback value
  std::string reason;                  // why it failed (also set on a fallback)
};

TriggerOutcome evaluateTrigger(const StatusOr<double>& value, const PrometheusTrigger& trigger,
                               const std::optional<KedaFallback>& fallback, TriggerHealth& health);

struct ActivationState {
  std::optional<TimePoint> last_active;  // ScaledObject.status.lastActiveTime
  TimePoint created{};                   // when the ScaledObject was loaded
};

struct ActivationInput {
  bool any_active = false;  // some trigger active (fallbacks count)
  bool any_error = false;   // some trigger failed without a fallback
  int32_t current_replicas = 0;
  TimePoint now{};
};

struct ActivationDecision {
  std::optional<int32_t> scale_to;  // set the target to this many replicas (KEDA's own scale)
  bool hpa_enabled = true;          // replicas > 0 after the decision: run the HPA sync
  std::string reason;               // KEDAScaleTargetActivated, ScalerCooldown, ...
  std::string message;
};

ActivationDecision decideActivation(const ScaledObjectSpec& so, const ActivationInput& in,
                                    ActivationState& state);

}  // namespace surge::autoscale
