// parseHpaSpec: the reference hpa.yaml unchanged, defaults, and API-server-like validation errors
// that name file:line:col and the field.
#include <gtest/gtest.h>

#include <string>

#include "autoscale/hpa/hpa.h"

namespace surge::autoscale {
namespace {

StatusOr<HpaSpec> parse(const std::string& text) {
  auto node = config::Node::loadString(text, "hpa.yaml");
  if (!node.isOk()) return node.status();
  return parseHpaSpec(node.value());
}

std::string errorOf(const std::string& text) {
  auto s = parse(text);
  EXPECT_FALSE(s.isOk()) << text;
  return s.isOk() ? "" : s.status().message();
}

// A typical production hpa.yaml (CPU + a Pods metric + behavior), exactly as operators write it.
constexpr const char* kSeedHpa = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: model-server-hpa
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: model-server
  minReplicas: 2
  maxReplicas: 20
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: 80
    - type: Pods
      pods:
        metric:
          name: requests_per_second
        target:
          type: AverageValue
          averageValue: "100"
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Percent
          value: 10
          periodSeconds: 60
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Percent
          value: 100
          periodSeconds: 15
        - type: Pods
          value: 4
          periodSeconds: 15
      selectPolicy: Max
)";

TEST(SpecParserTest, SeedHpaParsesUnchanged) {
  auto s = parse(kSeedHpa);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  const HpaSpec& spec = s.value();
  EXPECT_EQ(spec.name, "model-server-hpa");
  EXPECT_EQ(spec.min_replicas, 2);
  EXPECT_EQ(spec.max_replicas, 20);
  ASSERT_EQ(spec.metrics.size(), 3u);
  EXPECT_EQ(spec.metrics[0].type, MetricSourceType::kResource);
  EXPECT_EQ(spec.metrics[0].name, "cpu");
  EXPECT_EQ(spec.metrics[0].target.type, MetricTargetType::kUtilization);
  EXPECT_EQ(spec.metrics[0].target.average_utilization, 70);
  EXPECT_EQ(spec.metrics[1].name, "memory");
  EXPECT_EQ(spec.metrics[1].target.average_utilization, 80);
  EXPECT_EQ(spec.metrics[2].type, MetricSourceType::kPods);
  EXPECT_EQ(spec.metrics[2].name, "requests_per_second");
  EXPECT_EQ(spec.metrics[2].target.type, MetricTargetType::kAverageValue);
  EXPECT_EQ(spec.metrics[2].target.average_value_milli, 100000);
  ASSERT_TRUE(spec.behavior.has_value());
  const ScalingRules& down = *spec.behavior->scale_down;
  EXPECT_EQ(*down.stabilization_window, std::chrono::seconds(300));
  ASSERT_EQ(down.policies->size(), 1u);
  EXPECT_EQ((*down.policies)[0].type, PolicyType::kPercent);
  EXPECT_EQ((*down.policies)[0].value, 10);
  EXPECT_EQ((*down.policies)[0].period, std::chrono::seconds(60));
  EXPECT_FALSE(down.select_policy.has_value());
  const ScalingRules& up = *spec.behavior->scale_up;
  EXPECT_EQ(*up.stabilization_window, std::chrono::seconds(0));
  EXPECT_EQ(up.policies->size(), 2u);
  EXPECT_EQ(*up.select_policy, SelectPolicy::kMax);
}

TEST(SpecParserTest, JsonSpecAloneAndDefaults) {
  auto s = parse(R"({"maxReplicas": 5})");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->min_replicas, 1);
  ASSERT_EQ(s->metrics.size(), 1u);  // API default: cpu at 80%
  EXPECT_EQ(s->metrics[0].name, "cpu");
  EXPECT_EQ(s->metrics[0].target.average_utilization, 80);
  EXPECT_FALSE(s->behavior.has_value());
}

TEST(SpecParserTest, EmptyBehaviorSelectsBehaviorPath) {
  auto s = parse("maxReplicas: 5\nbehavior: {}\n");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  ASSERT_TRUE(s->behavior.has_value());
  EXPECT_FALSE(s->behavior->scale_up.has_value());
  auto legacy = parse("maxReplicas: 5\nbehavior:\n");  // null behavior: nil pointer → legacy
  ASSERT_TRUE(legacy.isOk()) << legacy.status().message();
  EXPECT_FALSE(legacy->behavior.has_value());
}

TEST(SpecParserTest, ObjectAndExternalAndTolerance) {
  auto s = parse(R"(maxReplicas: 10
metrics:
  - type: Object
    object:
      describedObject: {apiVersion: v1, kind: Service, name: gw}
      metric: {name: queue_length}
      target: {type: Value, value: 500m}
  - type: External
    external:
      metric:
        name: s0-prometheus
        selector: {matchLabels: {scaledobject.keda.sh/name: model}}
      target: {type: AverageValue, averageValue: 50}
  - type: ContainerResource
    containerResource: {name: cpu, container: app, target: {type: AverageValue, averageValue: 250m}}
behavior:
  scaleUp: {tolerance: "0.05"}
)");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->metrics[0].described_object.kind, "Service");
  EXPECT_EQ(s->metrics[0].target.value_milli, 500);
  EXPECT_EQ(s->metrics[1].match_labels.at("scaledobject.keda.sh/name"), "model");
  EXPECT_EQ(s->metrics[1].target.average_value_milli, 50000);
  EXPECT_EQ(s->metrics[2].container, "app");
  EXPECT_DOUBLE_EQ(*s->behavior->scale_up->tolerance, 0.05);
}

TEST(SpecParserTest, UnknownFieldWithDidYouMean) {
  std::string e = errorOf("maxReplicas: 5\nminReplica: 2\n");
  EXPECT_EQ(e, "hpa.yaml:2:1: unknown field 'minReplica' (did you mean 'minReplicas'?)");
  e = errorOf("spec:\n  maxReplicas: 5\n  behavior:\n    scaleUp:\n      polices: []\n");
  EXPECT_NE(e.find("hpa.yaml:5:7: spec.behavior.scaleUp: unknown field 'polices' (did you mean "
                   "'policies'?)"),
            std::string::npos)
      << e;
}

TEST(SpecParserTest, ValidationErrorsNameTheField) {
  struct Case {
    const char* yaml;
    const char* expect;  // substring
  };
  const Case cases[] = {
      {"minReplicas: 2\n", "missing required field"},
      {"maxReplicas: 0\n", "hpa.yaml:1:14: maxReplicas: must be between 1 and"},
      {"maxReplicas: 2\nminReplicas: 3\n", "maxReplicas: must be greater than or equal to minRep"},
      {"maxReplicas: 2\nminReplicas: 0\n", "minReplicas: must be greater than or equal to 1"},
      {"maxReplicas: 2\nmetrics: [{type: Resourse}]\n",
       "metrics[0].type: unknown value 'Resourse'"},
      {"maxReplicas: 2\nmetrics: [{type: Resource, resource: {name: cpu, target: {type: Value, "
       "value: 1}}}]\n",
       "metrics[0].resource.target.type: unknown value 'Value'"},
      {"maxReplicas: 2\nmetrics: [{type: Resource, resource: {name: cpu, target: {type: "
       "Utilization, averageUtilization: 0}}}]\n",
       "metrics[0].resource.target.averageUtilization: must be between 1 and"},
      {"maxReplicas: 2\nmetrics: [{type: Pods, pods: {metric: {name: rps}, target: {type: "
       "AverageValue, averageValue: 10x}}}]\n",
       "metrics[0].pods.target.averageValue: malformed quantity '10x'"},
      {"maxReplicas: 2\nmetrics: [{type: Pods, pods: {metric: {name: rps}, target: {type: "
       "AverageValue, averageValue: \"-1\"}}}]\n",
       "averageValue: must be positive"},
      {"maxReplicas: 2\nmetrics: [{type: Pods, resource: {name: cpu}}]\n",
       "metrics[0].resource: must not be set when type is Pods"},
      {"maxReplicas: 2\nmetrics: [{type: External, external: {metric: {name: q}, target: {type: "
       "Value}}}]\n",
       "missing required field 'value' for target type Value"},
      {"maxReplicas: 2\nbehavior: {scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: "
       "1801}]}}\n",
       "behavior.scaleUp.policies[0].periodSeconds: must be between 1 and 1800"},
      {"maxReplicas: 2\nbehavior: {scaleUp: {policies: [{type: Pod, value: 1, periodSeconds: "
       "10}]}}\n",
       "policies[0].type: unknown value 'Pod'"},
      {"maxReplicas: 2\nbehavior: {scaleDown: {stabilizationWindowSeconds: 3601}}\n",
       "behavior.scaleDown.stabilizationWindowSeconds: must be between 0 and 3600"},
      {"maxReplicas: 2\nbehavior: {scaleDown: {selectPolicy: Maximum}}\n",
       "behavior.scaleDown.selectPolicy: unknown value 'Maximum'"},
      {"maxReplicas: 2\nbehavior: {scaleDown: {policies: []}}\n",
       "behavior.scaleDown.policies: must specify at least one Policy"},
      {"maxReplicas: 2\nbehavior: {scaleDown: {tolerance: \"-0.1\"}}\n",
       "behavior.scaleDown.tolerance: must be greater than or equal to 0"},
      {"kind: Deployment\nspec: {maxReplicas: 2}\n", "kind: unknown value 'Deployment'"},
      {"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n", "spec: missing required"},
  };
  for (const Case& c : cases) {
    std::string e = errorOf(c.yaml);
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.yaml << "\n→ " << e;
    EXPECT_EQ(e.rfind("hpa.yaml:", 0), 0u) << e;
  }
}

}  // namespace
}  // namespace surge::autoscale
