#include "autoscale/controller/controller.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "common/logging.h"

namespace surge::autoscale {
namespace {

constexpr const char* kModule = "autoscale";

std::string fmtDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

bool isMetricFailureEvent(const AutoscaleEvent& e) {
  return e.type == "Warning" && e.reason.rfind("FailedGet", 0) == 0 && e.reason.size() > 15 &&
         e.reason.compare(e.reason.size() - 6, 6, "Metric") == 0;
}

}  // namespace

bool targetStarting(const ScaleState& scale, const std::vector<PodInfo>& pods, TimePoint now,
                    Duration sample_after) {
  if (scale.spec_replicas <= 0 && scale.status_replicas <= 0) return false;
  for (const PodInfo& p : pods) {
    if (p.deleted || p.phase == "Failed" || p.phase == "Succeeded") continue;
    if (p.phase == "Pending") continue;
    if (!p.ready) return false;  // no condition: not something we can call "starting"
    if (p.ready->status) {
      if (now - p.ready->last_transition < sample_after) continue;  // no sample yet
      return false;
    }
    // Not ready: starting only if it never was (its condition has not moved since its start).
    if (!p.start_time || p.ready->last_transition > *p.start_time) return false;
  }
  return true;
}

Controller::Controller(AutoscalePolicy policy, ScaleTarget& target, MetricsCollector& collector,
                       Clock& clock, AutoscalerOptions options)
    : target_(target),
      collector_(collector),
      clock_(clock),
      options_(std::move(options)),
      events_(options_.event_capacity),
      pipeline_(std::move(policy)) {
  const PipelinePolicy& p = pipeline_.policy();
  if (!p.hpa.name.empty() && options_.name == AutoscalerOptions{}.name) {
    options_.name = p.hpa.name;
  }
  status_.name = options_.name;
  status_.dry_run = options_.dry_run;
  status_.min_replicas = p.hpa.min_replicas;
  status_.max_replicas = p.hpa.max_replicas;
  status_.metric_specs = p.hpa.metrics;
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
  const PredictiveConfig& predictive = pipeline_.policy().predictive;
  if (predictive.enabled) {
    auto loaded = loadRpsHistory(predictive.history_file);
    if (loaded.isOk()) {
      const size_t n = loaded->size();
      pipeline_.setRpsHistory(std::move(loaded).value());
      SURGE_LOG(kInfo, kModule,
                "predictive: " + std::to_string(n) + " samples from " + predictive.history_file);
    } else if (loaded.status().code() == StatusCode::kNotFound ||
               loaded.status().message().find("cannot open") != std::string::npos) {
      SURGE_LOG(kInfo, kModule,
                "predictive: no history yet at " + predictive.history_file +
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
  const PipelinePolicy& p = pipeline_.policy();
  SURGE_LOG(kInfo, kModule,
            options_.name + ": syncing every " + fmtDouble(toSeconds(p.sync_period)) +
                "s, replicas " + std::to_string(p.hpa.min_replicas) + ".." +
                std::to_string(p.hpa.max_replicas) + (options_.dry_run ? " (dry run)" : ""));
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
    if (loop_cv_.wait_for(lock, pipeline_.policy().sync_period,
                          [this] { return stop_ || poked_; }) &&
        stop_) {
      return;
    }
    poked_ = false;
  }
}

void Controller::syncSoon() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    poked_ = true;
  }
  loop_cv_.notify_all();
}

AutoscaleEvent Controller::record(AutoscaleEvent e) {
  e.time = clock_.now();
  if (e.unix_ms == 0) e.unix_ms = unixMs();
  AutoscaleEvent stored = events_.add(std::move(e));
  if (stored.count == 1 || stored.count % 20 == 0) {  // repeated warnings: log now and then
    const std::vector<LogField> fields = {{"event", "scaling"},   {"target", options_.name},
                                          {"type", stored.type},   {"reason", stored.reason},
                                          {"from", stored.from},   {"to", stored.to},
                                          {"count", stored.count}, {"sequence", stored.sequence}};
    if (stored.type == "Warning") {
      SURGE_LOG_FIELDS(kWarn, kModule, options_.name + ": " + formatEvent(stored), fields);
    } else {
      SURGE_LOG_FIELDS(kInfo, kModule, options_.name + ": " + formatEvent(stored), fields);
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

Decision Controller::syncOnce() {
  if (!initialized_) {
    if (Status s = init(); !s.isOk()) {
      return fail("FailedInit", s.message(), 0, "ScalingActive");
    }
  }
  const PipelinePolicy& policy = pipeline_.policy();
  Observation obs;
  obs.now = clock_.now();
  obs.unix_ms = unixMs();

  auto scale_or = target_.getScale();
  if (!scale_or.isOk()) {
    return fail("FailedGetScale", "the HPA controller was unable to get the target's current scale: " +
                                      scale_or.status().message(),
                0, "AbleToScale");
  }
  obs.scale = *scale_or;
  auto pods_or = target_.listPods();
  if (!pods_or.isOk()) {
    return fail("FailedGetPods", "unable to list the target's pods: " + pods_or.status().message(),
                effectiveScale(obs.scale).spec_replicas, "ScalingActive");
  }
  obs.pods = std::move(pods_or).value();
  obs.metrics = collector_.collect(pipeline_.collectSpec(), obs.pods, obs.now);

  if (options_.activation) {
    // Scale to zero: KEDA's 0<->N step first; at 0 replicas (or when it scaled) the sync ends.
    const int32_t spec = obs.scale.spec_replicas;
    ActivationStep a = options_.activation(spec, obs.now);
    const int32_t after = a.scale_to.value_or(spec);
    if (after != spec || after == 0) {
      Decision d;
      d.unix_ms = unixMs();
      d.current = spec;
      d.reactive = after;
      d.desired = after;
      d.scaled = after != spec;
      d.reason = a.message;
      bool write_failed = false;
      if (d.scaled) {
        AutoscaleEvent e;
        e.unix_ms = d.unix_ms;
        e.from = spec;
        e.to = after;
        e.reason = a.reason;
        if (options_.dry_run) {
          e.reason = "DryRunRescale";
          e.message = a.message + " (dry run: not applied)";
        } else if (Status s = target_.setScale(after); !s.isOk()) {
          write_failed = true;
          e.type = "Warning";
          e.reason = "FailedRescale";
          e.message = a.message + "; error: " + s.message();
        } else {
          e.message = a.message;
        }
        record(std::move(e));
      }
      std::lock_guard<std::mutex> lock(mu_);
      status_.syncs++;
      if (write_failed) status_.sync_errors++;
      status_.last_sync_unix_ms = d.unix_ms;
      status_.current_replicas = spec;
      status_.status_replicas = obs.scale.status_replicas;
      status_.desired_replicas = after;
      status_.decided = true;
      if (d.scaled && !write_failed && !options_.dry_run) {
        status_.last_scale_unix_ms = d.unix_ms;
        (after > spec ? status_.scale_ups : status_.scale_downs)++;
      }
      status_.conditions = {
          {"AbleToScale", !write_failed, write_failed ? "FailedUpdateScale" : "ScaledByActivation",
           a.message},
          {"ScalingActive", after > 0, after > 0 ? a.reason : "ScalingDisabled",
           after > 0 ? a.message
                     : "scaling is disabled since the replica count of the target is zero (" +
                           a.message + ")"},
      };
      status_.last_decision = d;
      return d;
    }
  }

  PipelineResult r = pipeline_.step(obs);
  Decision& d = r.decision;
  const SyncResult& result = r.hpa;
  const int32_t current = d.current;
  const int64_t unix_ms = d.unix_ms;
  // A rate needs two scrapes one sync apart, and a replica joins the gateway just after it turns
  // ready: a second of slack.
  const bool starting =
      targetStarting(obs.scale, obs.pods, obs.now, policy.sync_period + std::chrono::seconds(1));

  for (AutoscaleEvent& e : r.events) {
    if (starting && isMetricFailureEvent(e)) {
      SURGE_LOG(kDebug, kModule, options_.name + ": replicas starting: " + e.message);
      continue;
    }
    record(std::move(e));
  }
  if (starting && d.held) {
    // The normal start: nothing to decide yet, nothing wrong either.
    int live = 0;
    for (const PodInfo& p : obs.pods) {
      if (!p.deleted && p.phase != "Failed" && p.phase != "Succeeded") ++live;
    }
    SURGE_LOG(kDebug, kModule,
              options_.name + ": waiting for the first ready replicas (" + std::to_string(live) +
                  " starting), holding " + std::to_string(current));
    std::lock_guard<std::mutex> lock(mu_);
    status_.syncs++;
    status_.last_sync_unix_ms = unix_ms;
    status_.current_replicas = current;
    status_.status_replicas = r.scale.status_replicas;
    status_.metrics = result.metrics;
    status_.conditions = {
        {"AbleToScale", true, "ReadyForNewScale", "recommended size matches current size"},
        {"ScalingActive", false, "WaitingForReadyPods",
         std::to_string(live) + " replica(s) starting: no metric sample yet (not ready, or ready "
                                "for less than one sync period); holding " +
             std::to_string(current) + " replicas"},
        {"ScalingLimited", false, "DesiredWithinRange",
         "the desired count is within the acceptable range"},
    };
    return d;
  }
  if (d.observed_rps) {
    const RpsSample sample{unix_ms / 1000, *d.observed_rps};
    if (Status s = appendRpsHistory(policy.predictive.history_file, sample);
        !s.isOk() && !history_write_warned_) {
      history_write_warned_ = true;
      SURGE_LOG(kWarn, kModule, "predictive: cannot record history: " + s.message());
    }
  }
  if (r.fit_error) SURGE_LOG(kDebug, kModule, "predictive: " + *r.fit_error);

  bool write_failed = false;
  if (d.scaled) {
    AutoscaleEvent e;
    e.unix_ms = unix_ms;
    e.from = current;
    e.to = d.desired;
    e.metrics = r.metric_values;
    if (options_.dry_run) {
      e.reason = "DryRunRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + d.reason +
                  " (dry run: not applied)";
    } else if (Status s = target_.setScale(d.desired); !s.isOk()) {
      write_failed = true;
      e.type = "Warning";
      e.reason = "FailedRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + d.reason +
                  "; error: " + s.message();
    } else {
      e.reason = "SuccessfulRescale";
      e.message = "New size: " + std::to_string(d.desired) + "; reason: " + d.reason;
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
  status_.status_replicas = r.scale.status_replicas;
  status_.desired_replicas = d.desired;
  status_.decided = true;
  status_.metrics = result.metrics;
  if (d.scaled && !write_failed && !options_.dry_run) {
    status_.last_scale_unix_ms = unix_ms;
    (d.desired > current ? status_.scale_ups : status_.scale_downs)++;
  }
  const std::string& cr = result.condition.reason;
  // Some metrics failed and the valid ones wanted fewer replicas: the HPA core held (its condition
  // is FailedGet<Type>Metric "invalid metrics (k invalid out of n), ..."). Kubernetes reports that
  // as ScalingActive False and leaves ScalingLimited as the last real decision set it. When a later
  // stage (predictive) still scaled up, the sync did decide: ValidMetricFound as usual.
  const bool partial_hold =
      !d.held && !d.scaled && r.first_failed && cr.rfind("FailedGet", 0) == 0;
  std::optional<StatusCondition> previous_limited;
  for (const StatusCondition& c : status_.conditions) {
    if (c.type == "ScalingLimited") previous_limited = c;
  }
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
    const MetricResult& first_failed = result.metrics[*r.first_failed];
    status_.conditions.push_back({"ScalingActive", false, failedGetReason(first_failed.type),
                                  first_failed.error.value_or("metric unavailable")});
  } else if (partial_hold) {
    status_.conditions.push_back({"ScalingActive", false, cr, result.condition.message});
  } else {
    status_.conditions.push_back({"ScalingActive", true, "ValidMetricFound",
                                  "the HPA was able to successfully calculate a replica count"});
  }
  if (partial_hold) {
    status_.conditions.push_back(previous_limited.value_or(
        StatusCondition{"ScalingLimited", false, "DesiredWithinRange",
                        "the desired count is within the acceptable range"}));
    status_.last_decision = d;
    if (policy.predictive.enabled) status_.forecaster = pipeline_.forecaster().summary();
    return d;
  }
  const bool limited = cr == "TooManyReplicas" || cr == "TooFewReplicas" ||
                       cr == "ScaleUpLimit" || cr == "ScaleDownLimit";
  status_.conditions.push_back(
      {"ScalingLimited", limited, cr.empty() ? "DesiredWithinRange" : cr, result.condition.message});
  status_.last_decision = d;
  if (policy.predictive.enabled) status_.forecaster = pipeline_.forecaster().summary();
  return d;
}

AutoscalerStatus Controller::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace surge::autoscale
