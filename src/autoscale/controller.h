// Controller: the autoscaler's sync loop (Kubernetes' HorizontalController.reconcileAutoscaler,
// plus surge's predictive and panic stages). One sync:
//   getScale → listPods → collect metrics → runSync (the HPA core; its history is kept between
//   syncs) → predictive (record the observed request rate to the history CSV; forecast at
//   now + horizon; desired = max(reactive, predictive); a forecast alone never scales in)
//   → panic (panic.h) → clamp to [minReplicas, maxReplicas] → setScale when changed.
// Metrics source down (every metric failed, or the scale/pods cannot be read) → hold the replicas
// and record a Warning event; never scale to the minimum because data is missing.
// Every rescale and every failure becomes an event (events.h), logged with SURGE_LOG; status()
// gives what `kubectl describe hpa` shows (current/desired, metrics, conditions, last decision).
//
// Threading: start() runs syncs on an own thread every sync_period (real time between syncs; the
// decisions use the injected Clock). syncOnce() runs one sync on the caller's thread (tests, with
// a ManualClock, and never concurrently with the thread). status()/events() are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/events.h"
#include "autoscale/hpa/types.h"
#include "autoscale/panic.h"
#include "autoscale/predict/forecaster.h"
#include "autoscale/scale_target.h"
#include "autoscale/sources/collector.h"
#include "common/clock.h"
#include "common/status.h"

namespace surge::autoscale {

struct AutoscalerOptions {
  std::string name = "surge-autoscaler";  // events and logs (the HPA's metadata.name if set)
  bool dry_run = false;                   // decide and record, never setScale
  size_t event_capacity = 256;
  // Wall clock in Unix milliseconds (event times; predictive seasonality). Default: the system
  // clock. Tests pass a fixed mapping from their ManualClock.
  std::function<int64_t()> unix_ms;
};

// The predictive stage's rule, pure: desired = max(reactive, predictive), except that a forecast
// never causes a scale-in by itself: when the reactive decision keeps or raises the replicas, the
// result is at least `current`. (max() already never goes below reactive, so the forecast can
// only hold or raise; scale-in happens only when the reactive decision scales in, and then no
// further than the forecast allows.)
int32_t combineReactivePredictive(int32_t current, int32_t reactive,
                                  std::optional<int32_t> predictive);

// kubectl's metric names in events: "cpu resource utilization (percentage of request)",
// "pods metric requests_per_second", "external metric queue_length", ...
std::string describeMetric(const MetricSpec& spec);
// "pods metric requests_per_second: 250 / 100" (current / target), "... <unknown> / 100" when the
// metric failed.
std::string formatMetricValue(const MetricSpec& spec, const MetricResult& result);

struct StatusCondition {  // status.conditions of an HPA
  std::string type;       // AbleToScale, ScalingActive, ScalingLimited
  bool status = false;
  std::string reason;
  std::string message;
};

struct Decision {  // what the last sync decided, stage by stage
  int64_t unix_ms = 0;
  int32_t current = 0;
  int32_t reactive = 0;                 // the HPA core's desired replicas
  std::optional<int32_t> predictive;    // predictiveReplicas(forecast), when enabled and fitted
  std::optional<double> forecast_rps;   // the forecast at now + horizon
  std::optional<double> observed_rps;   // the request rate recorded this sync
  bool panicking = false;
  int32_t desired = 0;                  // final, after clamping
  bool scaled = false;                  // setScale was called (or would be, in dry run)
  bool held = false;                    // metrics missing: replicas held
  std::string reason;                   // why desired is what it is
};

struct AutoscalerStatus {
  std::string name;
  bool dry_run = false;
  int32_t current_replicas = 0;   // scale.spec.replicas at the last sync
  int32_t status_replicas = 0;    // scale.status.replicas
  int32_t desired_replicas = 0;
  int32_t min_replicas = 0;
  int32_t max_replicas = 0;
  int64_t last_sync_unix_ms = 0;  // 0 = never
  int64_t last_scale_unix_ms = 0;
  uint64_t syncs = 0;
  uint64_t sync_errors = 0;  // syncs that could not read the scale, the pods or any metric
  uint64_t scale_ups = 0;
  uint64_t scale_downs = 0;
  std::vector<MetricSpec> metric_specs;  // parallel to `metrics`
  std::vector<MetricResult> metrics;     // the last sync's per-metric results
  std::vector<StatusCondition> conditions;
  std::optional<Decision> last_decision;
  std::string forecaster;  // the predictive model's summary ("" when disabled)
};

class Controller {
 public:
  Controller(AutoscalePolicy policy, ScaleTarget& target, MetricsCollector& collector,
             Clock& clock, AutoscalerOptions options = {});
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Loads the predictive history (a missing file is fine; a malformed one is an error naming
  // file:line) without starting the loop. Called by start(); tests call it before syncOnce().
  Status init();
  // init() + the sync thread (first sync at once).
  Status start();
  // Stops the thread (waits for a running sync). Idempotent.
  void stop();
  // One sync on the calling thread; returns what it decided.
  Decision syncOnce();

  AutoscalerStatus status() const;
  const EventLog& events() const { return events_; }
  const AutoscalePolicy& policy() const { return policy_; }

 private:
  void loop();
  int64_t unixMs() const;
  AutoscaleEvent record(AutoscaleEvent e);
  Decision fail(const std::string& reason, const std::string& message, int32_t current,
                const std::string& condition_type);
  std::optional<double> observedRps(const MetricsSnapshot& snapshot) const;
  void runPredictive(int64_t unix_ms, const MetricsSnapshot& snapshot, Decision& d);

  AutoscalePolicy policy_;
  HpaSpec collect_spec_;  // policy_.hpa plus the predictive rate metric when it is missing
  ScaleTarget& target_;
  MetricsCollector& collector_;
  Clock& clock_;
  AutoscalerOptions options_;
  EventLog events_;
  PanicPolicy panic_;

  // Sync-thread state.
  std::optional<HpaHistory> history_;
  std::vector<RpsSample> rps_history_;
  SeasonalForecaster forecaster_;
  int64_t last_fit_unix_ms_ = 0;
  bool initialized_ = false;
  bool history_write_warned_ = false;

  mutable std::mutex mu_;  // guards status_
  AutoscalerStatus status_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace surge::autoscale
