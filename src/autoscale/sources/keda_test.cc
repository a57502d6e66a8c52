#include "autoscale/sources/keda.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

// The seed's keda-scaledobject.yaml, as written.
constexpr const char* kSeed = R"(# keda-scaledobject.yaml
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: model-server-scaler
spec:
  scaleTargetRef:
    name: model-server
  minReplicaCount: 2
  maxReplicaCount: 50
  triggers:
    - type: prometheus
      metadata:
        serverAddress: http://prometheus:9090
        metricName: model_request_queue_length
        query: sum(model_request_queue_length{deployment="model-server"})
        threshold: "50"
    - type: prometheus
      metadata:
        serverAddress: http://prometheus:9090
        metricName: model_latency_p99
        query: histogram_quantile(0.99, rate(model_latency_bucket[1m]))
        threshold: "0.1"  # 100ms
)";

StatusOr<ScaledObjectSpec> parse(const std::string& text) {
  auto n = config::Node::loadString(text, "keda.yaml");
  if (!n.isOk()) return n.status();
  return parseScaledObject(*n);
}

std::string errorOf(const std::string& text) {
  auto r = parse(text);
  return r.isOk() ? "(parsed)" : r.status().message();
}

TEST(Keda, ParsesTheSeedAsWritten) {
  auto so = parse(kSeed);
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->name, "model-server-scaler");
  EXPECT_EQ(so->target_name, "model-server");
  EXPECT_EQ(so->target_kind, "Deployment");
  EXPECT_EQ(so->min_replica_count, 2);
  EXPECT_EQ(so->max_replica_count, 50);
  EXPECT_EQ(so->polling_interval, Duration(30s));
  EXPECT_EQ(so->cooldown_period, Duration(300s));
  EXPECT_FALSE(so->fallback.has_value());
  ASSERT_EQ(so->triggers.size(), 2u);
  const auto& q = so->triggers[0];
  EXPECT_EQ(q.server_address, "http://prometheus:9090");
  EXPECT_EQ(q.query, "sum(model_request_queue_length{deployment=\"model-server\"})");
  EXPECT_EQ(q.threshold, 50);
  EXPECT_EQ(q.activation_threshold, 0);
  EXPECT_TRUE(q.ignore_null_values);
  EXPECT_EQ(q.metric_name, "model_request_queue_length");
  EXPECT_EQ(q.externalMetricName(), "s0-prometheus");
  EXPECT_EQ(so->triggers[1].threshold, 0.1);
  EXPECT_EQ(so->triggers[1].externalMetricName(), "s1-prometheus");
  EXPECT_EQ(q.location, "keda.yaml:12:7");

  HpaSpec h = kedaHpaSpec(*so);
  EXPECT_EQ(h.name, "keda-hpa-model-server-scaler");
  EXPECT_EQ(h.min_replicas, 2);
  EXPECT_EQ(h.max_replicas, 50);
  ASSERT_EQ(h.metrics.size(), 2u);
  EXPECT_EQ(h.metrics[0].type, MetricSourceType::kExternal);
  EXPECT_EQ(h.metrics[0].name, "s0-prometheus");
  EXPECT_EQ(h.metrics[0].target.type, MetricTargetType::kAverageValue);
  EXPECT_EQ(h.metrics[0].target.average_value_milli, 50000);
  EXPECT_EQ(h.metrics[1].target.average_value_milli, 100);
  EXPECT_EQ(h.metrics[0].match_labels.at("scaledobject.keda.sh/name"), "model-server-scaler");
  EXPECT_FALSE(h.behavior.has_value());
}

TEST(Keda, DefaultsAndFullSpec) {
  auto so = parse(R"(
scaleTargetRef: {name: web}
pollingInterval: 5
cooldownPeriod: 60
initialCooldownPeriod: 10
fallback: {failureThreshold: 3, replicas: 6}
advanced:
  restoreToOriginalReplicaCount: true
  horizontalPodAutoscalerConfig:
    name: my-hpa
    behavior:
      scaleDown: {stabilizationWindowSeconds: 30}
triggers:
  - type: prometheus
    name: queue
    metricType: Value
    metadata:
      serverAddress: http://127.0.0.1:9090/
      query: up
      threshold: 2.5
      activationThreshold: "1"
      ignoreNullValues: "false"
      timeout: 500
      queryParameters: "a=1, b=x y"
      namespace: ns1
)");
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->min_replica_count, 0);
  EXPECT_EQ(so->max_replica_count, 100);
  EXPECT_EQ(so->polling_interval, Duration(5s));
  EXPECT_EQ(so->cooldown_period, Duration(60s));
  EXPECT_EQ(so->initial_cooldown_period, Duration(10s));
  ASSERT_TRUE(so->fallback.has_value());
  EXPECT_EQ(so->fallback->failure_threshold, 3);
  EXPECT_EQ(so->fallback->replicas, 6);
  EXPECT_TRUE(so->behavior.isMap());
  const auto& t = so->triggers[0];
  EXPECT_EQ(t.name, "queue");
  EXPECT_EQ(t.metric_type, MetricTargetType::kValue);
  EXPECT_EQ(t.activation_threshold, 1);
  EXPECT_FALSE(t.ignore_null_values);
  ASSERT_TRUE(t.timeout.has_value());
  EXPECT_EQ(*t.timeout, Duration(500ms));
  EXPECT_EQ(t.query_parameters.at("a"), "1");
  EXPECT_EQ(t.query_parameters.at("b"), "x y");
  EXPECT_EQ(t.query_parameters.at("namespace"), "ns1");

  Behavior b;
  b.scale_down = ScalingRules{};
  HpaSpec h = kedaHpaSpec(*so, b);
  EXPECT_EQ(h.name, "my-hpa");
  EXPECT_EQ(h.min_replicas, 1);  // max(minReplicaCount 0, 1)
  EXPECT_EQ(h.max_replicas, 100);
  EXPECT_EQ(h.metrics[0].target.type, MetricTargetType::kValue);
  EXPECT_EQ(h.metrics[0].target.value_milli, 2500);
  EXPECT_TRUE(h.behavior.has_value());
  EXPECT_TRUE(h.metrics[0].match_labels.empty());  // spec only: no ScaledObject name
}

TEST(Keda, ErrorsNameFileLineAndField) {
  std::string base = "scaleTargetRef: {name: web}\ntriggers:\n  - type: ";
  EXPECT_EQ(errorOf(base + "kafka\n    metadata: {}\n"),
            "keda.yaml:3:11: triggers[0].type: trigger type 'kafka' is not supported by surge "
            "(supported: prometheus)");
  EXPECT_NE(errorOf(base + "promethues\n    metadata: {}\n").find("did you mean 'prometheus'"),
            std::string::npos);
  std::string m = errorOf(base +
                          "prometheus\n    metadata:\n      serverAddress: http://p:9090\n"
                          "      query: up\n");
  EXPECT_EQ(m, "keda.yaml:5:7: triggers[0].metadata.threshold: missing required field");
  m = errorOf(base +
              "prometheus\n    metadata:\n      serverAddress: http://p:9090\n"
              "      query: up\n      treshold: 5\n");
  EXPECT_NE(m.find("unknown field 'treshold' (did you mean 'threshold'?)"), std::string::npos) << m;
  m = errorOf(base +
              "prometheus\n    metadata:\n      serverAddress: https://p:9090\n"
              "      query: up\n      threshold: 5\n");
  EXPECT_NE(m.find("triggers[0].metadata.serverAddress: unsupported URL scheme 'https'"),
            std::string::npos)
      << m;
  m = errorOf(base +
              "prometheus\n    metadata:\n      serverAddress: http://p:9090\n"
              "      query: up\n      threshold: 0\n");
  EXPECT_NE(m.find("threshold: must be greater than 0"), std::string::npos) << m;
  m = errorOf(base +
              "prometheus\n    metadata:\n      serverAddress: http://p:9090\n"
              "      query: up\n      threshold: fifty\n");
  EXPECT_NE(m.find("keda.yaml:7:18: triggers[0].metadata.threshold"), std::string::npos) << m;
  m = errorOf(base + "prometheus\n    authenticationRef: {name: x}\n    metadata: {}\n");
  EXPECT_NE(m.find("authenticationRef"), std::string::npos);
  EXPECT_NE(m.find("not supported by surge"), std::string::npos);

  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\nminReplicaCount: 5\nmaxReplicaCount: 3\n"
                    "triggers: []\n")
                .find("maxReplicaCount (3) must be greater than or equal to minReplicaCount (5)"),
            std::string::npos);
  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\ntriggers: []\n").find("non-empty sequence"),
            std::string::npos);
  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\npolingInterval: 5\ntriggers: []\n")
                .find("unknown field 'polingInterval' (did you mean 'pollingInterval'?)"),
            std::string::npos);
  EXPECT_NE(errorOf("triggers: []\n").find("scaleTargetRef: missing required field"),
            std::string::npos)
      << errorOf("triggers: []\n");
  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\nidleReplicaCount: 0\ntriggers: []\n")
                .find("'idleReplicaCount' is not supported by surge"),
            std::string::npos);
  EXPECT_NE(errorOf("apiVersion: keda.sh/v1\nkind: ScaledObject\nspec: {}\n")
                .find("keda.yaml:1:13: apiVersion: unknown value 'keda.sh/v1'"),
            std::string::npos)
      << errorOf("apiVersion: keda.sh/v1\nkind: ScaledObject\nspec: {}\n");
  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\nfallback: {replicas: 3}\ntriggers: []\n")
                .find("fallback.failureThreshold: missing required field"),
            std::string::npos);
  EXPECT_NE(errorOf("scaleTargetRef: {name: web}\nfallback: {failureThreshold: 1, replicas: 3, "
                    "behavior: currentReplicas}\ntriggers: []\n")
                .find("not supported by surge"),
            std::string::npos);
  EXPECT_NE(errorOf("- 1\n").find("expected a map"), std::string::npos);
}

}  // namespace
}  // namespace surge::autoscale
