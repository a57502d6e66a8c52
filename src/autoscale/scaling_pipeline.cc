#include "autoscale/scaling_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "autoscale/hpa/hpa.h"

namespace surge::autoscale {
namespace {

std::string fmtDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::optional<int64_t> currentOf(const MetricCurrent& c) {
  if (c.average_value_milli) return c.average_value_milli;
  if (c.value_milli) return c.value_milli;
  return std::nullopt;
}

}  // namespace

int32_t readyReplicas(const std::vector<PodInfo>& pods) {
  int32_t n = 0;
  for (const auto& p : pods) {
    if (!p.deleted && p.phase == "Running" && p.ready && p.ready->status) ++n;
  }
  return n;
}

std::optional<double> panicDemand(const PanicConfig& panic, const SyncResult& hpa,
                                  bool any_valid_metric, const MetricsSnapshot& snapshot) {
  if (panic.metric.empty()) {
    return any_valid_metric ? std::optional<double>(static_cast<double>(hpa.proposal))
                            : std::nullopt;
  }
  if (!(panic.target > 0)) return std::nullopt;
  std::optional<double> total = observedRequestRate(panic.metric, snapshot);
  if (!total) return std::nullopt;
  return std::max(0.0, *total) / panic.target;
}

ScaleState effectiveScale(ScaleState scale) {
  if (scale.spec_replicas == 0 && scale.status_replicas > 0) scale.spec_replicas = scale.status_replicas;
  return scale;
}

int32_t combineReactivePredictive(int32_t current, int32_t reactive,
                                  std::optional<int32_t> predictive) {
  if (!predictive) return reactive;
  int32_t desired = std::max(reactive, *predictive);
  if (reactive >= current) desired = std::max(desired, current);
  return desired;
}

std::optional<double> observedRequestRate(const std::string& name,
                                          const MetricsSnapshot& snapshot) {
  if (snapshot.failed.count(name) > 0) return std::nullopt;
  if (auto it = snapshot.pod_metrics.find(name); it != snapshot.pod_metrics.end()) {
    if (it->second.empty()) return std::nullopt;
    double sum = 0;
    for (const auto& [pod, sample] : it->second) sum += static_cast<double>(sample.value_milli);
    return sum / 1000.0;
  }
  if (auto it = snapshot.external_metrics.find(name); it != snapshot.external_metrics.end()) {
    double sum = 0;
    for (int64_t v : it->second) sum += static_cast<double>(v);
    return sum / 1000.0;
  }
  if (auto it = snapshot.object_metrics.find(name); it != snapshot.object_metrics.end()) {
    return static_cast<double>(it->second) / 1000.0;
  }
  return std::nullopt;
}

const char* failedGetReason(MetricSourceType t) {
  switch (t) {
    case MetricSourceType::kResource:
      return "FailedGetResourceMetric";
    case MetricSourceType::kContainerResource:
      return "FailedGetContainerResourceMetric";
    case MetricSourceType::kPods:
      return "FailedGetPodsMetric";
    case MetricSourceType::kObject:
      return "FailedGetObjectMetric";
    case MetricSourceType::kExternal:
      return "FailedGetExternalMetric";
  }
  return "FailedGetMetric";
}

std::string describeMetric(const MetricSpec& spec) {
  switch (spec.type) {
    case MetricSourceType::kResource:
      return spec.target.type == MetricTargetType::kUtilization
                 ? spec.name + " resource utilization (percentage of request)"
                 : spec.name + " resource";
    case MetricSourceType::kContainerResource:
      return spec.target.type == MetricTargetType::kUtilization
                 ? spec.name + " container resource utilization (percentage of request)"
                 : spec.name + " container resource";
    case MetricSourceType::kPods:
      return "pods metric " + spec.name;
    case MetricSourceType::kObject:
      return (spec.described_object.kind.empty() ? std::string("object")
                                                 : spec.described_object.kind) +
             " metric " + spec.name;
    case MetricSourceType::kExternal:
      return "external metric " + spec.name;
  }
  return spec.name;
}

std::string formatMetricValue(const MetricSpec& spec, const MetricResult& r) {
  const bool failed = !r.proposal.has_value();
  std::string current = "<unknown>";
  std::string target;
  switch (spec.target.type) {
    case MetricTargetType::kUtilization:
      target = std::to_string(spec.target.average_utilization) + "%";
      if (!failed && r.current.average_utilization) {
        current = std::to_string(*r.current.average_utilization) + "%";
        if (r.current.average_value_milli) {
          current += " (" + formatQuantityMilli(*r.current.average_value_milli) + ")";
        }
      }
      break;
    case MetricTargetType::kValue:
      target = formatQuantityMilli(spec.target.value_milli);
      break;
    case MetricTargetType::kAverageValue:
      target = formatQuantityMilli(spec.target.average_value_milli);
      break;
  }
  if (!failed && spec.target.type != MetricTargetType::kUtilization) {
    if (auto v = currentOf(r.current)) current = formatQuantityMilli(*v);
  }
  return describeMetric(spec) + ": " + current + " / " + target;
}

ScalingPipeline::ScalingPipeline(PipelinePolicy policy, PipelineOptions options)
    : policy_(std::move(policy)), options_(options), panic_(policy_.panic) {
  collect_spec_ = policy_.hpa;
  // Fetched for the history or the panic demand only; the HPA core never sees them.
  auto collect = [&](const std::string& name) {
    const bool present =
        std::any_of(collect_spec_.metrics.begin(), collect_spec_.metrics.end(),
                    [&](const MetricSpec& m) { return m.name == name; });
    if (present) return;
    MetricSpec m;
    m.type = MetricSourceType::kPods;
    m.name = name;
    m.target.type = MetricTargetType::kAverageValue;
    m.target.average_value_milli = 1000;
    collect_spec_.metrics.push_back(m);
  };
  if (policy_.predictive.enabled) collect(policy_.predictive.metric);
  if (policy_.panic.enabled && !policy_.panic.metric.empty()) collect(policy_.panic.metric);
}

void ScalingPipeline::setRpsHistory(std::vector<RpsSample> history) {
  rps_history_ = std::move(history);
}

void ScalingPipeline::runPredictive(int64_t unix_ms, const MetricsSnapshot& snapshot, Decision& d,
                                    PipelineResult& out) {
  const PredictiveConfig& p = policy_.predictive;
  d.observed_rps = observedRequestRate(p.metric, snapshot);
  if (d.observed_rps) {
    rps_history_.push_back(RpsSample{unix_ms / 1000, *d.observed_rps});
    if (rps_history_.size() > options_.max_rps_history) {
      rps_history_.erase(rps_history_.begin(),
                         rps_history_.begin() +
                             static_cast<std::ptrdiff_t>(options_.max_rps_history / 10));
    }
  }
  if (rps_history_.empty()) return;
  const int64_t refit_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.refit_period).count();
  if (!forecaster_.fitted() || unix_ms - last_fit_unix_ms_ >= refit_ms) {
    last_fit_unix_ms_ = unix_ms;
    if (Status s = forecaster_.fit(rps_history_); !s.isOk()) out.fit_error = s.message();
  }
  if (!forecaster_.fitted()) return;
  const int64_t at = unix_ms / 1000 +
                     std::chrono::duration_cast<std::chrono::seconds>(p.horizon).count();
  // Sized for the configured quantile of the forecast (0.5: the point forecast itself).
  d.forecast_rps = forecaster_.forecastQuantile(at, p.quantile);
  d.predictive = predictiveReplicas(*d.forecast_rps, p.rps_per_replica, p.min_replicas);
}

PipelineResult ScalingPipeline::step(const Observation& obs) {
  PipelineResult out;
  out.scale = effectiveScale(obs.scale);
  const int32_t current = out.scale.spec_replicas;
  const TimePoint now = obs.now;
  const int64_t unix_ms = obs.unix_ms;

  // 1. Reactive: the HPA core, its history carried between syncs.
  SyncInput input;
  input.now = now;
  input.spec = policy_.hpa;
  input.scale = out.scale;
  input.pods = obs.pods;
  input.metrics = obs.metrics;
  input.history = std::move(hpa_history_);
  input.controller = policy_.controller;
  out.hpa = runSync(input);
  hpa_history_ = out.hpa.history;
  const SyncResult& result = out.hpa;

  Decision& d = out.decision;
  d.unix_ms = unix_ms;
  d.current = current;
  d.reactive = result.desired_replicas;
  d.desired = result.desired_replicas;

  // 2. Every metric failed: hold, whatever the later stages would say.
  size_t failed = 0;
  const MetricResult* top = nullptr;  // the metric with the largest proposal
  std::string top_name;
  for (size_t i = 0; i < result.metrics.size(); ++i) {
    const MetricResult& m = result.metrics[i];
    if (!m.proposal) {
      failed++;
      if (!out.first_failed) out.first_failed = i;
    } else if (!top || *m.proposal > *top->proposal) {
      top = &m;
      top_name = i < policy_.hpa.metrics.size() ? describeMetric(policy_.hpa.metrics[i]) : m.name;
    }
  }
  d.held = !result.metrics.empty() && failed == result.metrics.size();

  for (size_t i = 0; i < result.metrics.size() && i < policy_.hpa.metrics.size(); ++i) {
    out.metric_values.push_back(formatMetricValue(policy_.hpa.metrics[i], result.metrics[i]));
  }

  if (out.first_failed) {
    const MetricResult& first_failed = result.metrics[*out.first_failed];
    AutoscaleEvent e;
    e.unix_ms = unix_ms;
    e.type = "Warning";
    e.reason = failedGetReason(first_failed.type);
    e.message = "invalid metrics (" + std::to_string(failed) + " invalid out of " +
                std::to_string(result.metrics.size()) + "), first error is: " +
                first_failed.error.value_or("metric unavailable") +
                (d.held ? "; holding " + std::to_string(current) + " replicas" : "");
    e.from = current;
    e.to = current;
    e.metrics = out.metric_values;
    out.events.push_back(std::move(e));
  }

  std::string reason;
  if (d.desired > current) {
    reason = top ? top_name + " above target" : result.condition.message;
  } else if (d.desired < current) {
    reason = top ? "All metrics below target" : result.condition.message;
  }
  if (result.condition.reason == "TooFewReplicas" && d.desired > current && !top) {
    reason = "Current number of replicas below Spec.MinReplicas";
  } else if (result.condition.reason == "TooManyReplicas" && d.desired < current && !top) {
    reason = "Current number of replicas above Spec.MaxReplicas";
  }

  // 3. Predictive. 4. Panic. 5. Clamp. Only when scaling is enabled and the metrics are there.
  const bool scaling_enabled = current > 0 && !d.held;
  if (scaling_enabled && policy_.predictive.enabled) {
    runPredictive(unix_ms, obs.metrics, d, out);
    const int32_t combined = combineReactivePredictive(current, d.desired, d.predictive);
    if (combined > d.desired && d.predictive) {
      reason = "predictive: forecast " + fmtDouble(d.forecast_rps.value_or(0)) + " rps at +" +
               fmtDouble(toSeconds(policy_.predictive.horizon)) + "s needs " +
               std::to_string(*d.predictive) + " replicas (" +
               fmtDouble(policy_.predictive.rps_per_replica) + " rps each)";
    }
    d.desired = combined;
  }
  bool panic_entered = false, panic_exited = false;
  if (scaling_enabled && policy_.panic.enabled) {
    PanicDecision pd =
        panic_.decide(now, panicDemand(policy_.panic, result, top != nullptr, obs.metrics),
                      readyReplicas(obs.pods), current, d.desired);
    d.panicking = pd.panicking;
    panic_entered = pd.entered;
    panic_exited = pd.exited;
    if (pd.desired != d.desired) reason = pd.reason;
    d.desired = pd.desired;
  }
  if (scaling_enabled) {
    const int32_t lo = policy_.hpa.min_replicas, hi = policy_.hpa.max_replicas;
    const int32_t clamped = std::clamp(d.desired, std::min(lo, hi), hi);
    if (clamped != d.desired) {
      reason += (reason.empty() ? "" : "; ") + std::string("clamped to ") +
                (clamped == hi ? "maxReplicas " : "minReplicas ") + std::to_string(clamped);
    }
    d.desired = clamped;
  }
  if (panic_entered || panic_exited) {
    AutoscaleEvent e;
    e.unix_ms = unix_ms;
    e.reason = panic_entered ? "PanicModeEntered" : "PanicModeExited";
    e.message = panic_entered ? "demand reached " + fmtDouble(policy_.panic.threshold) +
                                    "x capacity: scaling up at once, no scale-down for " +
                                    fmtDouble(toSeconds(policy_.panic.stable_window)) + "s"
                              : "demand back under the threshold for the stable window";
    e.from = current;
    e.to = d.desired;
    e.metrics = out.metric_values;
    out.events.push_back(std::move(e));
  }

  d.reason = std::move(reason);
  d.scaled = d.desired != current;
  return out;
}

}  // namespace surge::autoscale
