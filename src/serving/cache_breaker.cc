#include "serving/cache_breaker.h"

#include <algorithm>

namespace surge::serving {

std::string_view breakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

CacheBreaker::CacheBreaker(BreakerOptions options, const Clock& clock)
    : options_{std::max(1, options.failure_threshold), options.cooldown}, clock_(clock) {}

bool CacheBreaker::wouldAllow() const {
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      return clock_.now() - opened_at_ >= options_.cooldown;
    case BreakerState::kHalfOpen:
      return !probe_out_;
  }
  return true;
}

bool CacheBreaker::allow() {
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (clock_.now() - opened_at_ < options_.cooldown) return false;
      state_ = BreakerState::kHalfOpen;
      probe_out_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return true;
}

void CacheBreaker::onSuccess() {
  failures_ = 0;
  if (state_ == BreakerState::kHalfOpen) {
    state_ = BreakerState::kClosed;
    probe_out_ = false;
  }
}

void CacheBreaker::onFailure() {
  switch (state_) {
    case BreakerState::kClosed:
      if (++failures_ >= options_.failure_threshold) open();
      break;
    case BreakerState::kHalfOpen:
      open();
      break;
    case BreakerState::kOpen:
      // An operation allowed before the breaker opened finished late: already counted as open.
      break;
  }
}

void CacheBreaker::onAbandon() {
  if (state_ == BreakerState::kHalfOpen) probe_out_ = false;
}

void CacheBreaker::open() {
  state_ = BreakerState::kOpen;
  opened_at_ = clock_.now();
  probe_out_ = false;
  ++opens_;
}

}  // namespace surge::serving
