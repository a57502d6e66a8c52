#include "planner/littles_law.h"

#include "planner/erlang.h"

namespace surge::planner {

double concurrency(double rate, double latency_seconds) { return rate * latency_seconds; }

int64_t minStableReplicasFor(double rate, double service_time, int64_t slots) {
  return minStableReplicas(rate * service_time, slots);
}

}  // namespace surge::planner
