// Per-metric proposals (see replica_calculator.h). Integer arithmetic follows the Go code:
// milli-values in int64, integer division truncates, ratios and ceil in double.
#include "autoscale/hpa/replica_calculator.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <variant>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/pod_grouping.h"

namespace surge::autoscale {
namespace {

using Samples = std::map<std::string, int64_t>;  // pod → value (milli)

struct Failure {
  std::string message;
};

// Fills the pod lists of `r` from a grouping.
void reportGroups(const PodGroups& g, MetricResult* r) {
  r->ready_pod_count = g.ready_count;
  r->unready_pods.assign(g.unready.begin(), g.unready.end());
  r->missing_pods.assign(g.missing.begin(), g.missing.end());
  r->ignored_pods.assign(g.ignored.begin(), g.ignored.end());
}

// GetResourceUtilizationRatio: only samples whose pod has a request count (orphans are skipped).
struct UtilizationRatio {
  double ratio = 0;
  int32_t utilization = 0;
  int64_t raw_average = 0;
};
std::optional<UtilizationRatio> utilizationRatio(const Samples& samples,
                                                 const std::map<std::string, int64_t>& requests,
                                                 int32_t target) {
  int64_t usage_total = 0, request_total = 0, n = 0;
  for (const auto& [pod, value] : samples) {
    auto it = requests.find(pod);
    if (it == requests.end()) continue;
    usage_total += value;
    request_total += it->second;
    ++n;
  }
  if (request_total == 0) return std::nullopt;
  UtilizationRatio u;
  u.utilization = static_cast<int32_t>((usage_total * 100) / request_total);
  u.ratio = static_cast<double>(u.utilization) / static_cast<double>(target);
  u.raw_average = usage_total / n;
  return u;
}

// GetMetricUsageRatio: every sample counts.
std::pair<double, int64_t> usageRatio(const Samples& samples, int64_t target) {
  int64_t total = 0;
  for (const auto& [pod, value] : samples) total += value;
  int64_t usage = total / static_cast<int64_t>(samples.size());
  return {static_cast<double>(usage) / static_cast<double>(target), usage};
}

// Samples of the metric with ignored and unready pods removed (orphan samples kept).
Samples usableSamples(const std::map<std::string, PodSample>& raw, const PodGroups& g) {
  Samples s;
  for (const auto& [pod, sample] : raw) {
    if (g.ignored.count(pod) || g.unready.count(pod)) continue;
    s[pod] = sample.value_milli;
  }
  return s;
}

// Groups the pods against the samples that arrived (possibly none) and reports the groups before
// any later error can end the metric: the explain output then shows which pods were unready,
// missing or ignored also for a metric that failed (a Pending pod is unready, a Running pod
// without a sample is missing). Only a failed fetch comes first, as in the Kubernetes controller
// (the metrics client errs before the pods are listed): its pods are not grouped.
PodGroups groupAndReport(const SyncInput& in, const std::string& name, bool cpu,
                         MetricResult* r) {
  static const std::map<std::string, PodSample> kNone;
  auto it = in.metrics.pod_metrics.find(name);
  const auto& samples = it == in.metrics.pod_metrics.end() ? kNone : it->second;
  PodGroups g = groupPods(in.pods, samples, cpu, in.now, in.controller);
  reportGroups(g, r);
  return g;
}

const std::map<std::string, PodSample>* samplesFor(const SyncInput& in, const std::string& name) {
  auto it = in.metrics.pod_metrics.find(name);
  if (it == in.metrics.pod_metrics.end() || it->second.empty()) return nullptr;
  return &it->second;
}

std::optional<std::string> fetchFailure(const SyncInput& in, const std::string& name) {
  auto it = in.metrics.failed.find(name);
  if (it == in.metrics.failed.end()) return std::nullopt;
  return it->second.empty() ? std::string("fetch failed") : it->second;
}

// Resource/ContainerResource with a Utilization target (GetResourceReplicas).
std::variant<int32_t, Failure> resourceUtilization(const MetricSpec& m, const SyncInput& in,
                                                   const Tolerances& tol, MetricResult* r) {
  const std::string prefix = "failed to get " + m.name + " utilization: ";
  if (auto why = fetchFailure(in, m.name)) {
    return Failure{prefix + "unable to get metrics for resource " + m.name + ": " + *why};
  }
  PodGroups g = groupAndReport(in, m.name, m.name == "cpu", r);
  const auto* raw = samplesFor(in, m.name);
  if (raw == nullptr) {
    return Failure{prefix + "unable to get metrics for resource " + m.name +
                   ": no metrics returned from resource metrics API"};
  }
  if (in.pods.empty()) {
    return Failure{prefix + "no pods returned by selector while calculating replica count"};
  }
  const int32_t current = in.scale.spec_replicas;
  Samples samples = usableSamples(*raw, g);
  if (samples.empty()) {
    return Failure{prefix + "did not receive metrics for targeted pods (pods might be unready)"};
  }
  std::map<std::string, int64_t> requests;
  for (const PodInfo& pod : in.pods) {
    auto it = pod.requests_milli.find(m.name);
    if (it == pod.requests_milli.end()) {
      return Failure{prefix + "missing request for " + m.name + " in Pod " + pod.name};
    }
    requests[pod.name] = it->second;
  }
  const int32_t target = m.target.average_utilization;
  auto first = utilizationRatio(samples, requests, target);
  if (!first) return Failure{prefix + "no metrics returned matched known pods"};
  r->current.average_utilization = first->utilization;
  r->current.average_value_milli = first->raw_average;
  const double ratio = first->ratio;

  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (tol.isWithin(ratio)) return current;
    return ceilToInt32(ratio * g.ready_count);
  }
  if (!g.missing.empty()) {
    if (ratio < 1.0) {
      const int64_t fallback = std::max<int64_t>(100, target);
      for (const std::string& pod : g.missing) samples[pod] = requests[pod] * fallback / 100;
    } else if (ratio > 1.0) {
      for (const std::string& pod : g.missing) samples[pod] = 0;
    }
  }
  if (scale_up_with_unready) {
    for (const std::string& pod : g.unready) samples[pod] = 0;
  }
  auto second = utilizationRatio(samples, requests, target);
  if (!second) return Failure{prefix + "no metrics returned matched known pods"};
  const double new_ratio = second->ratio;
  if (tol.isWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return current;
  }
  const int32_t proposal = ceilToInt32(new_ratio * static_cast<double>(samples.size()));
  if ((new_ratio < 1.0 && proposal > current) || (new_ratio > 1.0 && proposal < current)) {
    return current;
  }
  return proposal;
}

// Pods AverageValue and Resource AverageValue (calcPlainMetricReplicas).
std::variant<int32_t, Failure> plainMetric(const MetricSpec& m, const SyncInput& in,
                                           const Tolerances& tol, MetricResult* r) {
  const bool resource = m.type == MetricSourceType::kResource ||
                        m.type == MetricSourceType::kContainerResource;
  const std::string prefix = resource ? "failed to get " + m.name + " usage: "
                                      : "failed to get pods metric value: ";
  const std::string fetch = resource ? "unable to get metrics for resource " + m.name + ": "
                                     : "unable to get metric " + m.name + ": ";
  if (auto why = fetchFailure(in, m.name)) return Failure{prefix + fetch + *why};
  PodGroups g = groupAndReport(in, m.name, resource && m.name == "cpu", r);
  const auto* raw = samplesFor(in, m.name);
  if (raw == nullptr) {
    return Failure{prefix + fetch + "no metrics returned from " +
                   (resource ? "resource metrics API" : "custom metrics API")};
  }
  if (in.pods.empty()) {
    return Failure{prefix + "no pods returned by selector while calculating replica count"};
  }
  const int32_t current = in.scale.spec_replicas;
  Samples samples = usableSamples(*raw, g);
  if (samples.empty()) {
    return Failure{prefix + "did not receive metrics for targeted pods (pods might be unready)"};
  }
  const int64_t target = m.target.average_value_milli;
  auto [ratio, usage] = usageRatio(samples, target);
  r->current.average_value_milli = usage;

  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (tol.isWithin(ratio)) return current;
    return ceilToInt32(ratio * g.ready_count);
  }
  if (!g.missing.empty()) {
    // Scale-down: missing pods use exactly the target; scale-up: zero; at exactly 1.0 they are
    // not back-filled at all (the recomputed ratio stays 1.0, within tolerance → current).
    if (ratio < 1.0) {
      for (const std::string& pod : g.missing) samples[pod] = target;
    } else if (ratio > 1.0) {
      for (const std::string& pod : g.missing) samples[pod] = 0;
    }
  }
  if (scale_up_with_unready) {
    for (const std::string& pod : g.unready) samples[pod] = 0;
  }
  const double new_ratio = usageRatio(samples, target).first;
  if (tol.isWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return current;
  }
  const int32_t proposal = ceilToInt32(new_ratio * static_cast<double>(samples.size()));
  if ((new_ratio < 1.0 && proposal > current) || (new_ratio > 1.0 && proposal < current)) {
    return current;
  }
  return proposal;
}

// getUsageRatioReplicaCount: Object/External Value targets.
std::variant<int32_t, Failure> usageRatioReplicaCount(const SyncInput& in, double ratio,
                                                      const Tolerances& tol,
                                                      const std::string& prefix) {
  const int32_t current = in.scale.spec_replicas;
  if (current == 0) return ceilToInt32(ratio);
  if (tol.isWithin(ratio)) return current;
  if (in.pods.empty()) {
    return Failure{prefix + "unable to calculate ready pods: no pods returned by selector while "
                            "calculating replica count"};
  }
  int64_t ready = 0;
  for (const PodInfo& pod : in.pods) {
    if (pod.phase == "Running" && pod.ready.has_value() && pod.ready->status) ++ready;
  }
  return ceilToInt32(ratio * static_cast<double>(ready));
}

// Object/External AverageValue (GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas).
int32_t perPodReplicas(const SyncInput& in, int64_t usage, int64_t target, const Tolerances& tol,
                       MetricResult* r) {
  const int32_t status = in.scale.status_replicas;
  int32_t replicas = status;
  const double ratio = static_cast<double>(usage) /
                       (static_cast<double>(target) * static_cast<double>(status));
  if (!tol.isWithin(ratio)) {
    replicas = ceilToInt32(static_cast<double>(usage) / static_cast<double>(target));
  }
  // status.replicas == 0: Go divides by zero here; surge reports the total (docs/design/hpa.md).
  r->current.average_value_milli =
      status == 0 ? usage
                  : static_cast<int64_t>(
                        std::ceil(static_cast<double>(usage) / static_cast<double>(status)));
  return replicas;
}

std::variant<int32_t, Failure> objectMetric(const MetricSpec& m, const SyncInput& in,
                                            const Tolerances& tol, MetricResult* r) {
  const std::string prefix = "failed to get object metric value: ";
  const std::string where = "unable to get metric " + m.name + ": " + m.described_object.kind +
                            "/" + m.described_object.name + ": ";
  if (auto why = fetchFailure(in, m.name)) return Failure{prefix + where + *why};
  auto it = in.metrics.object_metrics.find(m.name);
  if (it == in.metrics.object_metrics.end()) {
    return Failure{prefix + where + "no metrics returned from custom metrics API"};
  }
  const int64_t usage = it->second;
  if (m.target.type == MetricTargetType::kAverageValue) {
    return perPodReplicas(in, usage, m.target.average_value_milli, tol, r);
  }
  r->current.value_milli = usage;
  const double ratio = static_cast<double>(usage) / static_cast<double>(m.target.value_milli);
  return usageRatioReplicaCount(in, ratio, tol, prefix);
}

std::variant<int32_t, Failure> externalMetric(const MetricSpec& m, const SyncInput& in,
                                              const Tolerances& tol, MetricResult* r) {
  const std::string prefix = "failed to get external metric value: ";
  const std::string where = "unable to get external metric " + m.name + ": ";
  if (auto why = fetchFailure(in, m.name)) return Failure{prefix + where + *why};
  auto it = in.metrics.external_metrics.find(m.name);
  if (it == in.metrics.external_metrics.end() || it->second.empty()) {
    return Failure{prefix + where + "no metrics returned from external metrics API"};
  }
  int64_t usage = 0;
  for (int64_t v : it->second) usage += v;
  if (m.target.type == MetricTargetType::kAverageValue) {
    return perPodReplicas(in, usage, m.target.average_value_milli, tol, r);
  }
  r->current.value_milli = usage;
  const double ratio = static_cast<double>(usage) / static_cast<double>(m.target.value_milli);
  return usageRatioReplicaCount(in, ratio, tol, prefix);
}

}  // namespace

int32_t ceilToInt32(double x) {
  if (std::isnan(x)) return 0;
  double c = std::ceil(x);
  if (c >= static_cast<double>(std::numeric_limits<int32_t>::max())) {
    return std::numeric_limits<int32_t>::max();
  }
  if (c <= static_cast<double>(std::numeric_limits<int32_t>::min())) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(c);
}

Tolerances tolerancesFor(const HpaSpec& spec, const ControllerOptions& options) {
  Tolerances t{options.tolerance, options.tolerance};
  if (!spec.behavior) return t;
  if (spec.behavior->scale_down && spec.behavior->scale_down->tolerance) {
    t.scale_down = *spec.behavior->scale_down->tolerance;
  }
  if (spec.behavior->scale_up && spec.behavior->scale_up->tolerance) {
    t.scale_up = *spec.behavior->scale_up->tolerance;
  }
  return t;
}

MetricResult computeMetricProposal(const MetricSpec& metric, const SyncInput& input,
                                   const Tolerances& tolerances) {
  MetricResult r;
  r.type = metric.type;
  r.name = metric.name;
  std::variant<int32_t, Failure> out = Failure{"invalid metric source"};
  const MetricTarget& t = metric.target;
  const bool target_ok = t.type == MetricTargetType::kUtilization ? t.average_utilization > 0
                         : t.type == MetricTargetType::kValue     ? t.value_milli > 0
                                                                  : t.average_value_milli > 0;
  const bool type_ok =
      t.type == MetricTargetType::kAverageValue ||
      (t.type == MetricTargetType::kUtilization &&
       (metric.type == MetricSourceType::kResource ||
        metric.type == MetricSourceType::kContainerResource)) ||
      (t.type == MetricTargetType::kValue && (metric.type == MetricSourceType::kObject ||
                                              metric.type == MetricSourceType::kExternal));
  if (!target_ok || !type_ok) {
    r.error = "invalid metric target for " + metric.name;
    return r;
  }
  switch (metric.type) {
    case MetricSourceType::kResource:
    case MetricSourceType::kContainerResource:
      out = metric.target.type == MetricTargetType::kAverageValue
                ? plainMetric(metric, input, tolerances, &r)
                : resourceUtilization(metric, input, tolerances, &r);
      break;
    case MetricSourceType::kPods:
      out = plainMetric(metric, input, tolerances, &r);
      break;
    case MetricSourceType::kObject:
      out = objectMetric(metric, input, tolerances, &r);
      break;
    case MetricSourceType::kExternal:
      out = externalMetric(metric, input, tolerances, &r);
      break;
  }
  if (auto* f = std::get_if<Failure>(&out)) {
    r.error = f->message;
    r.current = MetricCurrent{};
  } else {
    r.proposal = std::get<int32_t>(out);
  }
  return r;
}

}  // namespace surge::autoscale
