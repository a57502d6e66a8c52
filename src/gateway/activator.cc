#include "gateway/activator.h"

#include <algorithm>


namespace surge::gateway {

bool shouldHold(const ActivatorOptions& options, int tries, bool any_eligible) {
  return options.enabled && tries == 0 && !any_eligible;
}

Admission admit(int64_t held, int64_t queue_size) {
  return held < queue_size ? Admission::kHold : Admission::kReject;
}

TimePoint holdDeadline(TimePoint now, Duration timeout, TimePoint request_deadline) {
  return std::min(now + timeout, request_deadline);
}

HeldOutcome heldOutcome(TimePoint now, TimePoint deadline, bool any_eligible) {
  if (any_eligible) return HeldOutcome::kRelease;
  if (now >= deadline) return HeldOutcome::kTimeout;
  return HeldOutcome::kWait;
}

int64_t retryAfterSeconds(Duration d) {
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::max<int64_t>(1, (ms + 999) / 1000);
}

void setRetryAfter(std::string& r, int64_t seconds) {
  const std::string line = "Retry-After: " + std::to_string(seconds) + "\r\n";
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string::npos) return;  // not a response head
  size_t at = r.find("\r\nRetry-After:");
  if (at != std::string::npos && at < end) {
    const size_t eol = r.find("\r\n", at + 2);
    r.replace(at + 2, eol + 2 - (at + 2), line);
    return;
  }
  r.insert(end + 2, line);
}

bool HoldQueue::tryHold() {
  int64_t cur = held_.load(std::memory_order_relaxed);
  do {
    if (admit(cur, options_.queue_size) == Admission::kReject) {
      overflowed_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!held_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  held_total_.fetch_add(1, std::memory_order_relaxed);
  if (cur == 0) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    if (listener_) listener_();
  }
  return true;
}

void HoldQueue::end(HoldEnd how) {
  held_.fetch_sub(1, std::memory_order_relaxed);
  switch (how) {
    case HoldEnd::kReleased:
      released_.fetch_add(1, std::memory_order_relaxed);
      break;
    case HoldEnd::kTimedOut:
      timed_out_.fetch_add(1, std::memory_order_relaxed);
      break;
    case HoldEnd::kAbandoned:
      abandoned_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
}

void HoldQueue::setListener(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(fn);
}

}  // namespace surge::gateway
