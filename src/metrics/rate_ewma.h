// RateEwma: a counter's rate (events/second) smoothed by a time-decayed exponentially weighted
// moving average — the "load average" form used by Unix loadavg and Finagle/Linkerd: each new
// interval's rate r = Δcount / Δt enters with weight α = 1 − exp(−Δt / window), so irregular
// sampling intervals are weighed by their length and the estimate forgets the past with time
// constant `window` (after one window an old rate keeps e^-1 ≈ 37% of its weight).
// Feed it a cumulative counter (e.g. scraped surge_requests_total) with the time of each reading;
// a counter that went down is taken as a restart (the delta is the new total, as Prometheus'
// rate() does). The first interval seeds the estimate directly (no slow ramp from zero).
// Complexity O(1). Thread-safety: none; one owner (e.g. the autoscaler loop).
#pragma once

#include "common/clock.h"

namespace surge::metrics {

class RateEwma {
 public:
  // window > 0.
  explicit RateEwma(Duration window);

  // Records the counter's cumulative value `total` read at `now`. The first call only sets the
  // baseline. Readings at or before the previous one's time are ignored (their increase is
  // counted by the next later reading).
  void update(double total, TimePoint now);
  // Records `events` more events at `now` (for callers that count events themselves).
  void add(double events, TimePoint now) { update(total_ + events, now); }

  // The smoothed rate as of the last update, in events per second; 0 before two readings.
  double rate() const { return rate_; }
  // The rate at `now` assuming nothing happened since the last update (decays toward 0).
  double rateAt(TimePoint now) const;
  // True once a rate has been measured (two readings at different times).
  bool ready() const { return has_rate_; }
  Duration window() const { return window_; }
  void reset();

 private:
  Duration window_;
  bool has_baseline_ = false;
  bool has_rate_ = false;
  double total_ = 0;
  TimePoint last_{};
  double rate_ = 0;
};

}  // namespace surge::metrics
