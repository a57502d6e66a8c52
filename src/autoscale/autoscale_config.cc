#include "autoscale/autoscale_config.h"

#include <cstdlib>
#include <string_view>

#include "autoscale/hpa/hpa.h"
#include "autoscale/keda.h"

namespace surge::autoscale {
namespace {

constexpr Duration kOneDay = std::chrono::hours(24);

Status checkListen(const config::Node& n, const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return n.error("expected HOST:PORT (or 'off'), found '" + address + "'");
  }
  const std::string port = address.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    return n.error("port must be 0..65535, found '" + port + "'");
  }
  return Status::ok();
}

void parsePredictive(const config::Node& n, PredictiveConfig* p, config::ErrorList* errors) {
  if (n.isNull()) return;
  if (!errors->add(n.checkKeys({"enabled", "horizon", "rps_per_replica", "min_replicas",
                                "quantile", "history_file", "metric"}))) {
    return;
  }
  p->enabled = errors->take(n.getBool("enabled", p->enabled), p->enabled);
  p->horizon = errors->take(
      n.getDurationInRange("horizon", p->horizon, Duration(0), 7 * kOneDay), p->horizon);
  p->rps_per_replica = errors->take(
      n.getDoubleInRange("rps_per_replica", p->rps_per_replica, 1e-6, 1e12), p->rps_per_replica);
  p->min_replicas = static_cast<int32_t>(
      errors->take(n.getIntInRange("min_replicas", p->min_replicas, 0, 100000),
                   static_cast<int64_t>(p->min_replicas)));
  p->quantile =
      errors->take(n.getDoubleInRange("quantile", p->quantile, 0.01, 0.99), p->quantile);
  p->history_file = errors->take(n.getString("history_file", p->history_file), p->history_file);
  if (p->history_file.empty()) errors->add(n["history_file"].error("must not be empty"));
  p->metric = errors->take(n.getString("metric", p->metric), p->metric);
  if (p->metric.empty()) errors->add(n["metric"].error("must not be empty"));
}

void parsePanic(const config::Node& n, PanicConfig* p, config::ErrorList* errors) {
  if (n.isNull()) return;
  if (!errors->add(n.checkKeys({"enabled", "window", "stable_window", "threshold", "metric",
                                "target"}))) {
    return;
  }
  p->enabled = errors->take(n.getBool("enabled", p->enabled), p->enabled);
  p->window = errors->take(
      n.getDurationInRange("window", p->window, std::chrono::milliseconds(1), kOneDay), p->window);
  p->stable_window = errors->take(
      n.getDurationInRange("stable_window", p->stable_window, Duration(0), kOneDay),
      p->stable_window);
  p->threshold =
      errors->take(n.getDoubleInRange("threshold", p->threshold, 1.0, 1000.0), p->threshold);
  if (p->stable_window < p->window && n.has("stable_window")) {
    errors->add(n["stable_window"].error("must be >= panic.window"));
  }
  p->metric = errors->take(n.getString("metric", p->metric), p->metric);
  if (n.has("metric") && p->metric.empty()) errors->add(n["metric"].error("must not be empty"));
  p->target = errors->take(n.getDoubleInRange("target", p->target, 1e-9, 1e12), p->target);
  if (n.has("target") && !n["target"].isNull() && !n.has("metric")) {
    errors->add(n["target"].error("needs panic.metric (the metric whose value per replica this "
                                  "is)"));
  }
}

// panic.metric without panic.target: the HPA spec's AverageValue target of the same metric (a
// Pods or External metric), else an error naming panic.metric.
void defaultPanicTarget(const config::Node& n, const HpaSpec& hpa, PanicConfig* p,
                        config::ErrorList* errors) {
  if (p->metric.empty() || p->target > 0) return;
  for (const MetricSpec& m : hpa.metrics) {
    if (m.name == p->metric && m.target.type == MetricTargetType::kAverageValue &&
        m.target.average_value_milli > 0) {
      p->target = static_cast<double>(m.target.average_value_milli) / 1000.0;
      return;
    }
  }
  errors->add(n["metric"].error("needs panic.target (the value of '" + p->metric +
                                "' one replica carries at its target): the HPA spec has no "
                                "AverageValue target for it"));
}

void parseController(const config::Node& n, ControllerOptions* c, config::ErrorList* errors) {
  if (n.isNull()) return;
  if (!errors->add(n.checkKeys({"tolerance", "cpu_initialization_period", "initial_readiness_delay",
                                "downscale_stabilization_window", "scale_up_limit_factor",
                                "scale_up_limit_minimum"}))) {
    return;
  }
  c->tolerance = errors->take(n.getDoubleInRange("tolerance", c->tolerance, 0, 1), c->tolerance);
  c->cpu_initialization_period = errors->take(
      n.getDurationInRange("cpu_initialization_period", c->cpu_initialization_period, Duration(0),
                           kOneDay),
      c->cpu_initialization_period);
  c->initial_readiness_delay = errors->take(
      n.getDurationInRange("initial_readiness_delay", c->initial_readiness_delay, Duration(0),
                           kOneDay),
      c->initial_readiness_delay);
  c->downscale_stabilization_window = errors->take(
      n.getDurationInRange("downscale_stabilization_window", c->downscale_stabilization_window,
                           Duration(0), kOneDay),
      c->downscale_stabilization_window);
  c->scale_up_limit_factor = errors->take(
      n.getDoubleInRange("scale_up_limit_factor", c->scale_up_limit_factor, 1.0, 1000.0),
      c->scale_up_limit_factor);
  c->scale_up_limit_minimum = static_cast<int32_t>(
      errors->take(n.getIntInRange("scale_up_limit_minimum", c->scale_up_limit_minimum, 1, 100000),
                   static_cast<int64_t>(c->scale_up_limit_minimum)));
}

void parseAdmin(const config::Node& n, std::string* listen, config::ErrorList* errors) {
  if (n.isNull()) return;
  if (n.isScalar()) {  // `admin: off`
    auto v = n.asString();
    if (!errors->add(v.status())) return;
    if (*v == "off" || *v == "none") {
      listen->clear();
      return;
    }
    errors->add(n.error("expected a map {listen: HOST:PORT} or 'off', found '" + *v + "'"));
    return;
  }
  if (!errors->add(n.checkKeys({"listen"}))) return;
  std::string v = errors->take(n.getString("listen", *listen), *listen);
  if (v == "off" || v == "none") {
    listen->clear();
    return;
  }
  if (errors->add(checkListen(n["listen"], v))) *listen = v;
}

constexpr std::string_view kPolicyKeys[] = {"sync_period", "hpa",   "scaled_object", "predictive",
                                            "panic",       "controller", "admin",
                                            "trigger_authentications"};

StatusOr<AutoscalePolicy> parsePolicyImpl(const config::Node& root,
                                          const std::vector<std::string_view>& extra_keys) {
  if (!root.isMap()) return root.error("expected a map (autoscale.yaml), found something else");
  std::vector<std::string_view> keys(std::begin(kPolicyKeys), std::end(kPolicyKeys));
  keys.push_back("target");
  keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
  RETURN_IF_ERROR(root.checkKeysIn(keys));

  config::ErrorList errors;
  AutoscalePolicy p;
  p.sync_period = errors.take(root.getDurationInRange("sync_period", p.sync_period,
                                                      std::chrono::milliseconds(100), kOneDay),
                              p.sync_period);
  if (!root["hpa"].isNull()) {
    auto hpa = parseHpaSpec(root["hpa"]);
    if (errors.add(hpa.status())) {
      p.hpa = std::move(hpa).value();
      p.has_hpa = true;
    }
  }
  // Credentials for the Prometheus servers of KEDA triggers (authenticationRef targets).
  auto auths = parseTriggerAuthentications(root["trigger_authentications"]);
  errors.add(auths.status());
  if (!root["scaled_object"].isNull() && auths.isOk()) {
    const config::Node so_node = root["scaled_object"];
    auto so = parseScaledObject(so_node, &*auths);
    if (errors.add(so.status())) {
      // advanced.horizontalPodAutoscalerConfig.behavior, parsed by the HPA core's rules.
      std::optional<Behavior> keda_behavior;
      if (!so->behavior.isMissing() && !so->behavior.isNull()) {
        auto b = parseHpaBehavior(so->behavior);
        if (errors.add(b.status())) keda_behavior = *b;
      }
      p.scaled_object = std::move(so).value();
      p.scaled_object_node = so_node;
      p.has_scaled_object = true;
      if (p.has_hpa) {
        // Both: the HPA's bounds, behavior and metrics, plus one External metric per trigger.
        if (keda_behavior && p.hpa.behavior) {
          errors.add(so_node.error(
              "advanced.horizontalPodAutoscalerConfig.behavior and hpa.spec.behavior both set: "
              "keep one"));
        } else if (keda_behavior) {
          p.hpa.behavior = keda_behavior;
        }
        HpaSpec keda = kedaHpaSpec(*p.scaled_object, p.hpa.behavior);
        for (auto& m : keda.metrics) p.hpa.metrics.push_back(std::move(m));
      } else if (errors.empty()) {
        p.hpa = kedaHpaSpec(*p.scaled_object, keda_behavior);
      }
    }
  }
  if (root["hpa"].isNull() && root["scaled_object"].isNull()) {
    errors.add(root.error("missing required field 'hpa' (or 'scaled_object'): what to scale on"));
  }
  parsePredictive(root["predictive"], &p.predictive, &errors);
  parsePanic(root["panic"], &p.panic, &errors);
  if (p.has_hpa || p.has_scaled_object) {
    defaultPanicTarget(root["panic"], p.hpa, &p.panic, &errors);
  }
  parseController(root["controller"], &p.controller, &errors);
  parseAdmin(root["admin"], &p.admin_listen, &errors);
  if (p.has_hpa && p.predictive.enabled && p.predictive.min_replicas > p.hpa.max_replicas &&
      p.hpa.max_replicas > 0) {
    errors.add(root["predictive"]["min_replicas"].error(
        "must be <= the HPA's maxReplicas (" + std::to_string(p.hpa.max_replicas) + ")"));
  }
  if (!errors.empty()) return errors.toStatus();
  return p;
}

}  // namespace

StatusOr<AutoscalePolicy> parseAutoscalePolicy(const config::Node& root,
                                               const std::vector<std::string_view>& extra_keys) {
  return parsePolicyImpl(root, extra_keys);
}

StatusOr<AutoscaleConfig> parseAutoscaleConfig(const config::Node& root) {
  config::ErrorList errors;
  AutoscaleConfig c;
  if (root.isMap()) {
    const config::Node t = root["target"];
    if (t.isNull()) {
      errors.add(root.error("missing required field 'target' (e.g. target: {kind: local, ...})"));
    } else if (!t.isMap()) {
      errors.add(t.error("expected a map {kind: local, ...}"));
    } else {
      auto kind = t["kind"].asOneOf({"local", "kubernetes"});
      if (errors.add(kind.status())) {
        c.target_kind = *kind == "local" ? TargetKind::kLocal : TargetKind::kKubernetes;
        c.target = t;
      }
    }
  }
  auto policy = parsePolicyImpl(root, {});
  if (!policy.isOk()) {
    errors.add(policy.status());
  } else {
    c.policy = std::move(policy).value();
  }
  if (!errors.empty()) return errors.toStatus();
  return c;
}

StatusOr<AutoscaleConfig> loadAutoscaleConfig(const std::string& path) {
  ASSIGN_OR_RETURN(config::Node root, config::Node::loadFile(path));
  return parseAutoscaleConfig(root);
}

}  // namespace surge::autoscale
