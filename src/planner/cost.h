// planner/cost: the classic cost arithmetic — a 30-day month (720 h) of replica-hours, and cost per
// million requests at a given request rate (the classic formula divides by the PEAK rate, which understates
// the cost of a deployment whose average rate is lower; say which rate you pass).
// Complexity O(1). Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace surge::planner {

inline constexpr double kHoursPerMonth = 24.0 * 30.0;

struct CostResult {
  double monthly_cost = 0;
  double cost_per_million_requests = 0;
};

// total_replicas × price_per_hour × 720.
double monthlyCost(int64_t total_replicas, double price_per_hour);
// monthly_cost / (rate × 3600 × 24 × 30 / 1e6); 0 when rate ≤ 0.
double costPerMillionRequests(double monthly_cost, double requests_per_second);
CostResult cost(int64_t total_replicas, double price_per_hour, double requests_per_second);

}  // namespace surge::planner
