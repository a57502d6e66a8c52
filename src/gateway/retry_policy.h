// RetryPolicy: the pure decisions of the gateway's upstream attempts — which deadline bounds an
// attempt, which one expired, whether a failed attempt is retried on another host, and what the
// client gets when it is not. The proxy (proxy.cc) only feeds it facts and acts on the answer.
// Sources: Envoy's router (per_try_timeout: a try with no response head within the timeout is
// abandoned and retried within `num_retries` and the retry budget; the global timeout still
// bounds the request; 504 after the last try), Envoy's retry budget (budget_percent of active
// requests, min_retry_concurrency), and RFC 9110 §9.2.2 / RFC 9112 §9.3.1 for the free retry of a
// request sent on a pooled keep-alive connection the upstream had already closed.
// Rules (docs/design/gateway.md, "Per-try timeout"):
//   - a try may be retried only while nothing of its response has reached the client, the
//     request body is replayable, and tries <= retries;
//   - a reset or a per-try timeout after the upstream began answering is retried only for a
//     per-try timeout (the partial head was never forwarded); resets after response bytes are not
//     (the upstream may have acted on the request and started answering);
//   - connect failures and stale pooled connections never reached the backend: their retries
//     take no budget slot; every other retry needs one (a request holds at most one);
//   - timeouts answer 504, other failures 502.
// Complexity: O(1). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "gateway/retry_budget.h"

namespace surge::gateway {

// How one try failed, as the proxy sees it.
enum class TryFailure {
  kConnectFailed,    // connect refused, timed out, or the address does not resolve
  kStaleConnection,  // a pooled keep-alive connection the upstream had closed (no response byte)
  kReset,            // write failed, reset or closed before a complete response head, bad head
  kPerTryTimeout,    // no response head within timeouts.per_try
};

// The deadlines of the try in progress. TimePoint::max() = not armed.
struct TryDeadlines {
  TimePoint request = TimePoint::max();  // the request as a whole (timeouts.request)
  TimePoint connect = TimePoint::max();  // while connecting (timeouts.connect)
  TimePoint per_try = TimePoint::max();  // until the response head (timeouts.per_try)
};

enum class Expired { kNone, kConnect, kPerTry, kRequest };

// The earliest armed deadline (the session's sweep deadline while it waits for an upstream).
TimePoint nextDeadline(const TryDeadlines& d);
// Which deadline has passed at `now`; the request deadline wins over the others (no retry can
// help), then the per-try deadline, then the connect deadline.
Expired expiredDeadline(const TryDeadlines& d, TimePoint now);
// The per-try deadline of a try whose clock starts at `start`; per_try <= 0 means off (max()).
// The clock starts when the try starts or, for the first try of a streamed body, when the body
// has been received in full (Envoy starts the per-try timer at the downstream end of stream).
TimePoint perTryDeadline(TimePoint start, Duration per_try);

// Everything the retry decision depends on.
struct TryState {
  int tries = 0;                     // tries made so far, the failed one included
  int max_retries = 0;               // `retries`
  bool body_replayable = true;       // the whole request is still held (retry_max_body)
  bool response_to_client = false;   // some response byte already went to the client
  bool response_from_upstream = false;  // the failed try had received response bytes
  bool holds_budget_slot = false;    // the request already counts in retries_in_flight
};

struct RetryDecision {
  bool retry = false;
  bool take_budget_slot = false;  // the caller increments retries_in_flight
  int status = 502;               // the answer when not retried (502, or 504 for timeouts)
};

RetryDecision decideRetry(TryFailure failure, const TryState& state, const RetryBudget& budget);

// Does this failure count against the host (outlier detection, Host::recordFailure)? A stale
// pooled connection does not; a per-try timeout does (a hung host must be ejected).
bool countsAgainstHost(TryFailure failure);

}  // namespace surge::gateway
