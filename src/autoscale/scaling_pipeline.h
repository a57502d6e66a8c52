// ScalingPipeline: the autoscaling decision as one pure unit — one sync's observations (the
// target's scale, its pods, the metric snapshot, the time) plus the state kept between syncs →
// a Decision with its reason, and the events to record, as values. The stages, in this order:
//   1. reactive: the HPA core (hpa/ runSync); its history (recommendations for the scale-down
//      stabilization, scale events for the rate limits) is kept here between syncs;
//   2. hold: every metric failed → desired = current and no later stage runs (a Warning event;
//      never scale to the minimum because data is missing); a scale of 0 disables scaling;
//   3. predictive: the observed request rate (observedRequestRate) is appended to the rps
//      history, the forecaster is refitted when `refit_period` has passed since its last fit,
//      and desired = combineReactivePredictive(current, reactive, forecast at now + horizon);
//   4. panic (panic.h) on its demand (panicDemand: a configured metric's total over its
//      per-replica target, else the HPA core's proposal) against the ready replicas;
//   5. clamp to [minReplicas, maxReplicas].
// The production Controller (controller.h) is I/O around step(): getScale → listPods → collect →
// step → setScale, events, status, the history file, logs. `surge sim`'s autoscaler
// (sim/autoscaler.h) calls the same step() with the same refit period, on virtual time.
// No I/O, no logging, no threads, no clock: time comes in with the observation.
// Complexity: runSync's, plus a forecaster fit (O(history)) once per refit period.
// Thread-safety: none; one owner (the controller's sync thread, or one simulation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autoscale/events.h"
#include "autoscale/hpa/types.h"
#include "autoscale/panic.h"
#include "autoscale/predict/combined_forecaster.h"
#include "autoscale/predict/forecaster.h"
#include "autoscale/pipeline_policy.h"
#include "common/clock.h"

namespace surge::autoscale {

// How often the forecaster is refitted on the rps history: once a minute, for the controller and
// for `surge sim` alike (the simulator's `refit_every` key overrides it, for experiments only).
inline constexpr Duration kDefaultRefitPeriod = std::chrono::seconds(60);

struct PipelineOptions {
  Duration refit_period = kDefaultRefitPeriod;
  // The rps history is trimmed by a tenth (oldest first) when it grows past this: ~3 months at
  // one sample per 15 s.
  size_t max_rps_history = 500'000;
};

// One sync's observations.
struct Observation {
  TimePoint now{};      // the controller's clock: HPA and panic windows, pod ages
  int64_t unix_ms = 0;  // wall time: the forecast's seasonality, history timestamps, events
  ScaleState scale;     // the target's scale subresource, as read
  std::vector<PodInfo> pods;
  MetricsSnapshot metrics;  // collected for ScalingPipeline::collectSpec()
};

struct Decision {  // what a sync decided, stage by stage
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

struct PipelineResult {
  // decision.scaled = desired != current: the driver writes the scale (or not, in dry run).
  Decision decision;
  ScaleState scale;  // the observed scale after effectiveScale()
  SyncResult hpa;    // the HPA core's result: per-metric results and condition (the status)
  // formatMetricValue for each metric of the policy's HPA spec (event payloads).
  std::vector<std::string> metric_values;
  // Index into hpa.metrics of the first failed metric, when one failed.
  std::optional<size_t> first_failed;
  // To record, in this order: the invalid-metrics Warning, PanicModeEntered/Exited. Their
  // unix_ms is the observation's; time and sequence are the driver's (EventLog). The rescale
  // event is the driver's too: its reason depends on the write (Successful/Failed/DryRun).
  std::vector<AutoscaleEvent> events;
  // The forecaster's refit failed this sync (e.g. no usable history): a failed fit leaves no
  // model, so the predictive stage is skipped until a later refit succeeds.
  std::optional<std::string> fit_error;
};

class ScalingPipeline {
 public:
  // An AutoscalePolicy (autoscale_config.h) converts: the pipeline keeps its PipelinePolicy part.
  explicit ScalingPipeline(PipelinePolicy policy, PipelineOptions options = {});

  // The spec to collect metrics for: the policy's HPA spec plus, when the spec does not name
  // them, the predictive rate metric (predictive enabled) and panic's metric (panic enabled):
  // Pods metrics the HPA core never sees.
  const HpaSpec& collectSpec() const { return collect_spec_; }

  // Replaces the rps history the forecaster fits on (the controller's history file; the
  // simulator's generated days before its start).
  void setRpsHistory(std::vector<RpsSample> history);

  // One sync.
  PipelineResult step(const Observation& observation);

  const PipelinePolicy& policy() const { return policy_; }
  const PipelineOptions& options() const { return options_; }
  const CombinedForecaster& forecaster() const { return forecaster_; }
  const std::vector<RpsSample>& rpsHistory() const { return rps_history_; }
  int64_t lastFitUnixMs() const { return last_fit_unix_ms_; }  // 0: never fitted

 private:
  void runPredictive(int64_t unix_ms, const MetricsSnapshot& snapshot, Decision& d,
                     PipelineResult& out);

  PipelinePolicy policy_;
  PipelineOptions options_;
  HpaSpec collect_spec_;
  std::optional<HpaHistory> hpa_history_;
  std::vector<RpsSample> rps_history_;
  CombinedForecaster forecaster_;
  int64_t last_fit_unix_ms_ = 0;
  PanicPolicy panic_;
};

// A target that has not been told a size yet (the local actuator before its first setScale)
// reports spec 0 while it runs replicas: count what runs (spec = status), not "scaling disabled".
ScaleState effectiveScale(ScaleState scale);

// The predictive stage's rule, pure: desired = max(reactive, predictive), except that a forecast
// never causes a scale-in by itself: when the reactive decision keeps or raises the replicas, the
// result is at least `current`. (max() already never goes below reactive, so the forecast can
// only hold or raise; scale-in happens only when the reactive decision scales in, and then no
// further than the forecast allows.)
int32_t combineReactivePredictive(int32_t current, int32_t reactive,
                                  std::optional<int32_t> predictive);

// The observed request rate of a sync: the sum over pods of the Pods metric `metric`, else the
// sum of an External metric or the value of an Object metric of that name; nullopt when it
// failed or is absent.
std::optional<double> observedRequestRate(const std::string& metric,
                                          const MetricsSnapshot& snapshot);

// Replicas serving now: Running pods, not deleted, with a Ready condition that is
// true (panic's trigger capacity; the HPA core keeps its own readiness rules).
int32_t readyReplicas(const std::vector<PodInfo>& pods);

// Panic's demand in replicas (panic.h): without `panic.metric`, the HPA core's proposal (nullopt
// when no metric was valid); with it, the metric's total (observedRequestRate) / `panic.target`
// (nullopt when the metric failed or is absent, or the target is not > 0).
std::optional<double> panicDemand(const PanicConfig& panic, const SyncResult& hpa,
                                  bool any_valid_metric, const MetricsSnapshot& snapshot);

// Kubernetes' event reason for a failed metric fetch: FailedGetResourceMetric, ...
const char* failedGetReason(MetricSourceType type);

// kubectl's metric names in events: "cpu resource utilization (percentage of request)",
// "pods metric requests_per_second", "external metric queue_length", ...
std::string describeMetric(const MetricSpec& spec);
// "pods metric requests_per_second: 250 / 100" (current / target), "... <unknown> / 100" when the
// metric failed.
std::string formatMetricValue(const MetricSpec& spec, const MetricResult& result);

}  // namespace surge::autoscale
