// groupPods: sorts the target's pods into ready / unready / missing / ignored for one metric, as
// kubernetes pkg/controller/podautoscaler/replica_calculator.go groupPods does (docs/autoscaling.md
// "Rules, in one breath"). Readiness is only consulted for the cpu resource metric.
// Complexity O(pods × log samples). Thread-safety: pure function.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "autoscale/hpa/types.h"

namespace surge::autoscale {

struct PodGroups {
  int ready_count = 0;
  std::set<std::string> unready, missing, ignored;  // sorted, like sets.String.List()
};

// `cpu`: the metric is the cpu resource (Resource or ContainerResource "cpu").
PodGroups groupPods(const std::vector<PodInfo>& pods,
                    const std::map<std::string, PodSample>& samples, bool cpu, TimePoint now,
                    const ControllerOptions& options);

}  // namespace surge::autoscale
