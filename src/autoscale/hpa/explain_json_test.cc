// `surge autoscale explain` JSON: golden cases (JSON in → JSON out, worked by hand against the
// Kubernetes controller; docs/autoscaling.md explains each), errors naming the field, RFC 3339.
#include "autoscale/hpa/explain_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "autoscale/hpa/hpa.h"

namespace surge::autoscale {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void expectGolden(const std::string& name) {
  const std::string dir = std::string(SURGE_HPA_TESTDATA) + "/explain/";
  auto out = explain(readFile(dir + name + ".in.json"), name + ".in.json");
  ASSERT_TRUE(out.isOk()) << out.status().message();
  nlohmann::json got = nlohmann::json::parse(out.value());
  nlohmann::json want = nlohmann::json::parse(readFile(dir + name + ".out.json"));
  EXPECT_EQ(got, want) << "got:\n" << got.dump(2) << "\nwant:\n" << want.dump(2);
}

TEST(ExplainJsonTest, GoldenCpuScaleUp) { expectGolden("cpu_scale_up"); }
TEST(ExplainJsonTest, GoldenKedaRateLimited) { expectGolden("keda_rate_limited"); }
TEST(ExplainJsonTest, GoldenPartialFailureHold) { expectGolden("partial_failure_hold"); }
TEST(ExplainJsonTest, GoldenRateLimitedScaleDown) { expectGolden("rate_limited_scale_down"); }
// A Pods metric exactly at its target with one pod missing a sample: no back-fill, hold at 4.
TEST(ExplainJsonTest, GoldenPodsAtTargetMissingHold) { expectGolden("pods_at_target_missing_hold"); }
// No sample at all: the metric fails, and its pods are still reported as grouped.
TEST(ExplainJsonTest, GoldenErrorStillGrouped) { expectGolden("error_still_grouped"); }

TEST(ExplainJsonTest, OutputKeysInPageOrder) {
  auto out = explain(R"({"now": "2024-01-01T00:00:00Z", "hpa": {"spec": {"maxReplicas": 3}},
                         "scale": {"specReplicas": 0}})",
                     "in.json");
  ASSERT_TRUE(out.isOk()) << out.status().message();
  const std::string& s = out.value();
  size_t a = s.find("\"desiredReplicas\""), b = s.find("\"scaled\""), c = s.find("\"metrics\""),
         d = s.find("\"proposal\""), e = s.find("\"stabilizedReplicas\""),
         f = s.find("\"condition\""), g = s.find("\"history\"");
  EXPECT_TRUE(a < b && b < c && c < d && d < e && e < f && f < g) << s;
  EXPECT_NE(s.find("ScalingDisabled"), std::string::npos);
}

std::string errorOf(const std::string& json) {
  auto in = parseExplainInput(json, "in.json");
  EXPECT_FALSE(in.isOk()) << json;
  return in.isOk() ? "" : in.status().message();
}

TEST(ExplainJsonTest, BadInputNamesTheField) {
  EXPECT_EQ(errorOf(R"({"hpa": {}, "scale": {"specReplicas": 1}})"),
            "in.json:1:9: hpa.spec: missing required field");
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3, "metrics": [{"type": "Custom"}]}},
                        "scale": {"specReplicas": 1}})")
                .find("hpa.spec.metrics[0].type: unknown value 'Custom'"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 1},
                        "pods": [{"name": "a", "requests": {"cpu": "lots"}}]})")
                .find("pods[0].requests.cpu: malformed quantity 'lots'"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}})").find("scale: missing required"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 1},
                        "now": "yesterday"})")
                .find("now: malformed time 'yesterday'"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 1},
                        "controler": {}})")
                .find("unknown field 'controler' (did you mean 'controller'?)"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 1},
                        "controller": {"downscaleStabilizationWindow": "5 minutes"}})")
                .find("controller.downscaleStabilizationWindow"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 1},
                        "pods": [{"name": "a", "ready": {"status": "Maybe",
                                  "lastTransitionTime": "2024-01-01T00:00:00Z"}}]})")
                .find("pods[0].ready.status: unknown value 'Maybe'"),
            std::string::npos);
  // The example of docs/autoscaling.md, verbatim.
  auto doc = parseExplainInput(R"({"hpa": {"spec": {"maxReplicas": 3, "metrics": [{"type": "Custom"}]}}, "scale": {"specReplicas": 1}})",  // NOLINT
                               "<stdin>");
  ASSERT_FALSE(doc.isOk());
  EXPECT_EQ(doc.status().message(),
            "<stdin>:1:58: hpa.spec.metrics[0].type: unknown value 'Custom' (expected one of: "
            "Resource, ContainerResource, Pods, Object, External)");
  EXPECT_FALSE(errorOf("[1, 2]").empty());
  EXPECT_FALSE(errorOf("{not json").empty());
}

TEST(ExplainJsonTest, ControllerOptionsAndShorthands) {
  auto in = parseExplainInput(R"({"now": "2024-01-01T00:00:00Z",
      "hpa": {"spec": {"maxReplicas": 3}}, "scale": {"specReplicas": 2, "statusReplicas": 1},
      "podMetrics": {"cpu": {"a": "250m"}}, "externalMetrics": {"q": 7},
      "controller": {"tolerance": 0.2, "cpuInitializationPeriod": "1m",
                     "initialReadinessDelay": "10s", "downscaleStabilizationWindow": "2m30s",
                     "scaleUpLimitFactor": 3, "scaleUpLimitMinimum": 2}})",
                              "in.json");
  ASSERT_TRUE(in.isOk()) << in.status().message();
  EXPECT_EQ(in->scale.status_replicas, 1);
  EXPECT_EQ(in->metrics.pod_metrics["cpu"]["a"].value_milli, 250);
  EXPECT_EQ(in->metrics.pod_metrics["cpu"]["a"].timestamp, in->now);  // defaults to now
  EXPECT_EQ(in->metrics.external_metrics["q"], std::vector<int64_t>{7000});
  EXPECT_DOUBLE_EQ(in->controller.tolerance, 0.2);
  EXPECT_EQ(in->controller.cpu_initialization_period, std::chrono::minutes(1));
  EXPECT_EQ(in->controller.downscale_stabilization_window, std::chrono::seconds(150));
  EXPECT_EQ(in->controller.scale_up_limit_minimum, 2);
  EXPECT_FALSE(in->history.has_value());
}

TEST(ExplainJsonTest, Rfc3339) {
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z").value().time_since_epoch().count(), 0);
  EXPECT_EQ(parseRfc3339("1970-01-01T01:00:00+01:00").value().time_since_epoch().count(), 0);
  EXPECT_EQ(parseRfc3339("2024-05-01T12:00:00.25Z").value().time_since_epoch().count(),
            1714564800250000000);
  EXPECT_EQ(formatRfc3339(parseRfc3339("2024-02-29T23:59:59.5-02:30").value()),
            "2024-03-01T02:29:59.5Z");
  EXPECT_EQ(formatRfc3339(TimePoint(Duration(1714564800000000000))), "2024-05-01T12:00:00Z");
  for (const char* bad : {"2024-05-01", "2024-05-01 12:00:00Z", "2024-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z",
                          "2024-05-01T12:00:00Zjunk", "4143-01-01T00:00:00Z",
                          "1200-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parseRfc3339(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace surge::autoscale
