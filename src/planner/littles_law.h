// planner/littles_law: L = λW (Little 1961), as the classic sizing uses it: the concurrency a deployment
// must hold is the request rate times the time each request spends (1000 req/s × 0.05 s = 50),
// and the fewest replicas that are strictly stable (utilisation < 1) for a rate and a service
// time: floor(λS/k) + 1 (erlang.h minStableReplicas; never ceil, which gives ρ = 1 when λS/k is
// a whole number — the worked example has λS = 25 exactly).
// Complexity O(1). Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace surge::planner {

struct LittlesLaw {
  double concurrency = 0;           // rate × latency
  int64_t min_stable_replicas = 0;  // floor(rate × service_time / slots) + 1
};

double concurrency(double rate, double latency_seconds);
int64_t minStableReplicasFor(double rate, double service_time, int64_t slots);

}  // namespace surge::planner
