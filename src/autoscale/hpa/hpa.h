// The HPA core's public API: parse an autoscaling/v2 spec, run one sync (pure function of its
// input; docs/autoscaling.md), and Kubernetes quantities. Implemented in hpa/*.cc.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "autoscale/hpa/types.h"
#include "common/status.h"
#include "config/node.h"

namespace surge::autoscale {

// One sync of the HorizontalPodAutoscaler controller: metrics → proposals → max → stabilization →
// rate limits / clamp → desired, with the history to keep. Never fails: metric errors are
// reported per metric and in the condition.
SyncResult runSync(const SyncInput& input);

// A whole HorizontalPodAutoscaler object (apiVersion/kind/metadata/spec) or just its spec.
// Errors name the field: "hpa.yaml:7:9: spec.metrics[0].resource.target.type: unknown value ...".
StatusOr<HpaSpec> parseHpaSpec(const config::Node& node);
// Just a `behavior` map (KEDA's advanced.horizontalPodAutoscalerConfig.behavior), same rules.
StatusOr<Behavior> parseHpaBehavior(const config::Node& node);

// Kubernetes quantity → milli-units, rounding up like Quantity.MilliValue(): "500m" → 500,
// "1.5" → 1500, "1Gi" → 1073741824000, "2k" → 2000000, "1e3" → 1000000. A YAML/JSON number is
// accepted too. Errors: "malformed quantity '12x'".
StatusOr<int64_t> parseQuantityMilli(std::string_view text);
// milli-units → the shortest quantity string: 500 → "500m", 12000 → "12".
std::string formatQuantityMilli(int64_t milli);

const char* metricSourceTypeName(MetricSourceType type);  // "Resource", "Pods", ...

}  // namespace surge::autoscale
