// Panic mode (Knative's KPA, pkg/autoscaler/scaling/autoscaler.go), opt-in: when the short-window
// demand reaches `threshold` × the ready replicas, scale up at once to that demand (bypassing
// the HPA's stabilization and rate limits), and never scale down while panicking. Panic ends when
// `stable_window` has passed since the last observation over the threshold (Knative: the surge has
// made its way into the stable metric).
//
// Demand is measured in replicas: what the load would need at its target. The pipeline
// (scaling_pipeline.h) computes it from `metric` when one is configured — the metric's total over
// the target (Pods: the sum over pods; External: the sum; Object: the value) divided by `target`,
// the value one replica carries at its target — and otherwise from the HPA core's proposal (max
// over metrics). Why a metric: the proposal comes from saturating signals — cpu utilization stops
// at 100 %, a replica serves at most its capacity — so on a crowd its ratio to the current size
// never exceeds ~1/target-utilization and panic adds nothing the HPA does not. A total of a
// non-saturating signal (requests sent to the replicas, rejected ones included; in-flight
// requests) grows with the crowd.
// The short-window demand is the mean of the observations of the last `window` (the latest always
// counts; a sync without a demand adds none).
// Capacity: the trigger compares the demand with the *ready* replicas (Knative's rule: starting
// replicas serve nothing yet); the decision never goes below `current`, the replicas asked for
// with the starting ones included — capacity that is coming, so a demand they will cover adds no
// replica, and since the demand is a total, not a per-pod average, a starting replica never
// counts as one carrying zero load. (The HPA core keeps Kubernetes' rule for unready pods.)
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
  double threshold = 2.0;                             // demand / ready replicas that triggers panic
  // The demand signal: "" = the HPA core's proposal; else the total of this metric (collected
  // for panic when the HPA spec does not name it: a Pods metric) divided by `target`.
  std::string metric;
  // `metric`'s value per replica at its target (e.g. 100 requests/s); with a metric, > 0 (the
  // config parser takes the HPA spec's AverageValue target of the same metric when not given).
  double target = 0;
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

  // One sync: `demand` = replicas the current load needs (nullopt: no observation this sync),
  // `ready` = replicas serving now (the trigger's capacity; at least 1 is assumed), `current` =
  // the replicas asked for, starting ones included (the floor while panicking), `desired` = the
  // reactive (and predictive) decision. Disabled → returns `desired` unchanged.
  PanicDecision decide(TimePoint now, std::optional<double> demand, int32_t ready, int32_t current,
                       int32_t desired);

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
