// autoscale.yaml: the config of `surge autoscale` (and `surge up --config`, and — without
// `target` — of `surge sim`). Parsed once, at the edge, into typed values; every error names
// file:line:col and the field, unknown keys get a did-you-mean, and all errors of a file are
// reported together.
//
//   target: {kind: local, ...}          # local_target_config.h; kind kubernetes: not yet
//   sync_period: 15s
//   hpa: <autoscaling/v2 HorizontalPodAutoscaler, whole object or spec>     (hpa/hpa.h)
//   scaled_object: <keda.sh/v1alpha1 ScaledObject>                          (keda.h)
//   trigger_authentications: {NAME: {bearer_token_file, username, password_file, ca_file, ...}}
//                                       # what triggers' authenticationRef names (prometheus_auth.h)
//   predictive: {enabled, horizon, rps_per_replica, min_replicas, quantile, history_file, metric}
//   panic: {enabled, window, stable_window, threshold, metric, target}       (panic.h)
//   controller: {tolerance, cpu_initialization_period, initial_readiness_delay,
//                downscale_stabilization_window, scale_up_limit_factor, scale_up_limit_minimum}
//   admin: {listen: 127.0.0.1:9902}     # or `admin: off`
//
// Reference: docs/up.md. Decisions: docs/design/autoscaler.md.
// Thread-safety: pure functions returning values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autoscale/hpa/types.h"
#include "autoscale/panic.h"
#include "autoscale/keda.h"
#include "autoscale/pipeline_policy.h"
#include "common/clock.h"
#include "common/status.h"
#include "config/node.h"

namespace surge::autoscale {

// Everything in autoscale.yaml except `target`: the scaling policy (sync_period, hpa,
// predictive, panic, controller: PipelinePolicy in pipeline_policy.h, what the decision pipeline
// reads) plus what only the drivers need. `surge sim` reuses it.
// `hpa` is the HPA spec the controller runs: `hpa` as written; or the HPA KEDA generates for
// `scaled_object` (kedaHpaSpec); or, with both, the `hpa` (min, max, behavior, metrics) plus
// one External metric per KEDA trigger (docs/design/autoscaler.md).
struct AutoscalePolicy : PipelinePolicy {
  bool has_hpa = false;            // `hpa` was given
  bool has_scaled_object = false;  // `scaled_object` was given
  std::optional<ScaledObjectSpec> scaled_object;  // parsed (KedaScaler's input)
  config::Node scaled_object_node;                // the raw ScaledObject
  std::string admin_listen = "127.0.0.1:9902";  // "" = no admin endpoint
};

enum class TargetKind { kLocal, kKubernetes };

struct AutoscaleConfig {
  TargetKind target_kind = TargetKind::kLocal;
  config::Node target;  // the raw `target` map (parseLocalTarget reads it)
  AutoscalePolicy policy;
};

// Parses the policy keys of `root` (a map); `target` and `extra_keys` (a caller's own sections,
// e.g. `surge sim`'s) are skipped, any other unknown key is an error. At least one of `hpa` and
// `scaled_object` is required.
StatusOr<AutoscalePolicy> parseAutoscalePolicy(const config::Node& root,
                                               const std::vector<std::string_view>& extra_keys = {});
// The whole file: `target` is required.
StatusOr<AutoscaleConfig> parseAutoscaleConfig(const config::Node& root);
StatusOr<AutoscaleConfig> loadAutoscaleConfig(const std::string& path);

}  // namespace surge::autoscale
