#include "gateway/retry_budget.h"

#include <algorithm>

namespace surge::gateway {

int64_t retryBudgetLimit(const RetryBudget& b) {
  double allowed = b.percent / 100.0 * static_cast<double>(b.active_requests + 1);
  return std::max<int64_t>(b.min_concurrent, static_cast<int64_t>(allowed));
}

bool retryBudgetAdmits(const RetryBudget& b) { return b.retries_in_flight < retryBudgetLimit(b); }

}  // namespace surge::gateway
