#include "autoscale/sources/keda_scaler.h"

#include <set>
#include <utility>

#include "metrics/text_parser.h"

namespace surge::autoscale {

StatusOr<double> queryPrometheusTrigger(const PrometheusTrigger& trigger,
                                        const net::ClientOptions& http) {
  net::ClientOptions o = http;
  if (trigger.timeout) {
    o.connect_timeout = *trigger.timeout;
    o.timeout = *trigger.timeout;
  }
  if (Status s = applyPrometheusAuth(trigger.auth, o); !s.isOk()) {
    return Status(s.code(), "prometheus " + trigger.server_address + ": " + s.message());
  }
  // Extra parameters ride on the query string after the query itself.
  std::string suffix;
  for (const auto& [k, v] : trigger.query_parameters) {
    suffix += "&" + net::queryEscape(k) + "=" + net::queryEscape(v);
  }
  std::string url = PrometheusClient(trigger.server_address).queryUrl(trigger.query) + suffix;
  auto fetched = net::httpGet(url, o);
  if (!fetched.isOk()) {
    return Status(fetched.status().code(),
                  "prometheus " + trigger.server_address + ": " + fetched.status().message());
  }
  ASSIGN_OR_RETURN(PromResult r, parsePrometheusResponse(fetched->body, fetched->status));
  return promValue(r, trigger);
}

double surgeGatewayValue(std::optional<std::pair<double, TimePoint>> previous, double total,
                         double held, TimePoint now) {
  double rate = 0;
  if (previous && now > previous->second) {
    const double increase = total >= previous->first ? total - previous->first : total;
    rate = increase / toSeconds(now - previous->second);
  }
  return rate + held;
}

StatusOr<double> SurgeGatewayReader::read(const PrometheusTrigger& t, TimePoint now,
                                          const net::ClientOptions& http) {
  net::ClientOptions o = http;
  o.connect_timeout = t.timeout.value_or(std::chrono::seconds(1));
  o.timeout = t.timeout.value_or(std::chrono::seconds(2));
  auto fetched = net::httpGet(t.server_address + "/metrics", o);
  if (!fetched.isOk()) {
    return Status(fetched.status().code(),
                  "surge gateway " + t.server_address + ": " + fetched.status().message());
  }
  if (fetched->status != 200) {
    return unavailable("surge gateway " + t.server_address + "/metrics: HTTP " +
                       std::to_string(fetched->status));
  }
  auto page = metrics::parseText(fetched->body);
  if (!page.isOk()) {
    return unavailable("surge gateway " + t.server_address + "/metrics: " +
                       page.status().message());
  }
  const double total = page->sum("surge_gateway_requests_total");
  const double held = page->sum("surge_gateway_held_requests");  // 0 with the activator off
  std::optional<std::pair<double, TimePoint>> previous;
  if (auto it = last_.find(t.index); it != last_.end()) previous = it->second;
  last_[t.index] = {total, now};
  return surgeGatewayValue(previous, total, held, now);
}

KedaScaler::KedaScaler(ScaledObjectSpec spec, TimePoint created, std::optional<Behavior> behavior)
    : KedaScaler(
          std::move(spec), created,
          [gateway = std::make_shared<SurgeGatewayReader>()](const PrometheusTrigger& t) {
            if (t.type == "surge-gateway") {
              return gateway->read(t, SteadyClock::instance().now());
            }
            return queryPrometheusTrigger(t);
          },
          std::move(behavior)) {}

KedaScaler::KedaScaler(ScaledObjectSpec spec, TimePoint created, QueryFn query,
                       std::optional<Behavior> behavior)
    : spec_(std::move(spec)),
      hpa_(kedaHpaSpec(spec_, std::move(behavior))),
      query_(std::move(query)),
      health_(spec_.triggers.size()) {
  state_.created = created;
}

KedaPoll KedaScaler::poll(TimePoint now) {
  (void)now;
  KedaPoll p;
  for (size_t i = 0; i < spec_.triggers.size(); ++i) {
    const PrometheusTrigger& t = spec_.triggers[i];
    StatusOr<double> v = query_(t);
    TriggerReading r;
    r.metric = t.externalMetricName();
    r.query = t.query;
    if (v.isOk()) r.raw_value = *v;
    r.outcome = evaluateTrigger(v, t, spec_.fallback, health_[i]);
    p.any_active = p.any_active || r.outcome.active;
    p.any_error = p.any_error || r.outcome.error;
    p.triggers.push_back(std::move(r));
  }
  last_ = p;
  return p;
}

MetricsSnapshot KedaScaler::collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                                    TimePoint now) {
  (void)pods;
  MetricsSnapshot out;
  KedaPoll p = poll(now);
  std::set<std::string> ours;
  for (const auto& r : p.triggers) {
    ours.insert(r.metric);
    if (r.outcome.value_milli) {
      out.external_metrics[r.metric] = {*r.outcome.value_milli};
    } else {
      out.failed[r.metric] = r.outcome.reason;
    }
  }
  for (const auto& m : spec.metrics) {
    if (m.type == MetricSourceType::kExternal && ours.count(m.name) == 0) {
      out.failed[m.name] = "External metric '" + m.name + "' is not a trigger of ScaledObject '" +
                           spec_.name + "' (its metrics are s<index>-prometheus)";
    }
  }
  return out;
}

ActivationDecision KedaScaler::decide(int32_t current_replicas, TimePoint now) {
  ActivationInput in;
  in.any_active = last_.any_active;
  in.any_error = last_.any_error;
  in.current_replicas = current_replicas;
  in.now = now;
  return decideActivation(spec_, in, state_);
}

}  // namespace surge::autoscale
