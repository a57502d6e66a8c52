// Autoscaler: one running autoscaler assembled from an AutoscaleConfig — the target (the local
// actuator for kind: local), the metric sources (the embedded ScrapeCollector for Resource and
// Pods metrics, a KedaScaler for the ScaledObject's Prometheus triggers, behind a
// CompositeCollector), the Controller and its admin endpoint. What `surge autoscale` and
// `surge up` run; neither holds scaling logic of its own.
// Threading: create/start/stop from one thread; controller() and actuator() views are
// thread-safe as documented on those classes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "autoscale/controller/admin.h"
#include "autoscale/autoscale_config.h"
#include "autoscale/controller/controller.h"
#include "autoscale/local/local_actuator.h"
#include "autoscale/local/local_target_config.h"
#include "autoscale/metrics_collector.h"
#include "common/clock.h"
#include "common/status.h"
#include "k8s/scale_target.h"

namespace surge::autoscale {

class KedaScaler;

// Scale to zero: KEDA's 0 <-> N step after each poll, as the controller's activation hook
// (docs/design/activator.md). Keeps the scaler alive.
std::function<ActivationStep(int32_t current, TimePoint now)> kedaActivation(
    std::shared_ptr<KedaScaler> scaler);

struct AutoscalerRunOptions {
  bool dry_run = false;
  // The gateway's metrics page for the requests_per_second metric; "" = <target.gateway.admin>
  // + "/metrics".
  std::string gateway_metrics_url;
  // kind: kubernetes — a kubeconfig that wins over target.kubeconfig / in-cluster config.
  std::string kubeconfig;
};

class Autoscaler {
 public:
  // Validates the target (parseLocalTarget, or parseKubernetesTarget for kind: kubernetes) and
  // builds everything; starts nothing (no process, no API request).
  static StatusOr<std::unique_ptr<Autoscaler>> create(const AutoscaleConfig& config,
                                                      AutoscalerRunOptions options = {});
  ~Autoscaler();  // stop()

  // Starts the actuator (min replicas at once), the admin endpoint and the sync loop.
  Status start();
  // Stops the sync loop and the admin endpoint, then shuts the replicas down (drained first).
  void stop();

  Controller& controller() { return *controller_; }
  // kind: local only (null for kind: kubernetes).
  LocalActuator* localActuator() { return actuator_.get(); }
  LocalActuator& actuator() { return *actuator_; }
  uint16_t adminPort() const { return admin_ ? admin_->port() : 0; }
  const AutoscaleConfig& config() const { return config_; }

 private:
  Autoscaler() = default;

  AutoscaleConfig config_;
  AutoscalerRunOptions options_;
  std::unique_ptr<LocalActuator> actuator_;  // kind: local
  k8s::KubernetesTarget kubernetes_;          // kind: kubernetes
  std::shared_ptr<MetricsCollector> collector_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<AdminServer> admin_;
  bool started_ = false;
};

}  // namespace surge::autoscale
