#include "planner/cost.h"

namespace surge::planner {

double monthlyCost(int64_t total_replicas, double price_per_hour) {
  // total × 720 is exact; one rounding in the product (2304, not 2304.0000000000005).
  return static_cast<double>(total_replicas) * kHoursPerMonth * price_per_hour;
}

double costPerMillionRequests(double monthly_cost, double requests_per_second) {
  if (!(requests_per_second > 0)) return 0;
  return monthly_cost * 1e6 / (requests_per_second * 3600.0 * kHoursPerMonth);
}

CostResult cost(int64_t total_replicas, double price_per_hour, double requests_per_second) {
  CostResult r;
  r.monthly_cost = monthlyCost(total_replicas, price_per_hour);
  r.cost_per_million_requests = costPerMillionRequests(r.monthly_cost, requests_per_second);
  return r;
}

}  // namespace surge::planner
