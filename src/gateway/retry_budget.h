// RetryBudget: Envoy's retry budget — how many retries that need a slot may be in flight at once
// over the whole gateway. decideRetry (retry_policy.h) consults it for retries the backend saw
// (resets, per-try timeouts); free retries (connect failures, stale pooled connections) and a
// request that already holds a slot never do. The proxy keeps the shared count (an atomic over all
// workers): +1 when decideRetry says take_budget_slot, -1 when that request ends.
// Rule (docs/design/gateway.md, "Retries"; tested in retry_budget_test.cc): a retry is admitted
// while retries_in_flight < max(min_concurrent, floor(percent/100 × (active_requests + 1))), the
// +1 counting the request asking. Hence, admitted one at a time, retries in flight never exceed
// that limit at the moment of an admission (the property test).
// Complexity: O(1). Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace surge::gateway {

struct RetryBudget {
  int64_t retries_in_flight = 0;  // over the whole gateway
  int64_t active_requests = 0;    // requests in flight over all hosts
  double percent = 20;            // retry_budget.percent
  int64_t min_concurrent = 3;     // retry_budget.min_concurrent
};

// The number of concurrent budgeted retries allowed now.
int64_t retryBudgetLimit(const RetryBudget& b);
// One more budgeted retry may start.
bool retryBudgetAdmits(const RetryBudget& b);

}  // namespace surge::gateway
