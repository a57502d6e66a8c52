// The data model of one Kubernetes HPA sync (autoscaling/v2), shared by the HPA core (hpa/), the
// metric sources (sources/), the controller driver (autoscale/), the simulator (sim/) and
// `surge autoscale explain`. Semantics: docs/autoscaling.md (kubernetes
// pkg/controller/podautoscaler). Plain values only; no behaviour lives here.
//
// Units: every quantity is an int64 in milli-units, as resource.Quantity.MilliValue() gives it
// ("500m" cpu → 500, "1Gi" memory → 1073741824000, "12" → 12000). Times are surge::TimePoint; the
// HPA core only takes differences, so the epoch is free (explain maps RFC 3339 to ns since the Unix
// epoch; the controller uses its Clock).
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace surge::autoscale {

// ---- spec (autoscaling/v2 HorizontalPodAutoscalerSpec) ------------------------------------------

enum class MetricSourceType { kResource, kContainerResource, kPods, kObject, kExternal };
enum class MetricTargetType { kUtilization, kValue, kAverageValue };

struct MetricTarget {
  MetricTargetType type = MetricTargetType::kUtilization;
  int32_t average_utilization = 0;  // percent, for kUtilization
  int64_t value_milli = 0;          // for kValue
  int64_t average_value_milli = 0;  // for kAverageValue
};

struct ObjectReference {  // Object metrics' describedObject
  std::string api_version, kind, name;
};

struct MetricSpec {
  MetricSourceType type = MetricSourceType::kResource;
  // Resource/ContainerResource: the resource ("cpu", "memory"). Pods/Object/External: metric.name.
  std::string name;
  std::string container;                            // ContainerResource only
  std::map<std::string, std::string> match_labels;  // metric.selector.matchLabels (sources use it)
  ObjectReference described_object;                 // Object only
  MetricTarget target;
};

enum class PolicyType { kPods, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct ScalingPolicy {
  PolicyType type = PolicyType::kPods;
  int32_t value = 0;
  Duration period{0};  // periodSeconds
};

// HPAScalingRules. Unset fields are nullopt/empty and take the defaults of docs/autoscaling.md when
// the behavior is normalized (the HPA core does that, not the parser).
struct ScalingRules {
  std::optional<Duration> stabilization_window;
  std::optional<SelectPolicy> select_policy;
  std::optional<std::vector<ScalingPolicy>> policies;
  std::optional<double> tolerance;  // behavior.scaleUp/scaleDown.tolerance
};

struct Behavior {
  std::optional<ScalingRules> scale_up;
  std::optional<ScalingRules> scale_down;
};

struct HpaSpec {
  std::string name;  // metadata.name when given (events, logs); "" otherwise
  int32_t min_replicas = 1;
  int32_t max_replicas = 0;
  std::vector<MetricSpec> metrics;
  std::optional<Behavior> behavior;  // nullopt → legacy path; present (even {}) → behavior path
};

// The controller's flags (kube-controller-manager --horizontal-pod-autoscaler-*).
struct ControllerOptions {
  double tolerance = 0.1;
  Duration cpu_initialization_period = std::chrono::minutes(5);
  Duration initial_readiness_delay = std::chrono::seconds(30);
  Duration downscale_stabilization_window = std::chrono::minutes(5);
  double scale_up_limit_factor = 2.0;
  int32_t scale_up_limit_minimum = 4;
};

// ---- observed state ------------------------------------------------------------------------------

struct ScaleState {
  int32_t spec_replicas = 0;    // what the target was asked for
  int32_t status_replicas = 0;  // what it has
};

struct ReadyCondition {
  bool status = false;  // Ready == "True"
  TimePoint last_transition{};
};

struct PodInfo {
  std::string name;
  std::string phase = "Running";  // Pending, Running, Succeeded, Failed, Unknown
  bool deleted = false;           // deletionTimestamp set
  std::optional<TimePoint> start_time;
  std::optional<ReadyCondition> ready;
  std::map<std::string, int64_t> requests_milli;  // summed container requests: "cpu", "memory"
  // Not read by the HPA core; for drivers and sources (local replicas).
  std::string address;  // "127.0.0.1:PORT" of the replica's HTTP endpoint
  int64_t pid = 0;      // local process id (0 when not local)
  std::string zone;
};

struct PodSample {
  int64_t value_milli = 0;
  TimePoint timestamp{};
  Duration window{std::chrono::seconds(30)};
};

// Everything the metric sources fetched for one sync. Keys: "cpu"/"memory" for Resource metrics,
// the metric name for Pods/Object/External metrics.
struct MetricsSnapshot {
  std::map<std::string, std::map<std::string, PodSample>> pod_metrics;  // metric → pod → sample
  std::map<std::string, int64_t> object_metrics;
  std::map<std::string, std::vector<int64_t>> external_metrics;
  std::map<std::string, std::string> failed;  // metric → why its fetch failed in this sync
};

// ---- history kept between syncs -----------------------------------------------------------------

struct Recommendation {
  int32_t replicas = 0;
  TimePoint timestamp{};
};

struct ScaleEvent {
  int32_t replica_change = 0;
  TimePoint timestamp{};
  bool outdated = false;
};

struct HpaHistory {
  std::vector<Recommendation> recommendations;
  std::vector<ScaleEvent> scale_up_events;
  std::vector<ScaleEvent> scale_down_events;
};

// ---- one sync ------------------------------------------------------------------------------------

struct SyncInput {
  TimePoint now{};
  HpaSpec spec;
  ScaleState scale;
  std::vector<PodInfo> pods;
  MetricsSnapshot metrics;
  std::optional<HpaHistory> history;  // nullopt: HPA seen for the first time
  ControllerOptions controller;
};

struct MetricCurrent {  // what status.currentMetrics shows
  std::optional<int32_t> average_utilization;
  std::optional<int64_t> average_value_milli;
  std::optional<int64_t> value_milli;
};

struct MetricResult {
  MetricSourceType type = MetricSourceType::kResource;
  std::string name;
  std::optional<int32_t> proposal;  // nullopt when the metric failed
  std::optional<std::string> error;
  MetricCurrent current;
  int32_t ready_pod_count = 0;
  std::vector<std::string> unready_pods, missing_pods, ignored_pods;
};

struct Condition {
  std::string reason;  // DesiredWithinRange, ScaleUpLimit, ScaleDownLimit, TooManyReplicas, ...
  std::string message;
};

struct SyncResult {
  int32_t desired_replicas = 0;
  bool scaled = false;  // desired != current: the driver writes the scale
  std::vector<MetricResult> metrics;
  int32_t proposal = 0;             // max over valid metrics (current when none)
  int32_t stabilized_replicas = 0;  // after stabilization, before rate limits / clamp
  Condition condition;
  HpaHistory history;  // to pass as `history` to the next sync
};

}  // namespace surge::autoscale
