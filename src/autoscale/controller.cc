#include "autoscale/controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "autoscale/hpa/hpa.h"
#include "common/logging.h"

namespace surge::autoscale {
namespace {

constexpr const char* kModule = "autoscale";
constexpr int64_t kRefitEveryMs = 60'000;
constexpr size_t kMaxRpsHistory = 500'000;  // ~3 months at one sample per 15 s

std::string fmtDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
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

std::optional<int64_t> currentOf(const MetricCurrent& c) {
  if (c.average_value_milli) return c.average_value_milli;
  if (c.value_milli) return c.value_milli;
  return std::nullopt;
}

}  // namespace

int32_t combineReactivePredictive(int32_t current, int32_t reactive,
                                  std::optional<int32_t> predictive) {
  if (!predictive) return reactive;
  int32_t desired = std::max(reactive, *predictive);
  if (reactive >= current) desired = std::max(desired, current);
  return desired;
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

Controller::Controller(AutoscalePolicy policy, ScaleTarget& target, MetricsCollector& collector,
                       Clock& clock, AutoscalerOptions options)
    : policy_(std::move(policy)),
      target_(target),
      collector_(collector),
      clock_(clock),
      options_(std::move(options)),
      events_(options_.event_capacity),
      panic_(policy_.panic) {
  if (!policy_.hpa.name.empty() && options_.name == AutoscalerOptions{}.name) {
    options_.name = policy_.hpa.name;
  }
  collect_spec_ = policy_.hpa;
  if (policy_.predictive.enabled) {
    const bool present =
        std::any_of(collect_spec_.metrics.begin(), collect_spec_.metrics.end(),
                    [&](const MetricSpec& m) { return m.name == policy_.predictive.metric; });
    if (!present) {  // fetched for the history only; the HPA core never sees it
      MetricSpec m;
      m.type = MetricSourceType::kPods;
      m.name = policy_.predictive.metric;
      m.target.type = MetricTargetType::kAverageValue;
      m.target.average_value_milli = 1000;
      collect_spec_.metrics.push_back(m);
    }
  }
  status_.name = options_.name;
  status_.dry_run = options_.dry_run;
  status_.min_replicas = policy_.hpa.min_replicas;
  status_.max_replicas = policy_.hpa.max_replicas;
  status_.metric_specs = policy_.hpa.metrics;
}

Controller::~Controller() { stop(); }

int64_t Controller::unixMs() const {
  if (options_.unix_ms) return options_.unix_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Controller::init() {
  if (initialized_) return Status::ok();
  if (policy_.predictive.enabled) {
    auto loaded = loadRpsHistory(policy_.predictive.history_file);
    if (loaded.isOk()) {
      rps_history_ = std::move(loaded).value();
      SURGE_LOG(kInfo, kModule,
                "predictive: " + std::to_string(rps_history_.size()) + " samples from " +
                    policy_.predictive.history_file);
    } else if (loaded.status().code() == StatusCode::kNotFound ||
               loaded.status().message().find("cannot open") != std::string::npos) {
      SURGE_LOG(kInfo, kModule,
                "predictive: no history yet at " + policy_.predictive.history_file +
                    " (recording from now on)");
    } else {
      return loaded.status();
    }
  }
  initialized_ = true;
  return Status::ok();
}

Status Controller::start() {
  RETURN_IF_ERROR(init());
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    if (thread_.joinable()) return failedPrecondition("autoscaler already started");
    stop_ = false;
  }
  SURGE_LOG(kInfo, kModule,
            options_.name + ": syncing every " + fmtDouble(toSeconds(policy_.sync_period)) +
                "s, replicas " + std::to_string(policy_.hpa.min_replicas) + ".." +
                std::to_string(policy_.hpa.max_replicas) + (options_.dry_run ? " (dry run)" : ""));
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

void Controller::stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Controller::loop() {
  for (;;) {
    syncOnce();
    std::unique_lock<std::mutex> lock(loop_mu_);
    if (loop_cv_.wait_for(lock, policy_.sync_period, [this] { return stop_; })) return;
  }
}

AutoscaleEvent Controller::record(AutoscaleEvent e) {
  e.time = clock_.now();
  if (e.unix_ms == 0) e.unix_ms = unixMs();
  AutoscaleEvent stored = events_.add(std::move(e));
  if (stored.count == 1 || stored.count % 20 == 0) {  // repeated warnings: log now and then
    if (stored.type == "Warning") {
      SURGE_LOG(kWarn, kModule, options_.name + ": " + formatEvent(stored));
    } else {
      SURGE_LOG(kInfo, kModule, options_.name + ": " + formatEvent(stored));
    }
  }
  return stored;
}

Decision Controller::fail(const std::string& reason, const std::string& message, int32_t current,
                          const std::string& condition_type) {
  Decision d;
  d.unix_ms = unixMs();
  d.current = current;
  d.reactive = current;
  d.desired = current;
  d.held = true;
  d.reason = message;
  AutoscaleEvent e;
  e.unix_ms = d.unix_ms;
  e.type = "Warning";
  e.reason = reason;
  e.message = message;
  e.from = current;
  e.to = current;
  record(std::move(e));
  std::lock_guard<std::mutex> lock(mu_);
  status_.syncs++;
  status_.sync_errors++;
  status_.last_sync_unix_ms = d.unix_ms;
  status_.conditions = {
      {"AbleToScale", condition_type != "AbleToScale", condition_type == "AbleToScale" ? reason
                                                                                    : "ReadyForNewScale",
       condition_type == "AbleToScale" ? message : "recommended size matches current size"},
      {"ScalingActive", false, reason, message},
  };
  status_.last_decision = d;
  return d;
}

std::optional<double> Controller::observedRps(const MetricsSnapshot& snapshot) const {
  const std::string& name = policy_.predictive.metric;
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

void Controller::runPredictive(int64_t unix_ms, const MetricsSnapshot& snapshot, Decision& d) {
  const PredictiveConfig& p = policy_.predictive;
  d.observed_rps = observedRps(snapshot);
  if (d.observed_rps) {
    RpsSample sample{unix_ms / 1000, *d.observed_rps};
    rps_history_.push_back(sample);
    if (rps_history_.size() > kMaxRpsHistory) {
      rps_history_.erase(rps_history_.begin(),
                         rps_history_.begin() + static_cast<std::ptrdiff_t>(kMaxRpsHistory / 10));
    }
    if (Status s = appendRpsHistory(p.history_file, sample); !s.isOk() && !history_write_warned_) {
      history_write_warned_ = true;
      SURGE_LOG(kWarn, kModule, "predictive: cannot record history: " + s.message());
    }
  }
  if (rps_history_.empty()) return;
  if (!forecaster_.fitted() || unix_ms - last_fit_unix_ms_ >= kRefitEveryMs) {
    last_fit_unix_ms_ = unix_ms;
    if (Status s = forecaster_.fit(rps_history_); !s.isOk()) {
      SURGE_LOG(kDebug, kModule, "predictive: " + s.message());
    }
  }
  if (!forecaster_.fitted()) return;
  const int64_t at = unix_ms / 1000 +
                     std::chrono::duration_cast<std::chrono::seconds>(p.horizon).count();
  d.forecast_rps = forecaster_.forecast(at);
  d.predictive = predictiveReplicas(*d.forecast_rps, p.rps_per_replica, p.min_replicas);
}

Decision Controller::syncOnce() {
  if (!initialized_) {
    if (Status s = init(); !s.isOk()) {
      return fail("FailedInit", s.message(), 0, "ScalingActive");
    }
  }
  const TimePoint now = clock_.now();
  const int64_t unix_ms = unixMs();

  auto scale_or = target_.getScale();
  if (!scale_or.isOk()) {
    return fail("FailedGetScale", "the HPA controller was unable to get the target's current scale: " +
                                      scale_or.status().message(),
                0, "AbleToScale");
  }
  ScaleState scale = *scale_or;
  // A target that has not been told a size yet (the local actuator before the first setScale)
  // reports spec 0 while it runs replicas: count what runs, not "scaling disabled".
  if (scale.spec_replicas == 0 && scale.status_replicas > 0) scale.spec_replicas = scale.status_replicas;
  const int32_t current = scale.spec_replicas;

  auto pods_or = target_.listPods();
  if (!pods_or.isOk()) {
    return fail("FailedGetPods", "unable to list the target's pods: " + pods_or.status().message(),
                current, "ScalingActive");
  }
  MetricsSnapshot snapshot = collector_.collect(collect_spec_, *pods_or, now);

  SyncInput input;
  input.now = now;
  input.spec = policy_.hpa;
  input.scale = scale;
  input.pods = *pods_or;
  input.metrics = snapshot;
  input.history = history_;
  input.controller = policy_.controller;
  SyncResult result = runSync(input);
  history_ = result.history;

  Decision d;
  d.unix_ms = unix_ms;
  d.current = current;
  d.reactive = result.desired_replicas;
  d.desired = result.desired_replicas;

  // Every metric failed: hold, whatever the later stages would say.
  size_t failed = 0;
  const MetricResult* first_failed = nullptr;
  const MetricResult* top = nullptr;  // the metric with the largest proposal
  std::string top_name;
  for (size_t i = 0; i < result.metrics.size(); ++i) {
    const MetricResult& m = result.metrics[i];
    if (!m.proposal) {
      failed++;
      if (!first_failed) first_failed = &m;
    } else if (!top || *m.proposal > *top->proposal) {
      top = &m;
      top_name = i < policy_.hpa.metrics.size() ? describeMetric(policy_.hpa.metrics[i]) : m.name;
    }
  }
  d.held = !result.metrics.empty() && failed == result.metrics.size();

  std::vector<std::string> values;
  for (size_t i = 0; i < result.metrics.size() && i < policy_.hpa.metrics.size(); ++i) {
    values.push_back(formatMetricValue(policy_.hpa.metrics[i], result.metrics[i]));
  }

  if (first_failed) {
    AutoscaleEvent e;
    e.unix_ms = unix_ms;
    e.type = "Warning";
    e.reason = failedGetReason(first_failed->type);
    e.message = "invalid metrics (" + std::to_string(failed) + " invalid out of " +
                std::to_string(result.metrics.size()) + "), first error is: " +
                first_failed->error.value_or("metric unavailable") +
                (d.held ? "; holding " + std::to_string(current) + " replicas" : "");
    e.from = current;
    e.to = current;
    e.metrics = values;
    record(std::move(e));
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

  const bool scaling_enabled = current > 0 && !d.held;
  if (scaling_enabled && policy_.predictive.enabled) {
    runPredictive(unix_ms, snapshot, d);
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
    const double demand = top ? static_cast<double>(result.proposal) : 0.0;
    PanicDecision pd = panic_.decide(now, demand, current, d.desired);
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
    e.metrics = values;
    record(std::move(e));
  }

  d.reason = reason;
  d.scaled = d.desired != current;
  bool write_failed = false;
  if (d.scaled) {
    AutoscaleEvent e;
    e.unix_ms = unix_ms;
    e.from = current;
    e.to = d.desired;
    e.metrics = values;
    if (options_.dry_run) {
      e.reason = "DryRunRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + reason +
                  " (dry run: not applied)";
    } else if (Status s = target_.setScale(d.desired); !s.isOk()) {
      write_failed = true;
      e.type = "Warning";
      e.reason = "FailedRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + reason +
                  "; error: " + s.message();
    } else {
      e.reason = "SuccessfulRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + reason;
    }
    record(std::move(e));
  } else {
    SURGE_LOG(kDebug, kModule,
              options_.name + ": " + std::to_string(current) + " replicas, no change (" +
                  result.condition.reason + ")");
  }

  std::lock_guard<std::mutex> lock(mu_);
  status_.syncs++;
  if (d.held || write_failed) status_.sync_errors++;
  status_.last_sync_unix_ms = unix_ms;
  status_.current_replicas = current;
  status_.status_replicas = scale.status_replicas;
  status_.desired_replicas = d.desired;
  status_.metrics = result.metrics;
  if (d.scaled && !write_failed && !options_.dry_run) {
    status_.last_scale_unix_ms = unix_ms;
    (d.desired > current ? status_.scale_ups : status_.scale_downs)++;
  }
  const std::string& cr = result.condition.reason;
  status_.conditions.clear();
  status_.conditions.push_back(
      write_failed ? StatusCondition{"AbleToScale", false, "FailedUpdateScale",
                                     "the HPA controller was unable to update the target scale"}
      : d.scaled   ? StatusCondition{"AbleToScale", true, "SucceededRescale",
                                   "the HPA controller was able to update the target scale to " +
                                       std::to_string(d.desired)}
                   : StatusCondition{"AbleToScale", true, "ReadyForNewScale",
                                     "recommended size matches current size"});
  if (current == 0) {
    status_.conditions.push_back({"ScalingActive", false, "ScalingDisabled",
                                  "scaling is disabled since the replica count of the target is "
                                  "zero"});
  } else if (d.held) {
    status_.conditions.push_back({"ScalingActive", false, failedGetReason(first_failed->type),
                                  first_failed->error.value_or("metric unavailable")});
  } else {
    status_.conditions.push_back({"ScalingActive", true, "ValidMetricFound",
                                  "the HPA was able to successfully calculate a replica count"});
  }
  const bool limited = cr == "TooManyReplicas" || cr == "TooFewReplicas" ||
                       cr == "ScaleUpLimit" || cr == "ScaleDownLimit";
  status_.conditions.push_back(
      {"ScalingLimited", limited, cr.empty() ? "DesiredWithinRange" : cr, result.condition.message});
  status_.last_decision = d;
  if (policy_.predictive.enabled) status_.forecaster = forecaster_.summary();
  return d;
}

AutoscalerStatus Controller::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace surge::autoscale
