// groupPods (see pod_grouping.h), in the order of the Kubernetes controller:
// deleted/Failed/Succeeded → ignored; Pending → unready; no sample → missing; cpu only: readiness
// rules with the CPU initialization period and the initial readiness delay; else ready.
#include "autoscale/hpa/pod_grouping.h"

namespace surge::autoscale {

PodGroups groupPods(const std::vector<PodInfo>& pods,
                    const std::map<std::string, PodSample>& samples, bool cpu, TimePoint now,
                    const ControllerOptions& options) {
  PodGroups g;
  for (const PodInfo& pod : pods) {
    if (pod.deleted || pod.phase == "Failed" || pod.phase == "Succeeded") {
      g.ignored.insert(pod.name);
      continue;
    }
    if (pod.phase == "Pending") {
      g.unready.insert(pod.name);
      continue;
    }
    auto it = samples.find(pod.name);
    if (it == samples.end()) {
      g.missing.insert(pod.name);
      continue;
    }
    if (cpu) {
      const PodSample& sample = it->second;
      bool unready = false;
      if (!pod.ready.has_value() || !pod.start_time.has_value()) {
        unready = true;
      } else if (*pod.start_time + options.cpu_initialization_period > now) {
        // Still initializing: unready, or no full metric window since the last transition.
        unready = !pod.ready->status ||
                  sample.timestamp < pod.ready->last_transition + sample.window;
      } else {
        // Unready and never been ready since it started.
        unready = !pod.ready->status &&
                  *pod.start_time + options.initial_readiness_delay > pod.ready->last_transition;
      }
      if (unready) {
        g.unready.insert(pod.name);
        continue;
      }
    }
    ++g.ready_count;
  }
  return g;
}

}  // namespace surge::autoscale
