// planner/availability: how many replicas to run so that at least `required` are up with a given
// probability, replacing the classic formula's fixed N+1. Replicas fail independently and each is up with
// probability a, so the number up of n is Binomial(n, a):
//   P(≥ c up of n) = Σ_{i=c}^{n} C(n,i) a^i (1−a)^{n−i},
// computed from the mode outwards with the ratio recurrence (no factorials, no overflow) and
// summed from the small tail. The answer is the smallest n ≥ c with P ≥ target (P grows with n):
// found by galloping then bisection. N+1 is not enough at scale: 100 needed at a = 0.9 takes
// about 20 spares.
// Complexity: O(√n) per probability, O(√n log n) per sizing. Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace surge::planner {

struct AvailabilityResult {
  int64_t required_replicas = 0;
  int64_t total_replicas = 0;
  int64_t spares = 0;
  double p_at_least_required_up = 0;
};

// P(at least `required` of `total` independent replicas are up), each up with probability a.
double probAtLeastUp(int64_t total, int64_t required, double replica_availability);

// InvalidArgument for required < 1, a ∉ (0, 1], target ∉ (0, 1); OutOfRange when more than
// kMaxReplicas (classic_formula.h) would be needed.
StatusOr<AvailabilityResult> sizeForAvailability(int64_t required, double replica_availability,
                                                 double target);

}  // namespace surge::planner
