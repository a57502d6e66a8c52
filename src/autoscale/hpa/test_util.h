// Builders for HPA core tests: pods, samples and metric specs with readable defaults.
#pragma once

// GCC 12 reports false maybe-uninitialized warnings for optional<Behavior> assignments at -O2.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <string>

#include "autoscale/hpa/types.h"

namespace surge::autoscale::testing {

// Seconds relative to an arbitrary epoch far from zero.
inline TimePoint at(int64_t seconds) {
  return TimePoint(std::chrono::seconds(1'700'000'000 + seconds));
}

// A Running, Ready pod started an hour before `now` (past every initialization period).
inline PodInfo pod(const std::string& name, int64_t cpu_request_milli = 1000,
                   TimePoint now = at(0)) {
  PodInfo p;
  p.name = name;
  p.phase = "Running";
  p.start_time = now - std::chrono::hours(1);
  p.ready = ReadyCondition{true, now - std::chrono::minutes(59)};
  p.requests_milli["cpu"] = cpu_request_milli;
  p.requests_milli["memory"] = 1024LL * 1024 * 1024 * 1000;
  return p;
}

inline MetricSpec resourceUtilization(const std::string& resource, int32_t target) {
  MetricSpec m;
  m.type = MetricSourceType::kResource;
  m.name = resource;
  m.target.type = MetricTargetType::kUtilization;
  m.target.average_utilization = target;
  return m;
}

inline MetricSpec averageValue(MetricSourceType type, const std::string& name, int64_t milli) {
  MetricSpec m;
  m.type = type;
  m.name = name;
  m.target.type = MetricTargetType::kAverageValue;
  m.target.average_value_milli = milli;
  if (type == MetricSourceType::kObject) m.described_object = {"v1", "Service", "gw"};
  return m;
}

inline MetricSpec value(MetricSourceType type, const std::string& name, int64_t milli) {
  MetricSpec m;
  m.type = type;
  m.name = name;
  m.target.type = MetricTargetType::kValue;
  m.target.value_milli = milli;
  if (type == MetricSourceType::kObject) m.described_object = {"v1", "Service", "gw"};
  return m;
}

// current replicas (spec and status), min, max, no metrics; history present and empty (so the
// first-sync seed does not interfere unless a test wants it).
inline SyncInput input(int32_t current, int32_t min, int32_t max) {
  SyncInput in;
  in.now = at(0);
  in.spec.min_replicas = min;
  in.spec.max_replicas = max;
  in.scale = {current, current};
  in.history = HpaHistory{};
  return in;
}

// `n` ready pods p0..p{n-1} each with a cpu sample of `milli` (request 1000m).
inline void addPods(SyncInput* in, int n, int64_t cpu_milli, const std::string& metric = "cpu") {
  for (int i = 0; i < n; ++i) {
    std::string name = "p" + std::to_string(in->pods.size());
    in->pods.push_back(pod(name, 1000, in->now));
    in->metrics.pod_metrics[metric][name] = PodSample{cpu_milli, in->now, std::chrono::seconds(30)};
  }
}

}  // namespace surge::autoscale::testing
