// CounterRates: per-second rates of monotonic counters between consecutive observations, keyed by
// series (Prometheus rate() over the last two points). The first observation of a key yields no
// rate (the pod is "missing" for that sync, not zero); a counter that went down was reset (a
// restarted process) and the rate counts from 0, as Prometheus does; an observation at the same
// or an earlier time is ignored. A rate becomes a PodSample: value in milli-units per second,
// timestamp = this observation, window = the time since the previous one.
// Complexity O(log keys) per observation. Thread-safety: none (one collector's sync thread).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "autoscale/hpa/types.h"
#include "common/clock.h"

namespace surge::autoscale {

class CounterRates {
 public:
  // Records `value` of series `key` at `now`; the rate since the previous point, if any.
  std::optional<PodSample> observe(const std::string& key, double value, TimePoint now);
  // Forgets every key not in `keep` (pods that went away).
  void retain(const std::set<std::string>& keep);
  size_t size() const { return last_.size(); }

 private:
  struct Point {
    double value = 0;
    TimePoint at{};
  };
  std::map<std::string, Point> last_;
};

// A value in units → milli-units, rounded; NaN, ±Inf and negatives → 0 (as KEDA's
// quantityFromFloat64), values beyond int64 clamp to its maximum.
int64_t toMilli(double value);

}  // namespace surge::autoscale
