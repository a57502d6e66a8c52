// Controller: the autoscaler's sync loop (Kubernetes' HorizontalController.reconcileAutoscaler,
// plus surge's predictive and panic stages), as I/O around the pure ScalingPipeline
// (scaling_pipeline.h, which owns the decision: HPA core with its history → predictive → panic →
// clamp). One sync:
//   getScale → listPods → collect metrics (for pipeline.collectSpec()) → pipeline.step(...) →
//   setScale when changed → the pipeline's events plus the rescale event, the status, the
//   observed request rate appended to the predictive history file, logs.
// Scale or pods unreadable → hold the replicas and record a Warning event (the pipeline is not
// run); every metric failed → the pipeline holds. Never scale to the minimum because data is
// missing.
// Every rescale and every failure becomes an event (events.h), logged with SURGE_LOG; status()
// gives what `kubectl describe hpa` shows (current/desired, metrics, conditions, last decision).
//
// Scale to zero (docs/design/activator.md): with an activation step (AutoscalerOptions::activation,
// KEDA's 0<->N step for a ScaledObject with minReplicaCount 0), each sync asks it first, with the
// target's spec replicas; a step that scales (0 -> N when active, N -> 0 after the cooldown) is
// written at once and ends the sync, and at 0 replicas the pipeline does not run (the HPA is
// disabled there). syncSoon() runs the next sync now: the gateway's activator calls it when it
// holds a first request, so the scale from zero starts without waiting for the period.
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
#include "autoscale/scale_target.h"
#include "autoscale/scaling_pipeline.h"
#include "autoscale/metrics_collector.h"
#include "common/clock.h"
#include "common/status.h"

namespace surge::autoscale {

// What the activation step decided (KEDA's ActivationDecision, without the KEDA types).
struct ActivationStep {
  std::optional<int32_t> scale_to;  // set the target to this many replicas
  std::string reason;               // KEDAScaleTargetActivated, KEDAScaleTargetDeactivated, ...
  std::string message;
};

struct AutoscalerOptions {
  std::string name = "surge-autoscaler";  // events and logs (the HPA's metadata.name if set)
  bool dry_run = false;                   // decide and record, never setScale
  size_t event_capacity = 256;
  // Wall clock in Unix milliseconds (event times; predictive seasonality). Default: the system
  // clock. Tests pass a fixed mapping from their ManualClock.
  std::function<int64_t()> unix_ms;
  // Scale to zero: the 0<->N step, given the target's spec replicas (null: none, the HPA's
  // minReplicas >= 1 holds).
  std::function<ActivationStep(int32_t current, TimePoint now)> activation;
};

struct StatusCondition {  // status.conditions of an HPA
  std::string type;       // AbleToScale, ScalingActive, ScalingLimited
  bool status = false;
  std::string reason;
  std::string message;
};

struct AutoscalerStatus {
  std::string name;
  bool dry_run = false;
  int32_t current_replicas = 0;   // scale.spec.replicas at the last sync
  int32_t status_replicas = 0;    // scale.status.replicas
  int32_t desired_replicas = 0;  // meaningful only when `decided`
  // A sync decided (or held on a real failure). False until then: while the target's first
  // replicas are starting, syncs only wait (desiredReplicas null in /status).
  bool decided = false;
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

// True when the target is starting: spec > 0 and no live pod has been ready long enough to have
// a metric sample — every live pod (not deleted, not Failed/Succeeded) is Pending, or not ready
// and never was (Ready=False since its start), or ready for less than `sample_after` (a rate
// needs two scrapes, one sync apart). No live pod at all counts as starting too. While starting,
// a metric that fails is not a FailedGet*Metric warning: the HPA core already treats such pods as
// unready; the controller holds and says it waits (ScalingActive False, WaitingForReadyPods).
bool targetStarting(const ScaleState& scale, const std::vector<PodInfo>& pods, TimePoint now,
                    Duration sample_after);

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
  // The sync thread runs its next sync now instead of at the end of the period. Thread-safe,
  // cheap, never blocks on a sync in progress (a poke during a sync runs one more after it).
  void syncSoon();

  AutoscalerStatus status() const;
  const EventLog& events() const { return events_; }
  const PipelinePolicy& policy() const { return pipeline_.policy(); }

 private:
  void loop();
  int64_t unixMs() const;
  AutoscaleEvent record(AutoscaleEvent e);
  Decision fail(const std::string& reason, const std::string& message, int32_t current,
                const std::string& condition_type);

  ScaleTarget& target_;
  MetricsCollector& collector_;
  Clock& clock_;
  AutoscalerOptions options_;
  EventLog events_;

  // Sync-thread state: the decision's state (HPA history, rps history, forecaster, panic) lives
  // in the pipeline.
  ScalingPipeline pipeline_;
  bool initialized_ = false;
  bool history_write_warned_ = false;

  mutable std::mutex mu_;  // guards status_
  AutoscalerStatus status_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace surge::autoscale
