#include "gateway/retry_policy.h"

#include <algorithm>

namespace surge::gateway {

TimePoint nextDeadline(const TryDeadlines& d) {
  return std::min({d.request, d.connect, d.per_try});
}

Expired expiredDeadline(const TryDeadlines& d, TimePoint now) {
  if (now >= d.request) return Expired::kRequest;
  if (now >= d.per_try) return Expired::kPerTry;
  if (now >= d.connect) return Expired::kConnect;
  return Expired::kNone;
}

TimePoint perTryDeadline(TimePoint start, Duration per_try) {
  if (per_try <= Duration::zero()) return TimePoint::max();
  if (start > TimePoint::max() - per_try) return TimePoint::max();
  return start + per_try;
}

bool countsAgainstHost(TryFailure failure) { return failure != TryFailure::kStaleConnection; }

RetryDecision decideRetry(TryFailure failure, const TryState& s, const RetryBudget& b) {
  RetryDecision d;
  d.status = failure == TryFailure::kPerTryTimeout ? 504 : 502;
  if (s.tries > s.max_retries || !s.body_replayable || s.response_to_client) return d;
  // Bytes of a response head that timed out were never forwarded: the try is simply abandoned.
  // After a reset mid-head the upstream was answering: it may have acted on the request.
  if (s.response_from_upstream && failure != TryFailure::kPerTryTimeout) return d;
  const bool free_retry =
      failure == TryFailure::kConnectFailed || failure == TryFailure::kStaleConnection;
  if (free_retry || s.holds_budget_slot) {
    d.retry = true;
    return d;
  }
  if (!retryBudgetAdmits(b)) return d;
  d.retry = true;
  d.take_budget_slot = true;
  return d;
}

}  // namespace surge::gateway
