// KEDA ScaledObjects (keda.sh/v1alpha1): the parser and the HorizontalPodAutoscaler KEDA
// generates for one. Supported: scaleTargetRef, pollingInterval (30 s), cooldownPeriod (300 s),
// initialCooldownPeriod (0), minReplicaCount (0), maxReplicaCount (100), fallback
// {failureThreshold, replicas, behavior: static}, advanced.horizontalPodAutoscalerConfig {name,
// behavior}, and triggers of type `prometheus` (metadata serverAddress, query, threshold,
// activationThreshold, metricName, ignoreNullValues, timeout, queryParameters, authModes,
// unsafeSsl, customHeaders; trigger name, metricType AverageValue|Value, authenticationRef), and
// surge's own trigger type `surge-gateway` (metadata serverAddress = the gateway's admin URL,
// threshold, activationThreshold): the value is the gateway's request rate plus the requests its
// activator holds, so a model scaled to zero (minReplicaCount 0) is activated by its first
// request (docs/design/activator.md).
// authenticationRef names a block of autoscale.yaml's `trigger_authentications`
// (prometheus_auth.h: KEDA's TriggerAuthentication with secrets in files). serverAddress may be
// http:// or https://. Other KEDA fields and trigger types are rejected with an error naming
// file:line:col and the field (unknown keys get a did-you-mean).
// Source: kedacore/keda apis/keda/v1alpha1/scaledobject_types.go, pkg/scalers/prometheus_scaler.go,
// controllers/keda/hpa.go. Semantics and differences: docs/metric-sources.md.
// Thread-safety: pure functions; the structs are plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autoscale/hpa/types.h"
#include "autoscale/prometheus_auth.h"
#include "common/clock.h"
#include "common/status.h"
#include "config/node.h"

namespace surge::autoscale {

struct PrometheusTrigger {
  // "prometheus", or "surge-gateway" (server_address: the gateway admin; no query).
  std::string type = "prometheus";
  int index = 0;     // position in spec.triggers
  std::string name;  // the trigger's optional `name`
  std::string server_address;
  std::string query;
  std::map<std::string, std::string> query_parameters;  // extra URL parameters
  double threshold = 0;                                 // > 0
  double activation_threshold = 0;
  std::string metric_name;  // metadata.metricName (informational; KEDA 2.x ignores it)
  bool ignore_null_values = true;
  MetricTargetType metric_type = MetricTargetType::kAverageValue;  // or kValue
  std::optional<Duration> timeout;  // metadata.timeout (milliseconds in KEDA)
  // metadata.authModes ("bearer", "basic", "tls", "custom"), as written or implied by `auth`.
  std::vector<std::string> auth_modes;
  std::string auth_ref;  // authenticationRef.name ("" = none)
  // Credentials and TLS settings: the referenced block, plus metadata.unsafeSsl and
  // metadata.customHeaders.
  PrometheusAuth auth;
  std::string location;             // "keda.yaml:21:7" of the trigger, for messages

  // The External metric name KEDA gives the trigger: "s<index>-<type>" ("s0-prometheus").
  std::string externalMetricName() const;
};

struct KedaFallback {
  int32_t failure_threshold = 0;
  int32_t replicas = 0;
};

struct ScaledObjectSpec {
  std::string name;  // metadata.name ("" when only the spec was given)
  std::string target_name, target_kind = "Deployment", target_api_version = "apps/v1";
  Duration polling_interval = std::chrono::seconds(30);
  Duration cooldown_period = std::chrono::seconds(300);
  Duration initial_cooldown_period{0};
  int32_t min_replica_count = 0;
  int32_t max_replica_count = 100;
  std::optional<KedaFallback> fallback;
  std::string hpa_name;  // advanced.horizontalPodAutoscalerConfig.name (default keda-hpa-<name>)
  // advanced.horizontalPodAutoscalerConfig.behavior as written (missing when absent); the HPA
  // core's parser turns it into HpaSpec::behavior (see kedaHpaSpec).
  config::Node behavior;
  std::vector<PrometheusTrigger> triggers;
};

// A whole ScaledObject (apiVersion/kind/metadata/spec) or just its spec. Errors name the field:
// "keda.yaml:14:9: spec.triggers[0].type: trigger type 'kafka' is not supported by surge
// (supported: prometheus, surge-gateway)", "... spec.triggers[1].metadata.threshold: missing
// required field".
// `auths` resolves authenticationRef names (null: a reference is an error).
StatusOr<ScaledObjectSpec> parseScaledObject(const config::Node& node,
                                             const TriggerAuthentications* auths = nullptr);

// The autoscaling/v2 HPA KEDA creates for the ScaledObject: name keda-hpa-<name> (or
// horizontalPodAutoscalerConfig.name), minReplicas = max(minReplicaCount, 1), maxReplicas =
// maxReplicaCount, one External metric per trigger named s<i>-prometheus with target
// AverageValue (or Value) = threshold in milli-units. `behavior` (already parsed from
// so.behavior by the HPA core, or nullopt) is copied in.
HpaSpec kedaHpaSpec(const ScaledObjectSpec& so, std::optional<Behavior> behavior = std::nullopt);

}  // namespace surge::autoscale
