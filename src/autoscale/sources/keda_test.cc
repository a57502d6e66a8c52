#include "autoscale/keda.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

// The reference KEDA ScaledObject (examples/autoscale/keda.yaml's triggers), as written.
constexpr const char* kReference = R"(# keda-scaledobject.yaml
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

TEST(Keda, ParsesTheReferenceAsWritten) {
  auto so = parse(kReference);
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

TEST(Keda, ServerAddressIsNormalised) {
  auto addr = [](const std::string& a) -> std::string {
    auto so = parse("scaleTargetRef: {name: web}\ntriggers:\n  - type: prometheus\n"
                    "    metadata:\n      serverAddress: " + a +
                    "\n      query: up\n      threshold: '5'\n");
    return so.isOk() ? so->triggers[0].server_address : so.status().message();
  };
  EXPECT_EQ(addr("prometheus:9090"), "http://prometheus:9090");
  EXPECT_EQ(addr("http://prometheus:9090/"), "http://prometheus:9090");
  EXPECT_EQ(addr("HTTPS://p.example/prom"), "https://p.example/prom");
  EXPECT_EQ(addr("'[::1]:9090'"), "http://[::1]:9090");
}

TEST(Keda, HttpsServerAddress) {
  auto so = parse(
      "scaleTargetRef: {name: web}\ntriggers:\n  - type: prometheus\n    metadata:\n"
      "      serverAddress: https://prometheus.example:9090/prom\n      query: up\n"
      "      threshold: '5'\n      unsafeSsl: 'true'\n"
      "      customHeaders: X-Scope-OrgID=team-a, X-Client-Id=surge\n");
  ASSERT_TRUE(so.isOk()) << so.status().message();
  const auto& t = so->triggers[0];
  EXPECT_EQ(t.server_address, "https://prometheus.example:9090/prom");
  EXPECT_TRUE(t.auth.insecure_skip_verify);
  ASSERT_EQ(t.auth.headers.size(), 2u);
  EXPECT_EQ(t.auth.headers[0], (std::pair<std::string, std::string>{"X-Scope-OrgID", "team-a"}));
  EXPECT_EQ(t.auth.headers[1], (std::pair<std::string, std::string>{"X-Client-Id", "surge"}));
  EXPECT_TRUE(t.auth_modes.empty());
}

TEST(Keda, AuthenticationRefAndAuthModes) {
  TriggerAuthentications auths;
  auths["bearer"].bearer_token = "tok";
  auths["basic"].username = "alice";
  auths["basic"].password = "pw";
  auths["both"].bearer_token = "tok";
  auths["both"].headers = {{"X-A", "1"}};
  auto parseWith = [&](const std::string& ref, const std::string& extra) {
    auto n = config::Node::loadString(
        "scaleTargetRef: {name: web}\ntriggers:\n  - type: prometheus\n"
        "    authenticationRef: {name: " + ref + "}\n    metadata:\n"
        "      serverAddress: https://p:9090\n      query: up\n      threshold: '5'\n" + extra,
        "keda.yaml");
    return parseScaledObject(*n, &auths);
  };
  auto so = parseWith("bearer", "      authModes: bearer\n");
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->triggers[0].auth_ref, "bearer");
  EXPECT_EQ(so->triggers[0].auth.bearer_token, "tok");
  EXPECT_EQ(so->triggers[0].auth_modes, std::vector<std::string>{"bearer"});
  so = parseWith("basic", "");  // modes implied by the block
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->triggers[0].auth_modes, std::vector<std::string>{"basic"});
  so = parseWith("both", "      customHeaders: X-B=2\n      unsafeSsl: true\n");
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->triggers[0].auth.headers.size(), 2u);
  EXPECT_TRUE(so->triggers[0].auth.insecure_skip_verify);

  auto err = parseWith("bearer", "      authModes: basic\n");
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("keda.yaml:9:18: triggers[0].metadata.authModes: 'basic' "
                                        "needs username"),
            std::string::npos)
      << err.status().message();
  err = parseWith("bearer", "      authModes: bearer,digest\n");
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("unknown auth mode 'digest'"), std::string::npos);
  err = parseWith("basic", "      authModes: bearer\n");
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("'bearer' needs bearer_token or bearer_token_file in "
                                        "trigger_authentications.basic"),
            std::string::npos)
      << err.status().message();
  auths["bearer-basic"] = auths["basic"];
  auths["bearer-basic"].bearer_token = "tok";
  err = parseWith("bearer-basic", "      authModes: bearer\n");
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("but authModes does not include 'basic'"),
            std::string::npos)
      << err.status().message();
  err = parseWith("bearer", "      customHeaders: bad header=1\n");
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("not a valid header name"), std::string::npos);
  auto n = config::Node::loadString(
      "scaleTargetRef: {name: web}\ntriggers:\n  - type: prometheus\n    metadata:\n"
      "      serverAddress: http://p:9090\n      query: up\n      threshold: '5'\n"
      "      authModes: bearer\n",
      "keda.yaml");
  err = parseScaledObject(*n, &auths);
  ASSERT_FALSE(err.isOk());
  EXPECT_NE(err.status().message().find("authModes: needs authenticationRef"), std::string::npos)
      << err.status().message();
}

TEST(Keda, ErrorsNameFileLineAndField) {
  std::string base = "scaleTargetRef: {name: web}\ntriggers:\n  - type: ";
  EXPECT_EQ(errorOf(base + "kafka\n    metadata: {}\n"),
            "keda.yaml:3:11: triggers[0].type: trigger type 'kafka' is not supported by surge "
            "(supported: prometheus, surge-gateway)");
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
              "prometheus\n    metadata:\n      serverAddress: ftp://p:9090\n"
              "      query: up\n      threshold: 5\n");
  EXPECT_NE(m.find("keda.yaml:5:22: triggers[0].metadata.serverAddress: unsupported URL scheme "
                   "'ftp' in 'ftp://p:9090' (supported: http, https)"),
            std::string::npos)
      << m;
  m = errorOf(base +
              "prometheus\n    metadata:\n      serverAddress: http://p:x\n"
              "      query: up\n      threshold: 5\n");
  EXPECT_NE(m.find("triggers[0].metadata.serverAddress: malformed URL 'http://p:x': bad port"),
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
  m = errorOf(base +
              "prometheus\n    authenticationRef: {name: x}\n    metadata:\n"
              "      serverAddress: http://p:9090\n      query: up\n      threshold: 5\n");
  EXPECT_NE(m.find("keda.yaml:4:31: triggers[0].authenticationRef.name: no "
                   "trigger_authentications entry named 'x'"),
            std::string::npos)
      << m;

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

TEST(Keda, SurgeGatewayTrigger) {
  auto so = parse(R"(spec:
  scaleTargetRef: {name: model-server}
  minReplicaCount: 0
  cooldownPeriod: 30
  triggers:
    - type: surge-gateway
      metadata: {serverAddress: "127.0.0.1:9901/", threshold: "50", activationThreshold: "2",
                 timeout: 500}
)");
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->min_replica_count, 0);
  EXPECT_EQ(so->cooldown_period, 30s);
  ASSERT_EQ(so->triggers.size(), 1u);
  const PrometheusTrigger& t = so->triggers[0];
  EXPECT_EQ(t.type, "surge-gateway");
  EXPECT_EQ(t.server_address, "http://127.0.0.1:9901");  // normalised like a Prometheus address
  EXPECT_EQ(t.threshold, 50);
  EXPECT_EQ(t.activation_threshold, 2);
  EXPECT_EQ(t.timeout, std::optional<Duration>(500ms));
  EXPECT_EQ(t.externalMetricName(), "s0-surge-gateway");
  HpaSpec h = kedaHpaSpec(*so);
  EXPECT_EQ(h.min_replicas, 1);  // 0 is KEDA's own step (activation), never the HPA's
  ASSERT_EQ(h.metrics.size(), 1u);
  EXPECT_EQ(h.metrics[0].name, "s0-surge-gateway");
  EXPECT_EQ(h.metrics[0].target.average_value_milli, 50000);
}

TEST(Keda, SurgeGatewayTriggerErrors) {
  auto missing = parse(R"(spec:
  scaleTargetRef: {name: m}
  triggers:
    - type: surge-gateway
      metadata: {threshold: "5"}
)");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("keda.yaml:5:"), std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("serverAddress"), std::string::npos);
  auto query = parse(R"(spec:
  scaleTargetRef: {name: m}
  triggers:
    - type: surge-gateway
      metadata: {serverAddress: "http://127.0.0.1:9901", threshold: "5", query: "up"}
)");
  ASSERT_FALSE(query.isOk());
  EXPECT_NE(query.status().message().find("query"), std::string::npos);
  auto negative = parse(R"(spec:
  scaleTargetRef: {name: m}
  triggers:
    - type: surge-gateway
      metadata: {serverAddress: "http://127.0.0.1:9901", threshold: "5",
                 activationThreshold: "-1"}
)");
  ASSERT_FALSE(negative.isOk());
  EXPECT_NE(negative.status().message().find("activationThreshold"), std::string::npos);
  auto zero = parse(R"(spec:
  scaleTargetRef: {name: m}
  triggers:
    - type: surge-gateway
      metadata: {serverAddress: "http://127.0.0.1:9901", threshold: "0"}
)");
  ASSERT_FALSE(zero.isOk());
  EXPECT_NE(zero.status().message().find("threshold"), std::string::npos);
}

}  // namespace
}  // namespace surge::autoscale
