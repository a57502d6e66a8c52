// Normalization of the combined proposal into the desired replica count, as kubernetes
// pkg/controller/podautoscaler/horizontal.go does (docs/autoscaling.md "Rules, in one breath"):
//  - behavior == nil: legacy stabilization (max over the downscale window) then the legacy clamp
//    (min, max, scale-up limit max(factor × current, minimum));
//  - behavior set: stabilization with both windows, then the Pods/Percent rate limits over the
//    past scale events (min/max applied there), and the scale-event store.
// The history (recommendations, scale events) is passed in and updated in place.
// Complexity O(history + policies × events). Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <vector>

#include "autoscale/hpa/types.h"

namespace surge::autoscale {

// HPAScalingRules with every default filled in (defaults.go + the controller's window flag).
struct ResolvedRules {
  Duration stabilization_window{0};
  SelectPolicy select_policy = SelectPolicy::kMax;
  std::vector<ScalingPolicy> policies;
};
struct ResolvedBehavior {
  ResolvedRules scale_up, scale_down;
};
// scaleUp: window 0, Max, {Pods 4/15s, Percent 100/15s}; scaleDown: window = the controller's
// downscale stabilization window, Max, {Percent 100/15s}. Unset fields fall back one by one.
ResolvedBehavior resolveBehavior(const Behavior& behavior, const ControllerOptions& options);

struct Normalized {
  int32_t stabilized = 0;  // after stabilization
  int32_t desired = 0;     // after the clamp / rate limits
  Condition condition;     // DesiredWithinRange, ScaleUpLimit, ScaleDownLimit, TooMany/FewReplicas
};

// Legacy path: stabilization over options.downscale_stabilization_window (stores the proposal in
// `recommendations`), then convertDesiredReplicasWithRules.
Normalized normalizeLegacy(int32_t current, int32_t proposal, int32_t min_replicas,
                           int32_t max_replicas, TimePoint now, const ControllerOptions& options,
                           std::vector<Recommendation>* recommendations);

// Behavior path: stabilizeRecommendationWithBehaviors (stores the proposal) then
// convertDesiredReplicasWithBehaviorRate over `history`'s scale events.
Normalized normalizeWithBehavior(int32_t current, int32_t proposal, int32_t min_replicas,
                                 int32_t max_replicas, TimePoint now,
                                 const ResolvedBehavior& behavior, HpaHistory* history);

// The rate limits alone (exposed for tests): the highest count a scale-up may reach now, and the
// lowest a scale-down may reach, before flooring/capping at current.
int32_t scaleUpLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                     const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                     TimePoint now);
int32_t scaleDownLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                       const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                       TimePoint now);

// Records a rescale from `previous` to `desired` (behavior path only): marks events older than
// the direction's longest policy period outdated, then replaces the last outdated event or
// appends.
void storeScaleEvent(const ResolvedBehavior& behavior, int32_t previous, int32_t desired,
                     TimePoint now, HpaHistory* history);

}  // namespace surge::autoscale
