#include "lb/peak_ewma.h"

#include <algorithm>
#include <cmath>

namespace surge::lb {
namespace {

// Uncontended in practice (one short critical section per response), so a spinlock beats a mutex
// and keeps PeakEwma small enough to live inside Host.
class SpinGuard {
 public:
  explicit SpinGuard(std::atomic_flag& f) : f_(f) {
    while (f_.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~SpinGuard() { f_.clear(std::memory_order_release); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  std::atomic_flag& f_;
};

}  // namespace

void PeakEwma::observe(Duration rtt, TimePoint now, Duration tau) {
  const double rtt_ns = static_cast<double>(std::max<int64_t>(rtt.count(), 0));
  const int64_t now_ns = now.time_since_epoch().count();
  SpinGuard guard(lock_);
  if (samples_.load(std::memory_order_relaxed) == 0) {
    cost_ns_ = rtt_ns;
  } else if (rtt_ns > cost_ns_) {
    cost_ns_ = rtt_ns;  // the "peak": a slower sample counts in full at once
  } else {
    // Samples may arrive out of order from several workers; an older one decays nothing.
    const double elapsed = static_cast<double>(std::max<int64_t>(now_ns - stamp_ns_, 0));
    const double w = tau.count() > 0 ? std::exp(-elapsed / static_cast<double>(tau.count())) : 0.0;
    cost_ns_ = cost_ns_ * w + rtt_ns * (1.0 - w);
  }
  stamp_ns_ = std::max(stamp_ns_, now_ns);
  samples_.fetch_add(1, std::memory_order_relaxed);
}

double PeakEwma::estimateNanos(Duration fallback) const {
  SpinGuard guard(lock_);
  if (samples_.load(std::memory_order_relaxed) == 0) return static_cast<double>(fallback.count());
  return cost_ns_;
}

double PeakEwma::decayedEstimateNanos(Duration fallback, TimePoint now, Duration tau) const {
  SpinGuard guard(lock_);
  if (samples_.load(std::memory_order_relaxed) == 0) return static_cast<double>(fallback.count());
  const double idle =
      static_cast<double>(std::max<int64_t>(now.time_since_epoch().count() - stamp_ns_, 0));
  if (tau.count() <= 0) return cost_ns_;
  return cost_ns_ * std::exp(-idle / static_cast<double>(tau.count()));
}

}  // namespace surge::lb
