// planner/classic_formula: the classic capacity calculator, reproduced exactly:
//   base = peak / single_instance_rps, spike headroom = base × 0.2, redundancy = 1 (N+1),
//   failure buffer = base × failure_rate, total = ceil(base + headroom + redundancy + failure),
//   monthly cost = total × price × 24 × 30, cost per million = monthly / (peak × 3600×24×30 / 1e6).
// One deliberate difference: the total is the ceiling of the EXACT sum of the decimals given
// (exact rational arithmetic, planner/exact.h) — 1880 rps / 50 per replica at failure rate 0.05 is
// 48 replicas, where float arithmetic gives 49. The headroom fraction and the
// redundancy count are inputs here (the classic calculator hard-codes 0.2 and 1). Like it, this ignores the
// latency and availability targets; planner/sizing.h and availability.h answer those.
// Complexity O(1). Thread-safety: pure function.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace surge::planner {

struct ClassicInputs {
  double peak_rps = 0;           // > 0
  double instance_rps = 0;       // > 0, single_instance_rps
  double failure_rate = 0.01;    // [0, 1]
  double spike_headroom = 0.2;   // ≥ 0, fraction of the base
  int64_t redundancy = 1;        // ≥ 0 extra replicas (N+1)
  double price_per_hour = 0.10;  // ≥ 0, per replica
};

struct ClassicResult {
  double base_replicas = 0;            // peak / instance_rps (not rounded)
  double spike_headroom_replicas = 0;  // base × spike_headroom
  int64_t redundancy_replicas = 0;
  double failure_buffer_replicas = 0;    // base × failure_rate
  int64_t total_replicas = 0;            // ceil of the exact sum
  double monthly_cost = 0;               // total × price × 720 h
  double cost_per_million_requests = 0;  // at the peak rate, as the classic formula does
};

// Largest total the planner accepts (keeps every count in int64 and every loop bounded).
inline constexpr int64_t kMaxReplicas = 10'000'000;

// InvalidArgument naming the field (snake_case) when an input is out of range; OutOfRange when
// the total exceeds kMaxReplicas.
StatusOr<ClassicResult> classicFormula(const ClassicInputs& in);

}  // namespace surge::planner
