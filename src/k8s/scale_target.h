// KubernetesScaleTarget: the autoscaler's ScaleTarget for a Deployment through the API server —
// GET/PUT apis/apps/v1/namespaces/{ns}/deployments/{name}/scale (optimistic concurrency on
// metadata.resourceVersion, retried on 409 Conflict) and the pods matching status.selector
// (GET api/v1/namespaces/{ns}/pods?labelSelector=...). KubernetesResourceMetrics: the Resource
// cpu/memory metrics from metrics.k8s.io/v1beta1 (what the HPA's resource metrics client reads).
// Errors are Status values naming the reason (unreachable, unauthorized, forbidden, not found);
// the controller then skips the sync, so nothing is scaled on partial data.
// Times: the API's RFC 3339 wall-clock times are mapped onto the controller's Clock as
// clock.now() - (wall_now - t), so the HPA core's differences (pod age, readiness) hold.
// Complexity: getScale/setScale O(1) requests (setScale ≤ 1 + 2·max_conflict_retries), listPods
// one list request, O(pods) mapping.
// Thread-safety: a target is used by one controller thread; KubernetesResourceMetrics reads the
// target's last selector under a mutex.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autoscale/scale_target.h"
#include "autoscale/metrics_collector.h"
#include "common/clock.h"
#include "k8s/api_client.h"

namespace surge::config {
class Node;
}

namespace surge::k8s {

struct KubernetesTargetOptions {
  std::string ns;          // namespace
  std::string deployment;  // Deployment name
  int port = 8000;         // the pods' serving port: PodInfo.address = podIP:port
  int max_conflict_retries = 3;
  // Wall clock (ns since the Unix epoch) for mapping API times; system_clock when null.
  std::function<int64_t()> wall_now_ns;
};

class KubernetesScaleTarget : public autoscale::ScaleTarget {
 public:
  KubernetesScaleTarget(std::shared_ptr<ApiClient> api, KubernetesTargetOptions options,
                        Clock& clock);

  StatusOr<autoscale::ScaleState> getScale() override;
  Status setScale(int32_t replicas) override;
  StatusOr<std::vector<autoscale::PodInfo>> listPods() override;

  // status.selector of the last successful getScale ("" before one).
  std::string selector() const;
  std::string scalePath() const;
  const KubernetesTargetOptions& options() const { return options_; }

 private:
  StatusOr<nlohmann::json> readScale();

  std::shared_ptr<ApiClient> api_;
  KubernetesTargetOptions options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  std::string selector_;  // guarded by mutex_
};

// Maps one Pod object (core/v1) to the HPA's PodInfo. `to_time` maps RFC 3339 text to the
// controller's time base. Pure; exposed for tests.
StatusOr<autoscale::PodInfo> podInfoFromJson(
    const nlohmann::json& pod, int port,
    const std::function<StatusOr<TimePoint>(const std::string&)>& to_time);

// Resource metrics (cpu, memory) of the target's pods from metrics.k8s.io/v1beta1 PodMetrics:
// usage summed over containers, timestamp and window as given. Every other metric of the spec is
// delegated to `others` (may be null) and the snapshots merged. A failed fetch lands in
// snapshot.failed for each Resource metric of the spec.
class KubernetesResourceMetrics : public autoscale::MetricsCollector {
 public:
  KubernetesResourceMetrics(std::shared_ptr<ApiClient> api, std::string ns,
                            std::function<std::string()> selector, Clock& clock,
                            std::shared_ptr<autoscale::MetricsCollector> others = nullptr,
                            std::function<int64_t()> wall_now_ns = nullptr);
  autoscale::MetricsSnapshot collect(const autoscale::HpaSpec& spec,
                                     const std::vector<autoscale::PodInfo>& pods,
                                     TimePoint now) override;

 private:
  std::shared_ptr<ApiClient> api_;
  std::string ns_;
  std::function<std::string()> selector_;
  Clock& clock_;
  std::shared_ptr<autoscale::MetricsCollector> others_;
  std::function<int64_t()> wall_now_ns_;
};

// target: {kind: kubernetes, namespace, deployment, port?, kubeconfig?, in_cluster?: auto|true|
// false}. Errors name file:line:col and the field.
struct KubernetesTargetSpec {
  std::string ns;
  std::string deployment;
  int port = 8000;
  std::string kubeconfig;
  std::string in_cluster = "auto";
};
StatusOr<KubernetesTargetSpec> parseKubernetesTarget(const config::Node& target);

// Everything `surge autoscale` needs for target.kind: kubernetes.
struct KubernetesTarget {
  std::shared_ptr<ApiClient> api;
  std::unique_ptr<KubernetesScaleTarget> target;
  // Resource metrics from metrics.k8s.io, the rest delegated to `other_metrics`.
  std::shared_ptr<KubernetesResourceMetrics> metrics;
};
// Resolves the API config (kubeconfig_override, e.g. a --kubeconfig flag, wins over the spec's
// kubeconfig; then in_cluster auto/true/false) and builds the target and its metrics source.
// Fails (FailedPrecondition) when no API config can be loaded; it does not contact the server.
StatusOr<KubernetesTarget> makeKubernetesTarget(
    const KubernetesTargetSpec& spec, Clock& clock,
    std::shared_ptr<autoscale::MetricsCollector> other_metrics = nullptr,
    const std::string& kubeconfig_override = "");

}  // namespace surge::k8s
