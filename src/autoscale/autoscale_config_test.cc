#include "autoscale/autoscale_config.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

using std::chrono::seconds;

StatusOr<AutoscaleConfig> parse(const std::string& text) {
  auto root = config::Node::loadString(text, "autoscale.yaml");
  if (!root.isOk()) return root.status();
  return parseAutoscaleConfig(*root);
}

constexpr const char* kHpa = R"(
hpa:
  apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {name: model-server-hpa}
  spec:
    scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: model-server}
    minReplicas: 2
    maxReplicas: 20
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "100"}
)";

TEST(AutoscaleConfigTest, DefaultsAndFullFile) {
  auto c = parse(std::string("target: {kind: local}\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->target_kind, TargetKind::kLocal);
  EXPECT_TRUE(c->target.isMap());
  const AutoscalePolicy& p = c->policy;
  EXPECT_EQ(p.sync_period, seconds(15));
  EXPECT_TRUE(p.has_hpa);
  EXPECT_EQ(p.hpa.min_replicas, 2);
  EXPECT_EQ(p.hpa.max_replicas, 20);
  ASSERT_EQ(p.hpa.metrics.size(), 1u);
  EXPECT_FALSE(p.predictive.enabled);
  EXPECT_FALSE(p.panic.enabled);
  EXPECT_EQ(p.panic.window, seconds(6));
  EXPECT_EQ(p.panic.stable_window, seconds(60));
  EXPECT_DOUBLE_EQ(p.panic.threshold, 2.0);
  EXPECT_DOUBLE_EQ(p.controller.tolerance, 0.1);
  EXPECT_EQ(p.admin_listen, "127.0.0.1:9902");
}

TEST(AutoscaleConfigTest, AllSections) {
  auto c = parse(std::string(R"(
target: {kind: local}
sync_period: 2s
predictive: {enabled: true, horizon: 5m, rps_per_replica: 50, min_replicas: 3,
             quantile: 0.95, history_file: /tmp/h.csv}
panic: {enabled: true, window: 4s, stable_window: 30s, threshold: 3}
controller: {tolerance: 0.05, downscale_stabilization_window: 10s, scale_up_limit_minimum: 8}
admin: {listen: 127.0.0.1:0}
)") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const AutoscalePolicy& p = c->policy;
  EXPECT_EQ(p.sync_period, seconds(2));
  EXPECT_TRUE(p.predictive.enabled);
  EXPECT_EQ(p.predictive.horizon, std::chrono::minutes(5));
  EXPECT_DOUBLE_EQ(p.predictive.rps_per_replica, 50);
  EXPECT_EQ(p.predictive.min_replicas, 3);
  EXPECT_EQ(p.predictive.history_file, "/tmp/h.csv");
  EXPECT_DOUBLE_EQ(p.predictive.quantile, 0.95);
  EXPECT_TRUE(p.panic.enabled);
  EXPECT_EQ(p.panic.window, seconds(4));
  EXPECT_EQ(p.panic.stable_window, seconds(30));
  EXPECT_DOUBLE_EQ(p.panic.threshold, 3);
  EXPECT_DOUBLE_EQ(p.controller.tolerance, 0.05);
  EXPECT_EQ(p.controller.downscale_stabilization_window, seconds(10));
  EXPECT_EQ(p.controller.scale_up_limit_minimum, 8);
  EXPECT_EQ(p.admin_listen, "127.0.0.1:0");
}

TEST(AutoscaleConfigTest, AdminOff) {
  auto c = parse(std::string("target: {kind: local}\nadmin: off\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->policy.admin_listen, "");
}

TEST(AutoscaleConfigTest, UnknownKeyHasLocationAndSuggestion) {
  auto c = parse(std::string("target: {kind: local}\nsync_perod: 5s\n") + kHpa);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:2:1"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("did you mean 'sync_period'"), std::string::npos)
      << c.status().message();
}

TEST(AutoscaleConfigTest, NestedUnknownKeyAndBadValuesAllReported) {
  auto c = parse(std::string(R"(target: {kind: local}
panic: {enabled: true, treshold: 2}
predictive: {enabled: maybe, quantile: 1.5}
sync_period: 0s
)") + kHpa);
  ASSERT_FALSE(c.isOk());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("autoscale.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'threshold'"), std::string::npos) << m;
  EXPECT_NE(m.find("predictive.enabled"), std::string::npos) << m;
  EXPECT_NE(m.find("predictive.quantile"), std::string::npos) << m;
  EXPECT_NE(m.find("sync_period"), std::string::npos) << m;
}

TEST(AutoscaleConfigTest, PanicMetricAndItsTarget) {
  // Explicit target.
  auto c = parse(std::string("target: {kind: local}\npanic: {enabled: true, metric: inflight, "
                             "target: 1.5, threshold: 1.2}\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->policy.panic.metric, "inflight");
  EXPECT_DOUBLE_EQ(c->policy.panic.target, 1.5);
  EXPECT_DOUBLE_EQ(c->policy.panic.threshold, 1.2);
  // Without a target: the HPA spec's AverageValue target of the same metric.
  c = parse(std::string("target: {kind: local}\npanic: {enabled: true, metric: "
                        "requests_per_second}\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->policy.panic.target, 100);
  // No metric: the HPA proposal, no target.
  c = parse(std::string("target: {kind: local}\npanic: {enabled: true}\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->policy.panic.metric, "");
  EXPECT_DOUBLE_EQ(c->policy.panic.target, 0);
}

TEST(AutoscaleConfigTest, PanicMetricErrorsNameFileLineAndField) {
  auto error = [](const std::string& panic) {
    auto c = parse("target: {kind: local}\n" + panic + "\n" + kHpa);
    return c.isOk() ? std::string() : c.status().message();
  };
  std::string m = error("panic: {enabled: true, metric: inflight}");
  EXPECT_NE(m.find("autoscale.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("panic.metric"), std::string::npos) << m;
  EXPECT_NE(m.find("needs panic.target"), std::string::npos) << m;
  m = error("panic: {enabled: true, target: 5}");
  EXPECT_NE(m.find("autoscale.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("panic.target"), std::string::npos) << m;
  EXPECT_NE(m.find("needs panic.metric"), std::string::npos) << m;
  m = error("panic: {enabled: true, metric: inflight, target: 0}");
  EXPECT_NE(m.find("panic.target"), std::string::npos) << m;
  m = error("panic: {enabled: true, metric: \"\", target: 1}");
  EXPECT_NE(m.find("panic.metric"), std::string::npos) << m;
  EXPECT_NE(m.find("must not be empty"), std::string::npos) << m;
  m = error("panic: {enabled: true, metrc: inflight}");
  EXPECT_NE(m.find("did you mean 'metric'"), std::string::npos) << m;
}

TEST(AutoscaleConfigTest, TargetRequiredAndKindChecked) {
  auto c = parse(kHpa);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("target"), std::string::npos) << c.status().message();

  c = parse(std::string("target: {kind: kubernetes, deployment: m}\n") + kHpa);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->target_kind, TargetKind::kKubernetes);

  c = parse(std::string("target: {kind: locl}\n") + kHpa);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("did you mean 'local'"), std::string::npos)
      << c.status().message();
}

TEST(AutoscaleConfigTest, HpaOrScaledObjectRequired) {
  auto c = parse("target: {kind: local}\nsync_period: 5s\n");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("'hpa'"), std::string::npos) << c.status().message();
}

TEST(AutoscaleConfigTest, HpaErrorsComeFromTheHpaParserWithLocation) {
  auto c = parse(R"(target: {kind: local}
hpa:
  spec:
    minReplicas: 2
    maxReplicas: 4
    metrics:
      - type: Resorce
)");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:7:"), std::string::npos)
      << c.status().message();
}

TEST(AutoscaleConfigTest, PolicyAloneIgnoresTargetAndAcceptsExtraKeys) {
  auto root = config::Node::loadString(std::string("traffic: {rps: 10}\n") + kHpa, "sim.yaml");
  ASSERT_TRUE(root.isOk());
  auto p = parseAutoscalePolicy(*root, {"traffic"});
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->hpa.max_replicas, 20);
  EXPECT_FALSE(parseAutoscalePolicy(*root).isOk());  // `traffic` unknown without extra_keys
}

constexpr const char* kScaledObject = R"(
scaled_object:
  apiVersion: keda.sh/v1alpha1
  kind: ScaledObject
  metadata: {name: model-server-scaler}
  spec:
    scaleTargetRef: {name: model-server}
    minReplicaCount: 2
    maxReplicaCount: 50
    triggers:
      - type: prometheus
        metadata:
          serverAddress: http://127.0.0.1:9090
          metricName: model_request_queue_length
          query: sum(model_request_queue_length{deployment="model-server"})
          threshold: "50"
)";

TEST(AutoscaleConfigTest, ScaledObjectAloneBecomesKedasHpa) {
  auto c = parse(std::string("target: {kind: local}\n") + kScaledObject);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const AutoscalePolicy& p = c->policy;
  EXPECT_FALSE(p.has_hpa);
  EXPECT_TRUE(p.has_scaled_object);
  ASSERT_TRUE(p.scaled_object.has_value());
  EXPECT_EQ(p.hpa.min_replicas, 2);
  EXPECT_EQ(p.hpa.max_replicas, 50);
  ASSERT_EQ(p.hpa.metrics.size(), 1u);
  EXPECT_EQ(p.hpa.metrics[0].type, MetricSourceType::kExternal);
  EXPECT_EQ(p.hpa.metrics[0].name, "s0-prometheus");
  EXPECT_EQ(p.hpa.metrics[0].target.average_value_milli, 50'000);
}

TEST(AutoscaleConfigTest, HpaAndScaledObjectMerge) {
  auto c = parse(std::string("target: {kind: local}\n") + kHpa + kScaledObject);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const AutoscalePolicy& p = c->policy;
  EXPECT_EQ(p.hpa.max_replicas, 20);  // the hpa's bounds
  ASSERT_EQ(p.hpa.metrics.size(), 2u);
  EXPECT_EQ(p.hpa.metrics[0].type, MetricSourceType::kPods);
  EXPECT_EQ(p.hpa.metrics[1].type, MetricSourceType::kExternal);
}

TEST(AutoscaleConfigTest, ScaledObjectErrorsNameTheField) {
  auto c = parse(R"(target: {kind: local}
scaled_object:
  spec:
    scaleTargetRef: {name: m}
    triggers:
      - type: kafka
        metadata: {}
)");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:6:"), std::string::npos)
      << c.status().message();
}

TEST(AutoscaleConfigTest, BadAdminAddress) {
  auto c = parse(std::string("target: {kind: local}\nadmin: {listen: nowhere}\n") + kHpa);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("admin.listen"), std::string::npos) << c.status().message();
}

TEST(AutoscaleConfigTest, TriggerAuthenticationsResolveAuthenticationRef) {
  const std::string so = R"(target: {kind: local}
scaled_object:
  spec:
    scaleTargetRef: {name: m}
    triggers:
      - type: prometheus
        authenticationRef: {name: prom}
        metadata:
          serverAddress: https://prometheus:9090
          query: up
          threshold: "5"
          authModes: basic
)";
  auto c = parse(so + "trigger_authentications:\n  prom: {username: u, password: p}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const PrometheusTrigger& t = c->policy.scaled_object->triggers.at(0);
  EXPECT_EQ(t.auth_ref, "prom");
  EXPECT_EQ(t.auth.username, "u");
  EXPECT_EQ(t.auth.password, "p");
  c = parse(so);  // no block of that name
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:7:35: scaled_object.spec.triggers[0]."
                                      "authenticationRef.name: no trigger_authentications entry "
                                      "named 'prom'"),
            std::string::npos)
      << c.status().message();
  c = parse(so + "trigger_authentications:\n  prom: {ca_file: /nonexistent/ca.pem}\n");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("autoscale.yaml:14:19: trigger_authentications.prom.ca_file: "
                                      "cannot read /nonexistent/ca.pem"),
            std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace surge::autoscale
