// planner/plan: the whole `surge plan` computation as one pure function of typed inputs — the
// CLI only parses flags/YAML into PlanInputs and prints the Plan.
//   classic_formula  always (classic_formula.h)
//   littles_law   when a latency target or a service time is given: concurrency at the PEAK
//                 rate (as the worked example), min stable replicas at the DESIGN rate
//   queueing      when a service time is given: sized for the latency target (or evaluated at
//                 `replicas`) at the design rate = peak × (1 + spike_headroom)
//   availability  when replica_availability is given: spares on top of the latency-sized count
//                 (or, without a queueing model, the capacity-sized ceil(design / instance_rps))
//   cost          for the recommended total (availability total, else the queueing count, else
//                 the classic total); cost per million at the peak rate, as the classic formula
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>

#include "common/status.h"
#include "planner/availability.h"
#include "planner/cost.h"
#include "planner/littles_law.h"
#include "planner/classic_formula.h"
#include "planner/sizing.h"

namespace surge::planner {

struct PlanInputs {
  ClassicInputs classic;  // peak_rps, instance_rps, failure_rate, spike_headroom, redundancy, price
  std::optional<double> service_time;  // seconds
  int64_t slots = 1;
  ServiceDistribution distribution = ServiceDistribution::kExponential;
  double ca2 = 1;
  double cs2 = 1;
  double percentile = 0.99;
  std::optional<double> latency_target;  // seconds
  std::optional<int64_t> replicas;       // evaluate this count instead of sizing
  std::optional<double> replica_availability;
  double availability_target = 0.999;
};

struct QueueingSection {
  std::string model;
  bool evaluated = false;  // true: `replicas` was given, not solved for
  bool feasible = false;
  std::string reason;
  double offered_load = 0;
  std::optional<QueueMetrics> metrics;  // empty when sizing found no count
};

struct LittlesSection {
  std::optional<double> concurrency;
  std::optional<int64_t> min_stable_replicas;
};

struct Plan {
  double design_rate = 0;  // peak × (1 + spike_headroom)
  ClassicResult classic;
  std::optional<LittlesSection> littles_law;
  std::optional<QueueingSection> queueing;
  std::optional<AvailabilityResult> availability;
  std::optional<CostResult> cost;
  int64_t recommended_replicas = 0;  // what `cost` prices (0 when there is none)
};

// InvalidArgument naming the snake_case field for bad or inconsistent inputs.
StatusOr<Plan> makePlan(const PlanInputs& in);

}  // namespace surge::planner
