// Activator: what the gateway does with a request when no replica can take it because the model
// is scaled to zero (or every replica is still starting) — hold it in a bounded queue until the
// first replica is ready, as Knative's activator does, instead of answering 503 at once.
// Rules (docs/design/activator.md; tested in activator_test.cc):
//   - a request is held only when the activator is enabled, it is the request's first try (a
//     failed try is the retry policy's business) and no host of the published set is eligible
//     (shouldHold); a failed pick while some host is eligible keeps the usual answer;
//   - at most `queue_size` requests are held at once, gateway-wide (one atomic count shared by the
//     workers); one more is rejected at once: 503 with Retry-After (admit);
//   - a held request waits until a host is eligible (released: it is picked and sent as usual),
//     or until min(hold start + timeout, the request's own deadline): 503 with Retry-After
//     (heldOutcome);
//   - the first held request of a wave (the count leaves 0) pokes the activation listener — the
//     in-process autoscaler, which then syncs at once instead of at its next period;
//   - the count of held requests is a gauge (surge_gateway_held_requests): the autoscaler's
//     activation signal; counters say how many were held, released, timed out, overflowed or
//     abandoned by their client.
// The proxy (proxy.cc) parks a held session (state kHeld, no upstream, its body left in its
// buffer) and re-checks at each worker sweep, which runs every few milliseconds while a session
// is held; the data path pays nothing while a host is eligible (the checks run only after a pick
// found no host).
// Complexity: O(1) each, anyEligible aside (O(hosts), on the no-host path only).
// Thread-safety: the decisions are pure functions; HoldQueue's counts are atomics (any worker);
// the listener is guarded by a mutex (set from any thread, called from a worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace surge::gateway {

// gateway.yaml `activator: {enabled, queue_size, timeout, retry_after}`.
struct ActivatorOptions {
  bool enabled = false;
  int64_t queue_size = 1000;                          // requests held at once, gateway-wide
  Duration timeout = std::chrono::seconds(60);        // longest hold (the request timeout bounds it too)
  Duration retry_after = std::chrono::seconds(5);     // Retry-After of the 503 answers
};

// Hold a request that found no host to try? `tries`: tries made so far; `any_eligible`: some host
// of the published set is eligible now.
bool shouldHold(const ActivatorOptions& options, int tries, bool any_eligible);

enum class Admission { kHold, kReject };

// A new request finds `held` requests held: hold it too, or reject it (queue full).
Admission admit(int64_t held, int64_t queue_size);

// When a request held at `now` gives up: after `timeout`, or at its own deadline if sooner.
TimePoint holdDeadline(TimePoint now, Duration timeout, TimePoint request_deadline);

enum class HeldOutcome { kWait, kRelease, kTimeout };

// A held request at `now`: released as soon as a host is eligible (even at its deadline), timed
// out once its deadline has passed, else it keeps waiting.
HeldOutcome heldOutcome(TimePoint now, TimePoint deadline, bool any_eligible);

// Whole seconds for Retry-After (rounded up, at least 1).
int64_t retryAfterSeconds(Duration d);

// Sets the Retry-After header of a response head (writeLocalResponse's answer) to `seconds`:
// replaces the one there, or adds one before the blank line.
void setRetryAfter(std::string& response, int64_t seconds);

// How a held request ended (counters).
enum class HoldEnd { kReleased, kTimedOut, kAbandoned };

// The gateway-wide hold count and its counters, shared by the workers.
class HoldQueue {
 public:
  explicit HoldQueue(ActivatorOptions options) : options_(options) {}

  const ActivatorOptions& options() const { return options_; }

  // Holds one more request unless `queue_size` are held (then counts an overflow and returns
  // false). The first of a wave (count 0 → 1) calls the activation listener.
  bool tryHold();
  // A held request is no longer held.
  void end(HoldEnd how);

  // Called (on a worker thread) when the held count leaves 0; must not block. Thread-safe.
  void setListener(std::function<void()> fn);

  int64_t held() const { return held_.load(std::memory_order_relaxed); }
  uint64_t heldTotal() const { return held_total_.load(std::memory_order_relaxed); }
  uint64_t released() const { return released_.load(std::memory_order_relaxed); }
  uint64_t timedOut() const { return timed_out_.load(std::memory_order_relaxed); }
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  uint64_t abandoned() const { return abandoned_.load(std::memory_order_relaxed); }

 private:
  const ActivatorOptions options_;
  std::atomic<int64_t> held_{0};
  std::atomic<uint64_t> held_total_{0}, released_{0}, timed_out_{0}, overflowed_{0},
      abandoned_{0};
  std::mutex listener_mu_;
  std::function<void()> listener_;
};

}  // namespace surge::gateway
