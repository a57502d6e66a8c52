#include "autoscale/panic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace surge::autoscale {

PanicDecision PanicPolicy::decide(TimePoint now, std::optional<double> demand, int32_t ready,
                                  int32_t current, int32_t desired) {
  PanicDecision d;
  d.desired = desired;
  if (!config_.enabled) return d;

  if (demand) {
    observations_.emplace_back(now, std::max(0.0, *demand));
    while (observations_.size() > 1 && now - observations_.front().first >= config_.window) {
      observations_.pop_front();
    }
  } else {
    while (!observations_.empty() && now - observations_.front().first >= config_.window) {
      observations_.pop_front();
    }
  }
  double sum = 0;
  for (const auto& o : observations_) sum += o.second;
  d.short_demand = observations_.empty() ? 0 : sum / static_cast<double>(observations_.size());

  const double capacity = std::max<int32_t>(ready, 1);
  const bool over = !observations_.empty() && d.short_demand / capacity >= config_.threshold;
  if (over) {
    if (!panic_since_) {
      panic_since_ = now;
      d.entered = true;
      max_panic_replicas_ = 0;
    }
    last_trigger_ = now;
  } else if (panic_since_ && now - last_trigger_ > config_.stable_window) {
    panic_since_.reset();
    d.exited = true;
    max_panic_replicas_ = 0;
  }
  d.panicking = panic_since_.has_value();
  if (!d.panicking) return d;

  // Knative: in panic, desired = max(panic demand, the most seen during this panic); never below
  // the replicas asked for (starting ones are capacity that is coming).
  const auto needed = static_cast<int32_t>(std::min(std::ceil(d.short_demand - 1e-9), 2e9));
  int32_t panic_desired = std::max({desired, needed, current, max_panic_replicas_});
  max_panic_replicas_ = panic_desired;
  if (panic_desired != desired) {
    char buf[200];
    if (over) {
      std::snprintf(buf, sizeof(buf),
                    "panic mode: short-window demand %.1f replicas >= %.4gx %d ready", d.short_demand,
                    config_.threshold, ready);
    } else {
      std::snprintf(buf, sizeof(buf), "panic mode: holding %d replicas until %.0fs after the last "
                    "trigger", panic_desired, toSeconds(config_.stable_window));
    }
    d.reason = buf;
  }
  d.desired = panic_desired;
  return d;
}

}  // namespace surge::autoscale
