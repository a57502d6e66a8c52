// Normalization (see normalization.h). Comparisons follow Go's time.Before/After: a
// recommendation counts for legacy stabilization iff age ≤ window; for behavior stabilization and
// policy periods iff age < window/period (strict); "old" means strictly older.
#include "autoscale/hpa/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autoscale/hpa/replica_calculator.h"

namespace surge::autoscale {
namespace {

constexpr const char* kWithinRangeMsg = "the desired count is within the acceptable range";
constexpr const char* kScaleUpLimitMsg =
    "the desired replica count is increasing faster than the maximum scale rate";
constexpr const char* kScaleDownLimitMsg =
    "the desired replica count is decreasing faster than the maximum scale rate";
constexpr const char* kTooManyMsg = "the desired replica count is more than the maximum replica count";
constexpr const char* kTooFewMsg = "the desired replica count is less than the minimum replica count";

ResolvedRules resolve(const std::optional<ScalingRules>& rules, ResolvedRules defaults) {
  if (!rules) return defaults;
  if (rules->stabilization_window) defaults.stabilization_window = *rules->stabilization_window;
  if (rules->select_policy) defaults.select_policy = *rules->select_policy;
  if (rules->policies) defaults.policies = *rules->policies;
  return defaults;
}

// Σ replica changes of events inside the period (age < period).
int32_t changeInPeriod(Duration period, const std::vector<ScaleEvent>& events, TimePoint now) {
  const TimePoint cutoff = now - period;
  int64_t sum = 0;
  for (const ScaleEvent& e : events) {
    if (e.timestamp > cutoff) sum += e.replica_change;
  }
  return static_cast<int32_t>(std::clamp<int64_t>(sum, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

// The replica count at the start of a policy period: current minus the scale-ups and plus the
// scale-downs that happened inside it.
int64_t periodStart(int32_t current, Duration period, const std::vector<ScaleEvent>& up_events,
                    const std::vector<ScaleEvent>& down_events, TimePoint now) {
  return static_cast<int64_t>(current) - changeInPeriod(period, up_events, now) +
         changeInPeriod(period, down_events, now);
}

int32_t saturate(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

}  // namespace

ResolvedBehavior resolveBehavior(const Behavior& behavior, const ControllerOptions& options) {
  ResolvedRules up;
  up.stabilization_window = Duration(0);
  up.select_policy = SelectPolicy::kMax;
  up.policies = {{PolicyType::kPods, 4, std::chrono::seconds(15)},
                 {PolicyType::kPercent, 100, std::chrono::seconds(15)}};
  ResolvedRules down;
  down.stabilization_window = options.downscale_stabilization_window;
  down.select_policy = SelectPolicy::kMax;
  down.policies = {{PolicyType::kPercent, 100, std::chrono::seconds(15)}};
  return {resolve(behavior.scale_up, up), resolve(behavior.scale_down, down)};
}

Normalized normalizeLegacy(int32_t current, int32_t proposal, int32_t min_replicas,
                           int32_t max_replicas, TimePoint now, const ControllerOptions& options,
                           std::vector<Recommendation>* recommendations) {
  // stabilizeRecommendation
  int32_t stabilized = proposal;
  const TimePoint cutoff = now - options.downscale_stabilization_window;
  bool found_old = false;
  size_t old_index = 0;
  for (size_t i = 0; i < recommendations->size(); ++i) {
    const Recommendation& rec = (*recommendations)[i];
    if (rec.timestamp < cutoff) {
      found_old = true;
      old_index = i;
    } else if (rec.replicas > stabilized) {
      stabilized = rec.replicas;
    }
  }
  if (found_old) {
    (*recommendations)[old_index] = {proposal, now};
  } else {
    recommendations->push_back({proposal, now});
  }

  // convertDesiredReplicasWithRules
  Normalized n;
  n.stabilized = stabilized;
  const int32_t scale_up_limit = saturate(static_cast<int64_t>(std::max(
      options.scale_up_limit_factor * static_cast<double>(current),
      static_cast<double>(options.scale_up_limit_minimum))));
  int32_t maximum = max_replicas;
  Condition limiting{"TooManyReplicas", kTooManyMsg};
  if (max_replicas > scale_up_limit) {
    maximum = scale_up_limit;
    limiting = {"ScaleUpLimit", kScaleUpLimitMsg};
  }
  if (stabilized < min_replicas) {
    n.desired = min_replicas;
    n.condition = {"TooFewReplicas", kTooFewMsg};
  } else if (stabilized > maximum) {
    n.desired = maximum;
    n.condition = limiting;
  } else {
    n.desired = stabilized;
    n.condition = {"DesiredWithinRange", kWithinRangeMsg};
  }
  return n;
}

int32_t scaleUpLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                     const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                     TimePoint now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  const bool take_min = rules.select_policy == SelectPolicy::kMin;
  int32_t result = take_min ? std::numeric_limits<int32_t>::max()
                            : std::numeric_limits<int32_t>::min();
  for (const ScalingPolicy& p : rules.policies) {
    const int64_t start = periodStart(current, p.period, up_events, down_events, now);
    int32_t proposed = 0;
    if (p.type == PolicyType::kPods) {
      proposed = saturate(start + p.value);
    } else {
      proposed = ceilToInt32(static_cast<double>(start) * (1.0 + p.value / 100.0));
    }
    result = take_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int32_t scaleDownLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                       const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                       TimePoint now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  const bool take_min_change = rules.select_policy == SelectPolicy::kMin;
  int32_t result = take_min_change ? std::numeric_limits<int32_t>::min()
                                   : std::numeric_limits<int32_t>::max();
  for (const ScalingPolicy& p : rules.policies) {
    const int64_t start = periodStart(current, p.period, up_events, down_events, now);
    int32_t proposed = 0;
    if (p.type == PolicyType::kPods) {
      proposed = saturate(start - p.value);
    } else {
      // Go's int32(float64) truncates toward zero.
      double v = std::trunc(static_cast<double>(start) * (1.0 - p.value / 100.0));
      proposed = saturate(static_cast<int64_t>(v));
    }
    result = take_min_change ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

Normalized normalizeWithBehavior(int32_t current, int32_t proposal, int32_t min_replicas,
                                 int32_t max_replicas, TimePoint now,
                                 const ResolvedBehavior& behavior, HpaHistory* history) {
  // stabilizeRecommendationWithBehaviors
  const TimePoint up_cutoff = now - behavior.scale_up.stabilization_window;
  const TimePoint down_cutoff = now - behavior.scale_down.stabilization_window;
  int32_t up_rec = proposal, down_rec = proposal;
  bool found_old = false;
  size_t old_index = 0;
  auto& recs = history->recommendations;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Recommendation& rec = recs[i];
    if (rec.timestamp > up_cutoff) up_rec = std::min(rec.replicas, up_rec);
    if (rec.timestamp > down_cutoff) down_rec = std::max(rec.replicas, down_rec);
    if (rec.timestamp < up_cutoff && rec.timestamp < down_cutoff) {
      found_old = true;
      old_index = i;
    }
  }
  int32_t stabilized = current;
  if (stabilized < up_rec) stabilized = up_rec;
  if (stabilized > down_rec) stabilized = down_rec;
  if (found_old) {
    recs[old_index] = {proposal, now};
  } else {
    recs.push_back({proposal, now});
  }

  // convertDesiredReplicasWithBehaviorRate
  Normalized n;
  n.stabilized = stabilized;
  n.desired = stabilized;
  n.condition = {"DesiredWithinRange", kWithinRangeMsg};
  if (stabilized > current) {
    int32_t limit = scaleUpLimit(current, history->scale_up_events, history->scale_down_events,
                                 behavior.scale_up, now);
    limit = std::max(limit, current);
    int32_t maximum = max_replicas;
    Condition limiting{"TooManyReplicas", kTooManyMsg};
    if (maximum > limit) {
      maximum = limit;
      limiting = {"ScaleUpLimit", kScaleUpLimitMsg};
    }
    if (stabilized > maximum) {
      n.desired = maximum;
      n.condition = limiting;
    }
  } else if (stabilized < current) {
    int32_t limit = scaleDownLimit(current, history->scale_up_events,
                                   history->scale_down_events, behavior.scale_down, now);
    limit = std::min(limit, current);
    int32_t minimum = min_replicas;
    Condition limiting{"TooFewReplicas", kTooFewMsg};
    if (minimum < limit) {
      minimum = limit;
      limiting = {"ScaleDownLimit", kScaleDownLimitMsg};
    }
    if (stabilized < minimum) {
      n.desired = minimum;
      n.condition = limiting;
    }
  }
  return n;
}

void storeScaleEvent(const ResolvedBehavior& behavior, int32_t previous, int32_t desired,
                     TimePoint now, HpaHistory* history) {
  const bool up = desired > previous;
  const ResolvedRules& rules = up ? behavior.scale_up : behavior.scale_down;
  std::vector<ScaleEvent>& events = up ? history->scale_up_events : history->scale_down_events;
  Duration longest{0};
  for (const ScalingPolicy& p : rules.policies) longest = std::max(longest, p.period);
  const TimePoint cutoff = now - longest;
  bool found_old = false;
  size_t old_index = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].timestamp < cutoff) events[i].outdated = true;
    if (events[i].outdated) {
      found_old = true;
      old_index = i;
    }
  }
  const ScaleEvent e{up ? desired - previous : previous - desired, now, false};
  if (found_old) {
    events[old_index] = e;
  } else {
    events.push_back(e);
  }
}

}  // namespace surge::autoscale
