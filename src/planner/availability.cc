#include "planner/availability.h"

#include <cmath>
#include <string>

#include "planner/distributions.h"
#include "planner/classic_formula.h"

namespace surge::planner {

double probAtLeastUp(int64_t total, int64_t required, double a) {
  if (required <= 0) return 1;
  if (required > total) return 0;
  return binomialWindow(total, a).atLeast(required);
}

StatusOr<AvailabilityResult> sizeForAvailability(int64_t required, double a, double target) {
  if (required < 1 || required > kMaxReplicas) {
    return invalidArgument("required replicas must be between 1 and " +
                           std::to_string(kMaxReplicas));
  }
  if (!(a > 0 && a <= 1)) return invalidArgument("replica_availability: must be in (0, 1]");
  if (!(target > 0 && target < 1)) return invalidArgument("availability_target: must be in (0, 1)");
  auto meets = [&](int64_t n) { return probAtLeastUp(n, required, a) >= target; };
  int64_t lo = required - 1, hi = required;  // meets(lo) is false (or lo < required)
  int64_t step = 1;
  while (!meets(hi)) {
    lo = hi;
    if (hi >= kMaxReplicas) {
      return Status(StatusCode::kOutOfRange,
                    "more than " + std::to_string(kMaxReplicas) +
                        " replicas would be needed to reach the availability target");
    }
    hi = std::min<int64_t>(kMaxReplicas, hi + step);
    step *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (meets(mid)) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  AvailabilityResult r;
  r.required_replicas = required;
  r.total_replicas = hi;
  r.spares = hi - required;
  r.p_at_least_required_up = probAtLeastUp(hi, required, a);
  return r;
}

}  // namespace surge::planner
