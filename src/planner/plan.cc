#include "planner/plan.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "planner/erlang.h"
#include "planner/exact.h"

namespace surge::planner {

StatusOr<Plan> makePlan(const PlanInputs& in) {
  Plan plan;
  ASSIGN_OR_RETURN(plan.classic, classicFormula(in.classic));
  plan.design_rate = in.classic.peak_rps * (1 + in.classic.spike_headroom);

  if (in.latency_target && !(*in.latency_target > 0 && std::isfinite(*in.latency_target))) {
    return invalidArgument("latency_target: must be > 0");
  }
  if (in.replicas && !in.service_time) {
    return invalidArgument("replicas: evaluating a replica count needs service_time");
  }
  if (in.service_time && !in.latency_target && !in.replicas) {
    return invalidArgument(
        "service_time: needs latency_target (to size) or replicas (to evaluate a count)");
  }

  QueueSpec spec;
  if (in.service_time) {
    spec.arrival_rate = plan.design_rate;
    spec.service_time = *in.service_time;
    spec.slots = in.slots;
    spec.distribution = in.distribution;
    spec.ca2 = in.ca2;
    spec.cs2 = in.cs2;
    spec.percentile = in.percentile;
    RETURN_IF_ERROR(validateQueueSpec(spec));
  }

  if (in.latency_target || in.service_time) {
    LittlesSection l;
    if (in.latency_target) l.concurrency = concurrency(in.classic.peak_rps, *in.latency_target);
    if (in.service_time) {
      l.min_stable_replicas = minStableReplicasFor(plan.design_rate, *in.service_time, in.slots);
    }
    plan.littles_law = l;
  }

  std::optional<int64_t> latency_sized;
  if (in.service_time) {
    QueueingSection qs;
    qs.model = std::string(modelName(in.distribution));
    qs.offered_load = spec.arrival_rate * spec.service_time;
    if (in.replicas) {
      qs.evaluated = true;
      auto evaluated = evaluateQueue(spec, *in.replicas);
      if (evaluated.status().code() == StatusCode::kOutOfRange) {
        return Status(StatusCode::kOutOfRange, "replicas: " + evaluated.status().message());
      }
      ASSIGN_OR_RETURN(QueueMetrics m, std::move(evaluated));
      const std::string label = percentileLabel(in.percentile);
      if (!m.stable) {
        qs.feasible = false;
        qs.reason = "unstable: utilization " + std::to_string(m.utilization) + " ≥ 1 (at least " +
                    std::to_string(minStableReplicas(qs.offered_load, in.slots)) +
                    " replicas are needed)";
      } else if (in.latency_target && m.response_percentile > *in.latency_target) {
        qs.feasible = false;
        qs.reason = "the " + label + " response time " + formatSeconds(m.response_percentile) +
                    " exceeds the " + formatSeconds(*in.latency_target) + " target";
      } else {
        qs.feasible = true;
      }
      qs.metrics = m;
      latency_sized = *in.replicas;
    } else {
      ASSIGN_OR_RETURN(SizingResult s, sizeForLatency(spec, *in.latency_target));
      qs.feasible = s.feasible;
      qs.reason = s.reason;
      qs.metrics = s.metrics;
      if (s.feasible) latency_sized = s.metrics->replicas;
    }
    plan.queueing = qs;
  }

  if (in.replica_availability) {
    const double a = *in.replica_availability;
    if (!(a > 0 && a <= 1)) return invalidArgument("replica_availability: must be in (0, 1]");
    if (!(in.availability_target > 0 && in.availability_target < 1)) {
      return invalidArgument("availability_target: must be strictly between 0 and 1");
    }
    std::optional<int64_t> required = latency_sized;
    if (!in.service_time) {
      // No queueing model: the capacity-sized count (base + spike headroom), exactly.
      const Rational need = Rational::fromDouble(in.classic.peak_rps) *
                            (Rational::integer(1) + Rational::fromDouble(in.classic.spike_headroom)) *
                            Rational::fromDouble(in.classic.instance_rps).inverse();
      auto c = need.ceil(static_cast<uint64_t>(kMaxReplicas));
      if (!c.isOk()) return c.status();
      required = static_cast<int64_t>(std::max<uint64_t>(1, *c));
    }
    if (required) {
      ASSIGN_OR_RETURN(plan.availability,
                       sizeForAvailability(*required, a, in.availability_target));
    }
  }

  if (plan.availability) {
    plan.recommended_replicas = plan.availability->total_replicas;
  } else if (plan.queueing) {
    plan.recommended_replicas = latency_sized.value_or(0);
  } else {
    plan.recommended_replicas = plan.classic.total_replicas;
  }
  if (plan.recommended_replicas > 0) {
    plan.cost = cost(plan.recommended_replicas, in.classic.price_per_hour, in.classic.peak_rps);
  }
  return plan;
}

}  // namespace surge::planner
