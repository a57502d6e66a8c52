#include "health/active_health.h"

#include <algorithm>
#include <limits>

namespace surge::health {

ActiveHealthState::ActiveHealthState(int healthy_threshold, int unhealthy_threshold,
                                     bool initially_healthy)
    : healthy_threshold_(std::max(1, healthy_threshold)),
      unhealthy_threshold_(std::max(1, unhealthy_threshold)),
      healthy_(initially_healthy) {}

Transition ActiveHealthState::onProbe(bool ok) {
  if (ok) {
    failures_ = 0;
    // Saturating: a long healthy life must not overflow the streak.
    if (passes_ < std::numeric_limits<int>::max()) ++passes_;
    if (!healthy_ && passes_ >= healthy_threshold_) {
      healthy_ = true;
      return Transition::kBecameHealthy;
    }
    return Transition::kNone;
  }
  passes_ = 0;
  if (failures_ < std::numeric_limits<int>::max()) ++failures_;
  if (healthy_ && failures_ >= unhealthy_threshold_) {
    healthy_ = false;
    return Transition::kBecameUnhealthy;
  }
  return Transition::kNone;
}

Duration firstProbeDelay(const ActiveHealthOptions& options, Random& random) {
  if (options.interval <= Duration::zero()) return Duration::zero();
  return Duration(
      static_cast<Duration::rep>(random.uniform(static_cast<uint64_t>(options.interval.count()))));
}

Duration nextProbeDelay(const ActiveHealthOptions& options, Random& random) {
  const double jitter = std::clamp(options.jitter, 0.0, 1.0);
  const double u = random.uniformDouble() * 2.0 - 1.0;
  const double ns = static_cast<double>(options.interval.count()) * (1.0 + u * jitter);
  return Duration(static_cast<Duration::rep>(std::max(0.0, ns)));
}

}  // namespace surge::health
