// CacheBreaker: the circuit breaker of the shared prediction cache (serving/redis_cache.h), a pure
// policy — no threads, no sockets, time from an injected Clock. Classic three states (Nygard's
// "Release It!", as Envoy's outlier ejection and resilience4j apply it to one dependency):
//   closed:    every operation may go to Redis; `failure_threshold` consecutive failures → open.
//   open:      nothing goes to Redis (callers answer a miss at once) until `cooldown` has passed
//              since the breaker opened; then the next allow() lets exactly one probe through and
//              the breaker is half-open.
//   half-open: only the probe is outstanding; its success → closed (counters reset), its failure →
//              open again for a full cooldown. Everything else is refused meanwhile.
// A success in the closed state resets the consecutive-failure count.
// The caller must report the outcome (onSuccess/onFailure) of every allow() that returned true;
// an operation that is abandoned before reaching Redis reports onAbandon() so a probe slot is
// never lost.
// Complexity O(1) per call. Thread-safety: none (the driver serialises calls with its mutex).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"

namespace surge::serving {

enum class BreakerState : uint8_t { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

// "closed", "open", "half_open".
std::string_view breakerStateName(BreakerState s);

struct BreakerOptions {
  int failure_threshold = 5;                    // consecutive failures that open the breaker (>= 1)
  Duration cooldown = std::chrono::seconds(5);  // time open before a probe is let through
};

class CacheBreaker {
 public:
  CacheBreaker(BreakerOptions options, const Clock& clock);

  // May an operation go to Redis now? In the open state after the cooldown this hands out the
  // single probe (and the state becomes half-open).
  bool allow();
  // Would allow() return true now? Does not take the probe (a cheap pre-check before queueing).
  bool wouldAllow() const;

  void onSuccess();
  void onFailure();
  // An allowed operation never reached Redis (dropped, expired): frees the probe slot.
  void onAbandon();

  BreakerState state() const { return state_; }
  int consecutiveFailures() const { return failures_; }
  // Transitions to open so far (closed → open and half-open → open).
  uint64_t opens() const { return opens_; }

 private:
  void open();

  const BreakerOptions options_;
  const Clock& clock_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  TimePoint opened_at_{};
  bool probe_out_ = false;
  uint64_t opens_ = 0;
};

}  // namespace surge::serving
