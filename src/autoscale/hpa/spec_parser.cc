// parseHpaSpec: an autoscaling/v2 HorizontalPodAutoscaler (whole object or its spec) from a
// config::Node (YAML or JSON), validated like the API server (pkg/apis/autoscaling/validation)
// after the API defaults (pkg/apis/autoscaling/v2/defaults.go): minReplicas 1, no metrics → cpu
// Utilization 80. Behavior defaults are NOT filled in here (normalization.cc does it, so the
// controller's downscale window flag can apply). Every error names file:line:col and the field.
// Complexity O(size of the spec). Thread-safety: pure function.
#include <string>
#include <vector>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/quantity.h"

namespace surge::autoscale {
namespace {

constexpr int64_t kMaxInt32 = 2147483647;
constexpr int64_t kMaxPeriodSeconds = 1800;
constexpr int64_t kMaxStabilizationWindowSeconds = 3600;
constexpr int32_t kDefaultCpuUtilization = 80;

// A quantity field (string or number) → milli-units; errors at the field.
StatusOr<int64_t> quantityAt(const config::Node& n) {
  ASSIGN_OR_RETURN(std::string text, n.asString());
  auto q = parseQuantityMilli(text);
  if (!q.isOk()) return n.error(q.status().message());
  return q.value();
}

StatusOr<int32_t> int32At(const config::Node& n, int64_t lo, int64_t hi) {
  ASSIGN_OR_RETURN(int64_t v, n.asIntInRange(lo, hi));
  return static_cast<int32_t>(v);
}

Status parseSelector(const config::Node& n, std::map<std::string, std::string>* labels) {
  if (n.isNull()) return Status::ok();
  RETURN_IF_ERROR(n.checkKeys({"matchLabels", "matchExpressions"}));
  if (!n["matchExpressions"].isNull()) {
    return n["matchExpressions"].error(
        "not supported by surge (use matchLabels); see docs/autoscaling.md");
  }
  config::Node ml = n["matchLabels"];
  if (ml.isNull()) return Status::ok();
  if (!ml.isMap()) return ml.error("expected a map of label: value");
  for (const auto& [k, v] : ml.entries()) {
    ASSIGN_OR_RETURN(std::string value, v.asString());
    (*labels)[k] = value;
  }
  return Status::ok();
}

// metric: {name, selector}
Status parseMetricIdentifier(const config::Node& n, MetricSpec* m) {
  RETURN_IF_ERROR(n.checkKeys({"name", "selector"}));
  RETURN_IF_ERROR(n.require("name"));
  ASSIGN_OR_RETURN(m->name, n["name"].asString());
  if (m->name.empty()) return n["name"].error("must not be empty");
  return parseSelector(n["selector"], &m->match_labels);
}

// target: {type, value, averageValue, averageUtilization}. `allowed` lists the target types this
// metric source accepts (Resource: Utilization, AverageValue; Pods: AverageValue; Object and
// External: Value, AverageValue). The field matching the type is required and others rejected.
Status parseTarget(const config::Node& n, std::initializer_list<std::string_view> allowed,
                   MetricTarget* t) {
  RETURN_IF_ERROR(n.checkKeys({"type", "value", "averageValue", "averageUtilization"}));
  RETURN_IF_ERROR(n.require("type"));
  ASSIGN_OR_RETURN(std::string type, n["type"].asOneOf(allowed));
  const char* field = "";
  if (type == "Utilization") {
    t->type = MetricTargetType::kUtilization;
    field = "averageUtilization";
  } else if (type == "Value") {
    t->type = MetricTargetType::kValue;
    field = "value";
  } else {
    t->type = MetricTargetType::kAverageValue;
    field = "averageValue";
  }
  for (const char* other : {"value", "averageValue", "averageUtilization"}) {
    if (std::string_view(other) != field && !n[other].isNull()) {
      return n[other].error(std::string("must not be set with target type ") + type + " (set " +
                            field + ")");
    }
  }
  config::Node v = n[field];
  if (v.isNull()) return n.error(std::string("missing required field '") + field +
                                 "' for target type " + type);
  if (t->type == MetricTargetType::kUtilization) {
    ASSIGN_OR_RETURN(t->average_utilization, int32At(v, 1, kMaxInt32));
    return Status::ok();
  }
  ASSIGN_OR_RETURN(int64_t q, quantityAt(v));
  if (q <= 0) return v.error("must be positive, found " + formatQuantityMilli(q));
  if (t->type == MetricTargetType::kValue) {
    t->value_milli = q;
  } else {
    t->average_value_milli = q;
  }
  return Status::ok();
}

Status parseResourceName(const config::Node& n, MetricSpec* m) {
  RETURN_IF_ERROR(n.require("name"));
  ASSIGN_OR_RETURN(m->name, n["name"].asString());
  if (m->name.empty()) return n["name"].error("must not be empty");
  return Status::ok();
}

StatusOr<MetricSpec> parseMetric(const config::Node& n) {
  static const std::vector<std::string_view> kMembers = {"resource", "containerResource", "pods",
                                                         "object", "external"};
  RETURN_IF_ERROR(n.checkKeys({"type", "resource", "containerResource", "pods", "object",
                               "external"}));
  RETURN_IF_ERROR(n.require("type"));
  ASSIGN_OR_RETURN(std::string type, n["type"].asOneOf({"Resource", "ContainerResource", "Pods",
                                                        "Object", "External"}));
  std::string member = type == "Resource"            ? "resource"
                       : type == "ContainerResource" ? "containerResource"
                       : type == "Pods"              ? "pods"
                       : type == "Object"            ? "object"
                                                     : "external";
  for (std::string_view other : kMembers) {
    if (other != member && !n[other].isNull()) {
      return n[other].error("must not be set when type is " + type + " (set " + member + ")");
    }
  }
  config::Node s = n[member];
  if (s.isNull()) {
    return n.error("missing required field '" + member + "' for type " + type);
  }
  MetricSpec m;
  if (type == "Resource") {
    m.type = MetricSourceType::kResource;
    RETURN_IF_ERROR(s.checkKeys({"name", "target"}));
    RETURN_IF_ERROR(parseResourceName(s, &m));
    RETURN_IF_ERROR(s.require("target"));
    RETURN_IF_ERROR(parseTarget(s["target"], {"Utilization", "AverageValue"}, &m.target));
  } else if (type == "ContainerResource") {
    m.type = MetricSourceType::kContainerResource;
    RETURN_IF_ERROR(s.checkKeys({"name", "container", "target"}));
    RETURN_IF_ERROR(parseResourceName(s, &m));
    RETURN_IF_ERROR(s.require("container"));
    ASSIGN_OR_RETURN(m.container, s["container"].asString());
    RETURN_IF_ERROR(s.require("target"));
    RETURN_IF_ERROR(parseTarget(s["target"], {"Utilization", "AverageValue"}, &m.target));
  } else if (type == "Pods") {
    m.type = MetricSourceType::kPods;
    RETURN_IF_ERROR(s.checkKeys({"metric", "target"}));
    RETURN_IF_ERROR(s.require("metric"));
    RETURN_IF_ERROR(parseMetricIdentifier(s["metric"], &m));
    RETURN_IF_ERROR(s.require("target"));
    RETURN_IF_ERROR(parseTarget(s["target"], {"AverageValue"}, &m.target));
  } else if (type == "Object") {
    m.type = MetricSourceType::kObject;
    RETURN_IF_ERROR(s.checkKeys({"describedObject", "metric", "target"}));
    RETURN_IF_ERROR(s.require("describedObject"));
    config::Node d = s["describedObject"];
    RETURN_IF_ERROR(d.checkKeys({"apiVersion", "kind", "name"}));
    RETURN_IF_ERROR(d.require("kind"));
    RETURN_IF_ERROR(d.require("name"));
    ASSIGN_OR_RETURN(m.described_object.api_version, d.getString("apiVersion", ""));
    ASSIGN_OR_RETURN(m.described_object.kind, d["kind"].asString());
    ASSIGN_OR_RETURN(m.described_object.name, d["name"].asString());
    RETURN_IF_ERROR(s.require("metric"));
    RETURN_IF_ERROR(parseMetricIdentifier(s["metric"], &m));
    RETURN_IF_ERROR(s.require("target"));
    RETURN_IF_ERROR(parseTarget(s["target"], {"Value", "AverageValue"}, &m.target));
  } else {
    m.type = MetricSourceType::kExternal;
    RETURN_IF_ERROR(s.checkKeys({"metric", "target"}));
    RETURN_IF_ERROR(s.require("metric"));
    RETURN_IF_ERROR(parseMetricIdentifier(s["metric"], &m));
    RETURN_IF_ERROR(s.require("target"));
    RETURN_IF_ERROR(parseTarget(s["target"], {"Value", "AverageValue"}, &m.target));
  }
  return m;
}

StatusOr<ScalingRules> parseRules(const config::Node& n) {
  ScalingRules r;
  RETURN_IF_ERROR(n.checkKeys({"stabilizationWindowSeconds", "selectPolicy", "policies",
                               "tolerance"}));
  if (!n["stabilizationWindowSeconds"].isNull()) {
    ASSIGN_OR_RETURN(int64_t s,
                     n["stabilizationWindowSeconds"].asIntInRange(0,
                                                                  kMaxStabilizationWindowSeconds));
    r.stabilization_window = std::chrono::seconds(s);
  }
  if (!n["selectPolicy"].isNull()) {
    ASSIGN_OR_RETURN(std::string p, n["selectPolicy"].asOneOf({"Max", "Min", "Disabled"}));
    r.select_policy = p == "Max" ? SelectPolicy::kMax
                      : p == "Min" ? SelectPolicy::kMin
                                   : SelectPolicy::kDisabled;
  }
  if (n.has("policies")) {
    config::Node ps = n["policies"];
    if (!ps.isNull() && !ps.isSequence()) return ps.error("expected a sequence of policies");
    if (ps.size() == 0) return ps.error("must specify at least one Policy");
    std::vector<ScalingPolicy> policies;
    for (const config::Node& p : ps.items()) {
      RETURN_IF_ERROR(p.checkKeys({"type", "value", "periodSeconds"}));
      ScalingPolicy sp;
      RETURN_IF_ERROR(p.require("type"));
      auto type = p["type"].asOneOf({"Pods", "Percent"});
      if (!type.isOk()) return type.status();
      sp.type = type.value() == "Pods" ? PolicyType::kPods : PolicyType::kPercent;
      RETURN_IF_ERROR(p.require("value"));
      ASSIGN_OR_RETURN(sp.value, int32At(p["value"], 1, kMaxInt32));
      RETURN_IF_ERROR(p.require("periodSeconds"));
      ASSIGN_OR_RETURN(int32_t period, int32At(p["periodSeconds"], 1, kMaxPeriodSeconds));
      sp.period = std::chrono::seconds(period);
      policies.push_back(sp);
    }
    r.policies = std::move(policies);
  }
  if (!n["tolerance"].isNull()) {
    config::Node t = n["tolerance"];
    ASSIGN_OR_RETURN(std::string text, t.asString());
    auto q = parseQuantityDouble(text);
    if (!q.isOk()) return t.error(q.status().message());
    if (q.value() < 0) return t.error("must be greater than or equal to 0, found " + text);
    r.tolerance = q.value();
  }
  return r;
}

StatusOr<Behavior> parseBehavior(const config::Node& n) {
  Behavior b;
  RETURN_IF_ERROR(n.checkKeys({"scaleUp", "scaleDown"}));
  if (!n["scaleUp"].isNull()) {
    ASSIGN_OR_RETURN(b.scale_up, parseRules(n["scaleUp"]));
  }
  if (!n["scaleDown"].isNull()) {
    ASSIGN_OR_RETURN(b.scale_down, parseRules(n["scaleDown"]));
  }
  return b;
}

StatusOr<HpaSpec> parseSpecBody(const config::Node& n, std::string name) {
  if (!n.isMap()) return n.error("expected a map (the HorizontalPodAutoscaler spec)");
  RETURN_IF_ERROR(n.checkKeys({"scaleTargetRef", "minReplicas", "maxReplicas", "metrics",
                               "behavior"}));
  HpaSpec spec;
  spec.name = std::move(name);
  if (!n["scaleTargetRef"].isNull()) {
    RETURN_IF_ERROR(n["scaleTargetRef"].checkKeys({"apiVersion", "kind", "name"}));
  }
  RETURN_IF_ERROR(n.require("maxReplicas"));
  ASSIGN_OR_RETURN(spec.max_replicas, int32At(n["maxReplicas"], 1, kMaxInt32));
  bool min_given = !n["minReplicas"].isNull();
  if (min_given) {
    ASSIGN_OR_RETURN(spec.min_replicas, int32At(n["minReplicas"], 0, kMaxInt32));
  }
  if (spec.min_replicas > spec.max_replicas) {
    return n["maxReplicas"].error("must be greater than or equal to minReplicas (" +
                                  std::to_string(spec.min_replicas) + "), found " +
                                  std::to_string(spec.max_replicas));
  }
  config::Node ms = n["metrics"];
  if (!ms.isNull() && !ms.isSequence()) return ms.error("expected a sequence of metrics");
  for (const config::Node& m : ms.items()) {
    ASSIGN_OR_RETURN(MetricSpec metric, parseMetric(m));
    spec.metrics.push_back(std::move(metric));
  }
  if (spec.metrics.empty()) {  // API default: cpu at 80% utilization
    MetricSpec cpu;
    cpu.type = MetricSourceType::kResource;
    cpu.name = "cpu";
    cpu.target.type = MetricTargetType::kUtilization;
    cpu.target.average_utilization = kDefaultCpuUtilization;
    spec.metrics.push_back(cpu);
  }
  if (spec.min_replicas == 0) {  // HPAScaleToZero: needs an Object or External metric
    bool ok = false;
    for (const MetricSpec& m : spec.metrics) {
      ok = ok || m.type == MetricSourceType::kObject || m.type == MetricSourceType::kExternal;
    }
    if (!ok) {
      return n["minReplicas"].error(
          "must be greater than or equal to 1 (0 needs at least one Object or External metric)");
    }
  }
  // behavior: {} selects the behavior path with every default; absent or null is the legacy path.
  if (!n["behavior"].isNull()) {
    config::Node b = n["behavior"];
    if (!b.isMap()) return b.error("expected a map");
    ASSIGN_OR_RETURN(spec.behavior, parseBehavior(b));
  }
  return spec;
}

}  // namespace

const char* metricSourceTypeName(MetricSourceType type) {
  switch (type) {
    case MetricSourceType::kResource:
      return "Resource";
    case MetricSourceType::kContainerResource:
      return "ContainerResource";
    case MetricSourceType::kPods:
      return "Pods";
    case MetricSourceType::kObject:
      return "Object";
    case MetricSourceType::kExternal:
      return "External";
  }
  return "?";
}

StatusOr<HpaSpec> parseHpaSpec(const config::Node& node) {
  if (!node.isMap()) return node.error("expected a map (a HorizontalPodAutoscaler or its spec)");
  bool whole = node.has("spec") || node.has("apiVersion") || node.has("kind") ||
               node.has("metadata");
  if (!whole) return parseSpecBody(node, "");
  RETURN_IF_ERROR(node.checkKeys({"apiVersion", "kind", "metadata", "spec", "status"}));
  if (node.has("apiVersion")) {
    ASSIGN_OR_RETURN(std::string v, node["apiVersion"].asOneOf({"autoscaling/v2",
                                                               "autoscaling/v2beta2"}));
    (void)v;
  }
  if (node.has("kind")) {
    ASSIGN_OR_RETURN(std::string k, node["kind"].asOneOf({"HorizontalPodAutoscaler"}));
    (void)k;
  }
  std::string name;
  config::Node md = node["metadata"];
  if (!md.isNull()) {
    if (!md.isMap()) return md.error("expected a map");
    ASSIGN_OR_RETURN(name, md.getString("name", ""));
  }
  RETURN_IF_ERROR(node.require("spec"));
  return parseSpecBody(node["spec"], std::move(name));
}

StatusOr<Behavior> parseHpaBehavior(const config::Node& node) { return parseBehavior(node); }

}  // namespace surge::autoscale
