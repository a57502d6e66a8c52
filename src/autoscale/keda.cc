#include "autoscale/keda.h"

#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include "autoscale/counter_rate.h"
#include "net/url.h"

namespace surge::autoscale {
namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();

// KEDA trigger types surge knows by name but does not implement (a clear "not supported" rather
// than a did-you-mean towards prometheus).
constexpr std::string_view kOtherKedaTriggers[] = {"cpu",
                                                   "memory",
                                                   "kafka",
                                                   "rabbitmq",
                                                   "redis",
                                                   "redis-streams",
                                                   "cron",
                                                   "aws-sqs-queue",
                                                   "azure-queue",
                                                   "azure-servicebus",
                                                   "gcp-pubsub",
                                                   "postgresql",
                                                   "mysql",
                                                   "mongodb",
                                                   "nats-jetstream",
                                                   "metrics-api",
                                                   "external",
                                                   "external-push",
                                                   "kubernetes-workload",
                                                   "elasticsearch",
                                                   "datadog",
                                                   "new-relic",
                                                   "graphite",
                                                   "influxdb",
                                                   "loki",
                                                   "stan",
                                                   "activemq",
                                                   "artemis-queue",
                                                   "selenium-grid"};

Status unsupported(const config::Node& n, std::string_view what) {
  return n.error(std::string(what) + " is not supported by surge");
}

StatusOr<int32_t> int32In(const config::Node& parent, std::string_view key, int32_t def,
                          int64_t lo) {
  ASSIGN_OR_RETURN(int64_t v, parent.getIntInRange(key, def, lo, kMaxInt32));
  return static_cast<int32_t>(v);
}

// KEDA's metadata values are strings; numbers may be quoted ("50") or not.
StatusOr<double> finiteDouble(const config::Node& n) {
  ASSIGN_OR_RETURN(double v, n.asDouble());
  if (!std::isfinite(v)) return n.error("expected a finite number");
  return v;
}

// queryParameters: "key1=value1,key2=value2" (KEDA's format).
StatusOr<std::map<std::string, std::string>> parseQueryParameters(const config::Node& n) {
  ASSIGN_OR_RETURN(auto pairs, parseCommaPairs(n, "key"));
  std::map<std::string, std::string> out;
  for (auto& [key, value] : pairs) out[key] = std::move(value);  // the last one wins
  return out;
}

// surge-gateway: {serverAddress (the gateway admin URL), threshold, activationThreshold, timeout}.
StatusOr<PrometheusTrigger> parseSurgeGatewayMetadata(const config::Node& md, int index) {
  PrometheusTrigger t;
  t.type = "surge-gateway";
  t.index = index;
  if (md.isNull()) return md.error("missing required field");
  if (!md.isMap()) return md.error("expected a map of trigger metadata");
  RETURN_IF_ERROR(md.checkKeys({"serverAddress", "threshold", "activationThreshold", "timeout"}));
  RETURN_IF_ERROR(md.require("serverAddress"));
  ASSIGN_OR_RETURN(t.server_address, md["serverAddress"].asString());
  auto u = net::parseUrl(t.server_address, "http");
  if (!u.isOk()) return md["serverAddress"].error(u.status().message());
  t.server_address = u->origin() + (u->target == "/" ? "" : u->target);
  t.query = "rate(surge_gateway_requests_total) + surge_gateway_held_requests";  // for messages
  RETURN_IF_ERROR(md.require("threshold"));
  ASSIGN_OR_RETURN(t.threshold, finiteDouble(md["threshold"]));
  if (t.threshold <= 0) {
    return md["threshold"].error(
        "must be greater than 0 (requests per second per replica: replicas = ceil(value / "
        "threshold))");
  }
  if (!md["activationThreshold"].isNull()) {
    ASSIGN_OR_RETURN(t.activation_threshold, finiteDouble(md["activationThreshold"]));
    if (t.activation_threshold < 0) return md["activationThreshold"].error("must be >= 0");
  }
  if (!md["timeout"].isNull()) {  // milliseconds, as KEDA's
    ASSIGN_OR_RETURN(int64_t ms, md["timeout"].asIntInRange(1, 600000));
    t.timeout = std::chrono::milliseconds(ms);
  }
  return t;
}

StatusOr<PrometheusTrigger> parsePrometheusMetadata(const config::Node& md, int index) {
  PrometheusTrigger t;
  t.index = index;
  if (md.isNull()) return md.error("missing required field");
  if (!md.isMap()) return md.error("expected a map of trigger metadata");
  RETURN_IF_ERROR(
      md.checkKeys({"serverAddress", "query", "threshold", "activationThreshold", "metricName",
                    "ignoreNullValues", "queryParameters", "namespace", "timeout", "customHeaders",
                    "unsafeSsl", "authModes", "awsRegion", "identityOwner", "cortexOrgID"}));
  for (std::string_view k : {"awsRegion", "identityOwner", "cortexOrgID"}) {
    if (md.has(k)) return unsupported(md[k], "'" + std::string(k) + "'");
  }
  RETURN_IF_ERROR(md.require("serverAddress"));
  ASSIGN_OR_RETURN(t.server_address, md["serverAddress"].asString());
  {
    // Normalised once here, so every query uses the same URL: a scheme-less address
    // ("prometheus:9090") means http, and a bare "/" path is dropped.
    auto u = net::parseUrl(t.server_address, "http");
    if (!u.isOk()) return md["serverAddress"].error(u.status().message());
    t.server_address = u->origin() + (u->target == "/" ? "" : u->target);
  }
  if (!md["authModes"].isNull()) {
    ASSIGN_OR_RETURN(std::string modes, md["authModes"].asString());
    size_t pos = 0;
    while (pos <= modes.size()) {
      size_t comma = modes.find(',', pos);
      std::string m = modes.substr(pos, comma == std::string::npos ? std::string::npos
                                                                   : comma - pos);
      pos = comma == std::string::npos ? modes.size() + 1 : comma + 1;
      while (!m.empty() && m.front() == ' ') m.erase(m.begin());
      while (!m.empty() && m.back() == ' ') m.pop_back();
      if (m.empty()) continue;
      if (m != "bearer" && m != "basic" && m != "tls" && m != "custom") {
        return md["authModes"].error("unknown auth mode '" + m +
                                     "' (supported: bearer, basic, tls, custom)");
      }
      t.auth_modes.push_back(m);
    }
    if (t.auth_modes.empty()) return md["authModes"].error("must not be empty");
  }
  if (!md["unsafeSsl"].isNull()) {
    ASSIGN_OR_RETURN(t.auth.insecure_skip_verify, md["unsafeSsl"].asBool());
  }
  if (!md["customHeaders"].isNull()) {
    ASSIGN_OR_RETURN(t.auth.headers, parseCustomHeaders(md["customHeaders"]));
  }
  RETURN_IF_ERROR(md.require("query"));
  ASSIGN_OR_RETURN(t.query, md["query"].asString());
  if (t.query.empty()) return md["query"].error("must not be empty");
  RETURN_IF_ERROR(md.require("threshold"));
  ASSIGN_OR_RETURN(t.threshold, finiteDouble(md["threshold"]));
  if (t.threshold <= 0) {
    return md["threshold"].error("must be greater than 0 (replicas = ceil(value / threshold))");
  }
  if (!md["activationThreshold"].isNull()) {
    ASSIGN_OR_RETURN(t.activation_threshold, finiteDouble(md["activationThreshold"]));
  }
  ASSIGN_OR_RETURN(t.metric_name, md.getString("metricName", ""));
  ASSIGN_OR_RETURN(t.ignore_null_values, md.getBool("ignoreNullValues", true));
  if (!md["queryParameters"].isNull()) {
    ASSIGN_OR_RETURN(t.query_parameters, parseQueryParameters(md["queryParameters"]));
  }
  if (!md["namespace"].isNull()) {
    ASSIGN_OR_RETURN(std::string ns, md["namespace"].asString());
    if (!ns.empty()) t.query_parameters["namespace"] = ns;
  }
  if (!md["timeout"].isNull()) {  // KEDA: an integer count of milliseconds
    ASSIGN_OR_RETURN(int64_t ms, md["timeout"].asIntInRange(1, 600000));
    t.timeout = std::chrono::milliseconds(ms);
  }
  return t;
}

bool hasMode(const PrometheusTrigger& t, std::string_view mode) {
  for (const auto& m : t.auth_modes) {
    if (m == mode) return true;
  }
  return false;
}

// authenticationRef → the named block, merged with the metadata's unsafeSsl/customHeaders;
// authModes checked against the credentials the block gives.
Status resolveAuth(const config::Node& n, const TriggerAuthentications* auths,
                   PrometheusTrigger& t) {
  const config::Node md = n["metadata"];
  const config::Node ref = n["authenticationRef"];
  if (ref.isNull()) {
    if (!t.auth_modes.empty()) {
      return md["authModes"].error(
          "needs authenticationRef (the trigger_authentications block with the credentials)");
    }
    return Status::ok();
  }
  if (!ref.isMap()) return ref.error("expected a map {name: ...}");
  RETURN_IF_ERROR(ref.checkKeys({"name", "kind"}));
  RETURN_IF_ERROR(ref.require("name"));
  ASSIGN_OR_RETURN(t.auth_ref, ref["name"].asString());
  ASSIGN_OR_RETURN(std::string kind,
                   ref.getOneOf("kind", "TriggerAuthentication",
                                {"TriggerAuthentication", "ClusterTriggerAuthentication"}));
  (void)kind;  // both are looked up in trigger_authentications
  auto found = auths ? auths->find(t.auth_ref) : TriggerAuthentications::const_iterator();
  if (!auths || found == auths->end()) {
    return ref["name"].error("no trigger_authentications entry named '" + t.auth_ref +
                             "' (define it under trigger_authentications: in autoscale.yaml)");
  }
  PrometheusAuth a = found->second;
  a.insecure_skip_verify = a.insecure_skip_verify || t.auth.insecure_skip_verify;
  for (const auto& h : t.auth.headers) a.headers.push_back(h);
  t.auth = std::move(a);
  struct Mode {
    const char* name;
    bool given;
    const char* needs;
  };
  const Mode modes[] = {
      {"bearer", t.auth.hasBearer(), "bearer_token or bearer_token_file"},
      {"basic", t.auth.hasBasic(), "username (and password or password_file)"},
      {"tls", t.auth.hasTls(), "cert_file and key_file"},
      {"custom", t.auth.hasCustom(), "custom_auth_header and its value"},
  };
  if (t.auth_modes.empty()) {  // implied by what the block gives
    for (const Mode& m : modes) {
      if (m.given) t.auth_modes.push_back(m.name);
    }
    return Status::ok();
  }
  for (const Mode& m : modes) {
    if (hasMode(t, m.name) && !m.given) {
      return md["authModes"].error(std::string("'") + m.name + "' needs " + m.needs +
                                   " in trigger_authentications." + t.auth_ref);
    }
  }
  for (const Mode& m : modes) {
    if (!hasMode(t, m.name) && m.given) {
      return md["authModes"].error("trigger_authentications." + t.auth_ref + " gives " +
                                   m.needs + " but authModes does not include '" + m.name + "'");
    }
  }
  return Status::ok();
}

StatusOr<PrometheusTrigger> parseTrigger(const config::Node& n, int index,
                                         const TriggerAuthentications* auths) {
  if (!n.isMap()) return n.error("expected a map (a trigger)");
  RETURN_IF_ERROR(n.checkKeys(
      {"type", "name", "metadata", "metricType", "authenticationRef", "useCachedMetrics"}));
  RETURN_IF_ERROR(n.require("type"));
  ASSIGN_OR_RETURN(std::string type, n["type"].asString());
  if (type != "prometheus" && type != "surge-gateway") {
    for (std::string_view other : kOtherKedaTriggers) {
      if (type == other) {
        return n["type"].error("trigger type '" + type +
                               "' is not supported by surge (supported: prometheus, "
                               "surge-gateway)");
      }
    }
    ASSIGN_OR_RETURN(type, n["type"].asOneOf({"prometheus", "surge-gateway"}));
  }
  PrometheusTrigger t;
  if (type == "surge-gateway") {
    if (n.has("authenticationRef")) {
      return unsupported(n["authenticationRef"], "authenticationRef on a surge-gateway trigger");
    }
    ASSIGN_OR_RETURN(t, parseSurgeGatewayMetadata(n["metadata"], index));
  } else {
    ASSIGN_OR_RETURN(t, parsePrometheusMetadata(n["metadata"], index));
    RETURN_IF_ERROR(resolveAuth(n, auths, t));
  }
  ASSIGN_OR_RETURN(t.name, n.getString("name", ""));
  ASSIGN_OR_RETURN(std::string mt, n.getOneOf("metricType", "AverageValue",
                                              {"AverageValue", "Value", "Utilization"}));
  if (mt == "Utilization") {
    return n["metricType"].error(
        "'Utilization' is only valid for cpu/memory triggers (use AverageValue or Value)");
  }
  t.metric_type = mt == "Value" ? MetricTargetType::kValue : MetricTargetType::kAverageValue;
  ASSIGN_OR_RETURN(bool cached, n.getBool("useCachedMetrics", false));
  (void)cached;  // every poll queries anyway: one query per sync (docs/metric-sources.md)
  t.location = n.location();
  return t;
}

StatusOr<ScaledObjectSpec> parseSpec(const config::Node& n, std::string name,
                                     const TriggerAuthentications* auths) {
  if (!n.isMap()) return n.error("expected a map (the ScaledObject spec)");
  RETURN_IF_ERROR(n.checkKeys({"scaleTargetRef", "pollingInterval", "cooldownPeriod",
                               "initialCooldownPeriod", "idleReplicaCount", "minReplicaCount",
                               "maxReplicaCount", "fallback", "advanced", "triggers"}));
  ScaledObjectSpec so;
  so.name = std::move(name);
  if (n.has("idleReplicaCount")) return unsupported(n["idleReplicaCount"], "'idleReplicaCount'");

  config::Node ref = n["scaleTargetRef"];
  RETURN_IF_ERROR(n.require("scaleTargetRef"));
  if (!ref.isMap()) return ref.error("expected a map");
  RETURN_IF_ERROR(ref.checkKeys({"apiVersion", "kind", "name", "envSourceContainerName"}));
  RETURN_IF_ERROR(ref.require("name"));
  ASSIGN_OR_RETURN(so.target_name, ref["name"].asString());
  ASSIGN_OR_RETURN(so.target_kind, ref.getString("kind", "Deployment"));
  ASSIGN_OR_RETURN(so.target_api_version, ref.getString("apiVersion", "apps/v1"));

  using std::chrono::hours;
  using std::chrono::seconds;
  ASSIGN_OR_RETURN(so.polling_interval,
                   n.getDurationInRange("pollingInterval", seconds(30), seconds(1), hours(24)));
  ASSIGN_OR_RETURN(so.cooldown_period,
                   n.getDurationInRange("cooldownPeriod", seconds(300), seconds(0), hours(24)));
  ASSIGN_OR_RETURN(
      so.initial_cooldown_period,
      n.getDurationInRange("initialCooldownPeriod", seconds(0), seconds(0), hours(24)));
  ASSIGN_OR_RETURN(so.min_replica_count, int32In(n, "minReplicaCount", 0, 0));
  ASSIGN_OR_RETURN(so.max_replica_count, int32In(n, "maxReplicaCount", 100, 1));
  if (so.min_replica_count > so.max_replica_count) {
    const config::Node& at = n.has("maxReplicaCount") ? n["maxReplicaCount"] : n["minReplicaCount"];
    return at.error("maxReplicaCount (" + std::to_string(so.max_replica_count) +
                    ") must be greater than or equal to minReplicaCount (" +
                    std::to_string(so.min_replica_count) + ")");
  }

  config::Node fb = n["fallback"];
  if (!fb.isNull()) {
    if (!fb.isMap()) return fb.error("expected a map");
    RETURN_IF_ERROR(fb.checkKeys({"failureThreshold", "replicas", "behavior"}));
    RETURN_IF_ERROR(fb.require("failureThreshold"));
    RETURN_IF_ERROR(fb.require("replicas"));
    KedaFallback f;
    ASSIGN_OR_RETURN(f.failure_threshold, int32In(fb, "failureThreshold", 0, 0));
    ASSIGN_OR_RETURN(f.replicas, int32In(fb, "replicas", 0, 0));
    ASSIGN_OR_RETURN(std::string behavior,
                     fb.getOneOf("behavior", "static",
                                 {"static", "currentReplicas", "currentReplicasIfHigher",
                                  "currentReplicasIfLower"}));
    if (behavior != "static") {
      return unsupported(fb["behavior"], "fallback behavior '" + behavior + "'");
    }
    so.fallback = f;
  }

  config::Node adv = n["advanced"];
  if (!adv.isNull()) {
    if (!adv.isMap()) return adv.error("expected a map");
    RETURN_IF_ERROR(adv.checkKeys(
        {"horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers"}));
    if (adv.has("scalingModifiers")) {
      return unsupported(adv["scalingModifiers"], "'scalingModifiers'");
    }
    ASSIGN_OR_RETURN(bool restore, adv.getBool("restoreToOriginalReplicaCount", false));
    (void)restore;  // only matters when the ScaledObject is deleted
    config::Node hc = adv["horizontalPodAutoscalerConfig"];
    if (!hc.isNull()) {
      if (!hc.isMap()) return hc.error("expected a map");
      RETURN_IF_ERROR(hc.checkKeys({"name", "behavior"}));
      ASSIGN_OR_RETURN(so.hpa_name, hc.getString("name", ""));
      if (hc.has("behavior")) {
        if (!hc["behavior"].isNull() && !hc["behavior"].isMap()) {
          return hc["behavior"].error("expected a map");
        }
        so.behavior = hc["behavior"];
      }
    }
  }

  config::Node trig = n["triggers"];
  RETURN_IF_ERROR(n.require("triggers"));
  if (!trig.isSequence() || trig.size() == 0) {
    return trig.error("expected a non-empty sequence of triggers");
  }
  std::vector<config::Node> items = trig.items();
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(PrometheusTrigger t, parseTrigger(items[i], static_cast<int>(i), auths));
    so.triggers.push_back(std::move(t));
  }
  return so;
}

}  // namespace

std::string PrometheusTrigger::externalMetricName() const {
  return "s" + std::to_string(index) + "-" + type;
}

StatusOr<ScaledObjectSpec> parseScaledObject(const config::Node& node,
                                             const TriggerAuthentications* auths) {
  if (!node.isMap()) return node.error("expected a map (a ScaledObject or its spec)");
  bool whole =
      node.has("spec") || node.has("apiVersion") || node.has("kind") || node.has("metadata");
  if (!whole) return parseSpec(node, "", auths);
  RETURN_IF_ERROR(node.checkKeys({"apiVersion", "kind", "metadata", "spec", "status"}));
  if (node.has("apiVersion")) {
    ASSIGN_OR_RETURN(std::string v, node["apiVersion"].asOneOf({"keda.sh/v1alpha1"}));
    (void)v;
  }
  if (node.has("kind")) {
    ASSIGN_OR_RETURN(std::string k, node["kind"].asOneOf({"ScaledObject"}));
    (void)k;
  }
  std::string name;
  config::Node md = node["metadata"];
  if (!md.isNull()) {
    if (!md.isMap()) return md.error("expected a map");
    ASSIGN_OR_RETURN(name, md.getString("name", ""));
  }
  RETURN_IF_ERROR(node.require("spec"));
  return parseSpec(node["spec"], std::move(name), auths);
}

HpaSpec kedaHpaSpec(const ScaledObjectSpec& so, std::optional<Behavior> behavior) {
  HpaSpec h;
  h.name = !so.hpa_name.empty() ? so.hpa_name
           : so.name.empty()    ? std::string("keda-hpa")
                                : "keda-hpa-" + so.name;
  h.min_replicas = std::max(so.min_replica_count, int32_t{1});
  h.max_replicas = so.max_replica_count;
  for (const auto& t : so.triggers) {
    MetricSpec m;
    m.type = MetricSourceType::kExternal;
    m.name = t.externalMetricName();
    if (!so.name.empty()) m.match_labels["scaledobject.keda.sh/name"] = so.name;
    m.target.type = t.metric_type;
    if (t.metric_type == MetricTargetType::kValue) {
      m.target.value_milli = toMilli(t.threshold);
    } else {
      m.target.average_value_milli = toMilli(t.threshold);
    }
    h.metrics.push_back(std::move(m));
  }
  h.behavior = std::move(behavior);
  return h;
}

}  // namespace surge::autoscale
