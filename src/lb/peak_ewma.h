// PeakEwma: latency estimate of one host (Finagle PeakEwma / Linkerd / tower peak_ewma).
// observe(rtt): w = exp(-(now - stamp) / tau); cost = rtt > cost ? rtt : cost*w + rtt*(1-w).
// The estimate jumps up to a slower sample at once and decays toward faster ones with time
// constant tau. A host without samples has no estimate (the balancer then uses its default RTT).
// Thread-safety: observe() and estimate() may race from several workers; a tiny spinlock keeps
// (cost, stamp) consistent. O(1).
#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace surge::lb {

class PeakEwma {
 public:
  // Records one round-trip sample taken at `now`.
  void observe(Duration rtt, TimePoint now, Duration tau);
  // Estimate in nanoseconds at `now` (no decay applied between samples: the estimate changes only
  // on observe, as in Linkerd); `fallback` when there has been no sample.
  double estimateNanos(Duration fallback) const;
  // The estimate as a balancer reads it at `now`: decayed toward 0 by the idle time since the last
  // sample, cost x exp(-(now - stamp) / tau) (Finagle reads through observe(0), tower decays on
  // load()). Without it a host that was once slow would never be picked again under light load,
  // and so never re-measured. `fallback` when there has been no sample.
  double decayedEstimateNanos(Duration fallback, TimePoint now, Duration tau) const;
  bool hasSamples() const { return samples_.load(std::memory_order_relaxed) != 0; }
  uint64_t samples() const { return samples_.load(std::memory_order_relaxed); }

 private:
  mutable std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  double cost_ns_ = 0;
  int64_t stamp_ns_ = 0;
  std::atomic<uint64_t> samples_{0};
};

}  // namespace surge::lb
