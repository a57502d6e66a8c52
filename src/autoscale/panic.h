// Panic mode (Knative's KPA, pkg/autoscaler/scaling/autoscaler.go), opt-in: when the short-window
// demand reaches `threshold` × the current capacity, scale up at once to that demand (bypassing
// the HPA's stabilization and rate limits), and never scale down while panicking. Panic ends when
// `stable_window` has passed since the last observation over the threshold (Knative: the surge has
// made its way into the stable metric).
//
// Demand is measured in replicas (what the load would need at the metric targets: the HPA's
// per-metric proposal, max over metrics). The short-window demand is the mean of the observations
// of the last `window` (the latest always counts).
// Pure policy: time comes in as arguments. Complexity: O(observations in the window) per call.
// Thread-safety: none (one controller thread).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "common/clock.h"

namespace surge::autoscale {

struct PanicConfig {
  bool enabled = false;
  Duration window = std::chrono::seconds(6);          // short (panic) averaging window
  Duration stable_window = std::chrono::seconds(60);  // hold after the last trigger
  double threshold = 2.0;                             // demand / capacity that triggers panic
};

struct PanicDecision {
  int32_t desired = 0;        // the replicas after panic mode (≥ the input desired when panicking)
  bool panicking = false;     // in panic mode after this observation
  bool entered = false;       // panic started with this observation
  bool exited = false;        // panic ended with this observation
  double short_demand = 0;    // the short-window demand (replicas)
  std::string reason;         // why the decision differs from the input ("" when it does not)
};

class PanicPolicy {
 public:
  explicit PanicPolicy(PanicConfig config) : config_(config) {}

  // One sync: `demand` = replicas the current load needs, `current` = current replicas (the
  // capacity; at least 1 is assumed), `desired` = the reactive (and predictive) decision.
  // Disabled → returns `desired` unchanged.
  PanicDecision decide(TimePoint now, double demand, int32_t current, int32_t desired);

  bool panicking() const { return panic_since_.has_value(); }
  const PanicConfig& config() const { return config_; }

 private:
  PanicConfig config_;
  std::deque<std::pair<TimePoint, double>> observations_;
  std::optional<TimePoint> panic_since_;
  TimePoint last_trigger_{};
  int32_t max_panic_replicas_ = 0;  // never scale below this while panicking
};

}  // namespace surge::autoscale
