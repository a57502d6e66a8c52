#include "autoscale/sources/keda_policy.h"

#include <cmath>
#include <limits>

#include "autoscale/counter_rate.h"

namespace surge::autoscale {

StatusOr<double> promValue(const PromResult& result, const PrometheusTrigger& trigger) {
  if (result.samples.empty()) {
    if (trigger.ignore_null_values) return 0.0;
    return unavailable("prometheus metrics 'prometheus' target may be lost, the result is empty");
  }
  if (result.samples.size() > 1) {
    return invalidArgument("prometheus query " + trigger.query + " returned multiple elements (" +
                           std::to_string(result.samples.size()) + ")");
  }
  double v = result.samples[0].value;
  if (!std::isfinite(v)) {
    if (trigger.ignore_null_values) return 0.0;
    return unavailable(std::string("prometheus query returns ") +
                       (std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf")));
  }
  return v;
}

TriggerOutcome evaluateTrigger(const StatusOr<double>& value, const PrometheusTrigger& trigger,
                               const std::optional<KedaFallback>& fallback, TriggerHealth& health) {
  TriggerOutcome out;
  if (value.isOk()) {
    health.consecutive_failures = 0;
    out.value_milli = toMilli(*value);
    out.active = *value > trigger.activation_threshold;
    return out;
  }
  ++health.consecutive_failures;
  out.reason = value.status().message();
  if (fallback && fallback->failure_threshold >= 0 && fallback->replicas >= 0 &&
      health.consecutive_failures > fallback->failure_threshold) {
    double milli = trigger.threshold * 1000.0 * static_cast<double>(fallback->replicas);
    out.value_milli =
        milli >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(milli);
    out.active = true;
    out.fallback = true;
    out.reason = "fallback to " + std::to_string(fallback->replicas) + " replicas after " +
                 std::to_string(health.consecutive_failures) +
                 " consecutive failures: " + out.reason;
    return out;
  }
  out.error = true;
  return out;
}

ActivationDecision decideActivation(const ScaledObjectSpec& so, const ActivationInput& in,
                                    ActivationState& state) {
  ActivationDecision d;
  const int32_t min = so.min_replica_count;
  int32_t replicas = in.current_replicas;
  if (in.any_active) {
    if (replicas == 0) {
      d.scale_to = std::max(min, int32_t{1});
      d.reason = "KEDAScaleTargetActivated";
      d.message = "Scaled from 0 to " + std::to_string(*d.scale_to) + ": triggers are active";
      state.last_active = in.now;
    } else if (in.any_error) {
      d.reason = "PartialTriggerError";
      d.message = "Some triggers defined in ScaledObject are not working correctly";
    } else {
      d.reason = "ScalerActive";
      d.message = "Scaling is performed because triggers are active";
      state.last_active = in.now;
    }
  } else if (in.any_error && so.fallback && so.fallback->replicas != 0) {
    d.reason = "FallbackPending";
    d.message = "ScaleTarget will fall back to fallback.replicas after fallback.failureThreshold";
  } else if (in.any_error && !so.fallback) {
    d.reason = "TriggerError";
    d.message = "Triggers defined in ScaledObject are not working correctly";
  } else if (replicas > 0 && min == 0) {
    bool expired = state.last_active ? *state.last_active + so.cooldown_period < in.now
                                     : state.created + so.initial_cooldown_period < in.now;
    if (expired) {
      d.scale_to = 0;
      d.reason = "KEDAScaleTargetDeactivated";
      d.message = "Deactivated from " + std::to_string(replicas) + " to 0: no trigger active for " +
                  "cooldownPeriod";
    } else {
      d.reason = "ScalerCooldown";
      d.message = "Scaler cooling down because triggers are not active";
    }
  } else if (replicas < min) {
    d.scale_to = min;
    d.reason = "MinReplicaCount";
    d.message = "Set replicas to minReplicaCount " + std::to_string(min);
  } else {
    d.reason = "ScalerNotActive";
    d.message = "Scaling is not performed because triggers are not active";
  }
  if (d.scale_to) replicas = *d.scale_to;
  d.hpa_enabled = replicas > 0;
  return d;
}

}  // namespace surge::autoscale
