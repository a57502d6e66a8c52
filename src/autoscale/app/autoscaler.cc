#include "autoscale/app/autoscaler.h"

#include "autoscale/app/dashboard_replicas.h"
#include "autoscale/sources/composite_collector.h"
#include "net/url.h"
#include "autoscale/sources/keda_scaler.h"
#include "autoscale/sources/scrape_collector.h"
#include "common/logging.h"

namespace surge::autoscale {

std::function<ActivationStep(int32_t current, TimePoint now)> kedaActivation(
    std::shared_ptr<KedaScaler> scaler) {
  return [scaler = std::move(scaler)](int32_t current, TimePoint now) {
    ActivationDecision d = scaler->decide(current, now);
    return ActivationStep{d.scale_to, d.reason, d.message};
  };
}

StatusOr<std::unique_ptr<Autoscaler>> Autoscaler::create(const AutoscaleConfig& config,
                                                         AutoscalerRunOptions options) {
  std::unique_ptr<Autoscaler> a(new Autoscaler());
  a->config_ = config;
  a->options_ = options;
  std::shared_ptr<MetricsCollector> keda;
  AutoscalerOptions copts;
  copts.dry_run = options.dry_run;
  if (config.policy.scaled_object) {
    auto scaler = std::make_shared<KedaScaler>(
        *config.policy.scaled_object, SteadyClock::instance().now(), config.policy.hpa.behavior);
    keda = scaler;
    if (config.policy.scaled_object->min_replica_count == 0) {
      copts.activation = kedaActivation(scaler);
    }
  }
  if (!options.gateway_metrics_url.empty()) {
    // Validated and normalised once (a scheme-less "127.0.0.1:9901/metrics" means http).
    auto u = net::parseUrl(options.gateway_metrics_url, "http");
    if (!u.isOk()) return invalidArgument("--gateway-metrics-url: " + u.status().message());
    options.gateway_metrics_url = u->str();
  }

  if (config.target_kind == TargetKind::kKubernetes) {
    // Resource metrics from metrics.k8s.io; Pods metrics scraped from the pods' /metrics (the
    // gateway's per-backend rate when --gateway-metrics-url is given); External from KEDA.
    ASSIGN_OR_RETURN(k8s::KubernetesTargetSpec spec, k8s::parseKubernetesTarget(config.target));
    ScrapeCollectorOptions scrape;
    scrape.gateway_metrics_url = options.gateway_metrics_url;
    auto others = std::make_shared<CompositeCollector>(std::make_shared<ScrapeCollector>(scrape),
                                                       keda);
    ASSIGN_OR_RETURN(a->kubernetes_, k8s::makeKubernetesTarget(spec, SteadyClock::instance(),
                                                               others, options.kubeconfig));
    a->collector_ = a->kubernetes_.metrics;
    a->controller_ = std::make_unique<Controller>(config.policy, *a->kubernetes_.target,
                                                  *a->collector_, SteadyClock::instance(), copts);
  } else {
    ASSIGN_OR_RETURN(LocalTargetConfig local, parseLocalTarget(config.target));
    ScrapeCollectorOptions scrape;
    scrape.gateway_metrics_url = options.gateway_metrics_url.empty()
                                     ? local.gateway_admin + "/metrics"
                                     : options.gateway_metrics_url;
    auto pods_source = std::make_shared<ScrapeCollector>(scrape);
    a->collector_ = std::make_shared<CompositeCollector>(pods_source, keda);
    ASSIGN_OR_RETURN(a->actuator_, LocalActuator::create(std::move(local)));
    a->controller_ = std::make_unique<Controller>(config.policy, *a->actuator_, *a->collector_,
                                                  SteadyClock::instance(), copts);
  }
  if (!config.policy.admin_listen.empty()) {
    a->admin_ = std::make_unique<AdminServer>(*a->controller_);
    if (a->actuator_) {  // the dashboard's replicas (docs/design/dashboard.md)
      a->admin_->setReplicaSource(localReplicaSource(*a->actuator_), kLocalReplicaNote);
    }
  }
  return a;
}

Autoscaler::~Autoscaler() { stop(); }

Status Autoscaler::start() {
  RETURN_IF_ERROR(controller_->init());  // a malformed history file fails before any replica
  if (admin_) RETURN_IF_ERROR(admin_->start(config_.policy.admin_listen));
  if (actuator_) RETURN_IF_ERROR(actuator_->start());
  started_ = true;
  return controller_->start();
}

void Autoscaler::stop() {
  if (controller_) controller_->stop();
  if (admin_) admin_->stop();
  if (actuator_ && started_) {
    SURGE_LOG(kInfo, "autoscale", "stopping the replicas (drain, SIGTERM, SIGKILL after grace)");
    actuator_->shutdown();
  }
  started_ = false;
}

}  // namespace surge::autoscale
