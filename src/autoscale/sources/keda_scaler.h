// KedaScaler: the driver of one ScaledObject's triggers (KEDA's scale handler + metrics adapter
// in one). Each poll() runs every trigger's Prometheus query (one blocking GET each, bounded by
// the trigger's timeout or 1 s to connect and 2 s in all, with the trigger's auth), turns the answers into External metric values with
// keda_policy.h (activation, consecutive failures, fallback) and remembers the activity for the
// 0↔N decision (decide()). As a MetricsCollector it polls and fills
// snapshot.external_metrics["s<i>-prometheus"] = {value in milli-units}, or snapshot.failed with
// the reason (the HPA core then holds replicas).
// One poll per HPA sync: KEDA queries on each HPA metrics request and on each pollingInterval
// tick; surge's controller calls collect() (or poll()) once per sync and decide() after it, and
// polls at pollingInterval while the target is at 0 replicas. Failure counts advance per poll.
// A `surge-gateway` trigger reads the gateway's own /metrics instead of Prometheus
// (SurgeGatewayReader): its request rate since the previous poll plus the requests its activator
// holds — what activates a model scaled to zero.
// Thread-safety: one poll/collect/decide at a time (the controller's sync thread).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autoscale/metrics_collector.h"
#include "autoscale/keda.h"
#include "autoscale/sources/keda_policy.h"
#include "net/http_client.h"

namespace surge::autoscale {

struct TriggerReading {
  std::string metric;  // "s0-prometheus"
  std::string query;
  TriggerOutcome outcome;
  std::optional<double> raw_value;  // what the query returned (before milli conversion)
};

struct KedaPoll {
  std::vector<TriggerReading> triggers;
  bool any_active = false;
  bool any_error = false;
};

class KedaScaler : public MetricsCollector {
 public:
  // Runs one trigger's query: the value, or why it failed. The default queries Prometheus.
  using QueryFn = std::function<StatusOr<double>(const PrometheusTrigger&)>;

  // `created`: when the ScaledObject was loaded (initialCooldownPeriod counts from it).
  // `behavior`: advanced.horizontalPodAutoscalerConfig.behavior parsed by the HPA core, if any.
  KedaScaler(ScaledObjectSpec spec, TimePoint created,
             std::optional<Behavior> behavior = std::nullopt);
  KedaScaler(ScaledObjectSpec spec, TimePoint created, QueryFn query,
             std::optional<Behavior> behavior = std::nullopt);

  const ScaledObjectSpec& scaledObject() const { return spec_; }
  // The HPA KEDA would create (kedaHpaSpec): what runSync gets when replicas > 0.
  const HpaSpec& hpaSpec() const { return hpa_; }

  // Queries every trigger once.
  KedaPoll poll(TimePoint now);
  // poll(now), as a snapshot. External metrics of `spec` that are not this ScaledObject's
  // triggers land in snapshot.failed.
  MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                          TimePoint now) override;
  // KEDA's 0↔N step after the last poll (decideActivation).
  ActivationDecision decide(int32_t current_replicas, TimePoint now);
  // The last poll (empty before the first).
  const KedaPoll& lastPoll() const { return last_; }

 private:
  ScaledObjectSpec spec_;
  HpaSpec hpa_;
  QueryFn query_;
  std::vector<TriggerHealth> health_;
  ActivationState state_;
  KedaPoll last_;
};

// A surge-gateway trigger's value: the request rate between two readings of the gateway's
// surge_gateway_requests_total counter (0 without a previous reading, or when the time did not
// advance; a counter that went down was reset: its value is the increase) plus `held`, the
// surge_gateway_held_requests gauge. Pure.
double surgeGatewayValue(std::optional<std::pair<double, TimePoint>> previous, double total,
                         double held, TimePoint now);

// Reads surge-gateway triggers: GET <serverAddress>/metrics (bounded by the trigger's timeout,
// else 1 s to connect and 2 s in all), remembering each trigger's last counter for the rate.
class SurgeGatewayReader {
 public:
  StatusOr<double> read(const PrometheusTrigger& trigger, TimePoint now,
                        const net::ClientOptions& http = {});

 private:
  std::map<int, std::pair<double, TimePoint>> last_;  // trigger index → (requests total, time)
};

// The default QueryFn: PrometheusClient(trigger.server_address).query(trigger.query), with
// trigger.query_parameters appended, trigger.timeout as the connect and whole-request timeout
// and trigger.auth applied (credentials, CA, headers), then promValue.
StatusOr<double> queryPrometheusTrigger(const PrometheusTrigger& trigger,
                                        const net::ClientOptions& http = {});

}  // namespace surge::autoscale
