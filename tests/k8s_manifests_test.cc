// deploy/k8s is correct before anyone applies it: every object validates against the Kubernetes and
// KEDA schemas (tools/k8s-validate under Node.js), the Prometheus configuration passes `promtool
// check config`, the Grafana dashboard is JSON whose panels query metrics surge exports, and
// surge's own parsers accept the HPA, the ScaledObject and the autoscaler's config as shipped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "autoscale/autoscale_config.h"
#include "autoscale/hpa/hpa.h"
#include "autoscale/keda.h"
#include "config/node.h"
#include "support/process.h"

namespace surge {
namespace {

using namespace std::chrono_literals;
using surge::testing::Process;

std::filesystem::path sourceDir() {
  const char* s = std::getenv("SURGE_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}
std::filesystem::path k8sDir() { return sourceDir() / "deploy" / "k8s"; }

// Runs argv; returns the exit code and the stdout lines joined.
int run(const std::vector<std::string>& argv, std::string* out) {
  Process p;
  std::string err;
  const std::string log = ::testing::TempDir() + "/k8s-manifests-stderr.log";
  if (!p.start(argv, &err, log)) {
    *out = "cannot start " + argv[0] + ": " + err;
    return -1;
  }
  p.waitForLine("\x01never", 60s);  // reads stdout until EOF
  auto code = p.wait(10s);
  out->clear();
  for (const auto& l : p.lines()) *out += l + "\n";
  std::ifstream f(log);
  *out += std::string(std::istreambuf_iterator<char>(f), {});
  return code.value_or(-1);
}

TEST(K8sManifests, ValidateAgainstKubernetesAndKedaSchemas) {
  const auto validator = sourceDir() / "tools" / "k8s-validate";
  ASSERT_TRUE(std::filesystem::exists(validator / "node_modules" / "kubernetes-models"))
      << "run scripts/install-deps (npm ci in tools/k8s-validate)";
  std::string out;
  EXPECT_EQ(run({"node", (validator / "validate.mjs").string(), k8sDir().string()}, &out), 0)
      << out;
  // Every manifest file counted: at least the Deployments, Services, RBAC, HPA and ScaledObject.
  EXPECT_NE(out.find(" objects valid, 0 problems"), std::string::npos) << out;
}

TEST(K8sManifests, ValidatorRejectsABadObject) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "bad-k8s";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.yaml") << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                                     "spec: {replicas: two, selector: {}, template: {}}\n";
  std::string out;
  EXPECT_EQ(run({"node", (sourceDir() / "tools/k8s-validate/validate.mjs").string(), dir.string()},
                &out),
            1)
      << out;
  EXPECT_NE(out.find("/spec/replicas"), std::string::npos) << out;
}

TEST(K8sManifests, PrometheusConfigPassesPromtool) {
  std::string out;
  EXPECT_EQ(run({"promtool", "check", "config", (k8sDir() / "base/prometheus.yml").string()}, &out),
            0)
      << out;
}

TEST(K8sManifests, GrafanaDashboardQueriesExportedMetrics) {
  std::ifstream f(k8sDir() / "base/grafana-dashboard.json");
  nlohmann::json d = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(d.is_discarded());
  std::set<std::string> titles;
  for (const auto& p : d["panels"]) {
    titles.insert(p["title"].get<std::string>());
    ASSERT_FALSE(p["targets"].empty()) << p.dump();
  }
  // The five panels: RPS, p99, queue length, batch size, replicas.
  for (const char* needle : {"Requests per second", "p99", "Queue length", "batch size",
                             "Replicas"}) {
    bool found = false;
    for (const auto& t : titles) found |= t.find(needle) != std::string::npos;
    EXPECT_TRUE(found) << needle;
  }
  const std::string all = d.dump();
  for (const char* metric : {"surge_gateway_requests_total", "model_latency_bucket",
                             "model_request_queue_length", "surge_serve_batch_size_sum",
                             "surge_autoscaler_desired_replicas"}) {
    EXPECT_NE(all.find(metric), std::string::npos) << metric;
  }
}

TEST(K8sManifests, SurgeParsesTheShippedHpaScaledObjectAndAutoscalerConfig) {
  auto hpa = config::Node::loadFile((k8sDir() / "overlays/hpa/hpa.yaml").string());
  ASSERT_TRUE(hpa.isOk()) << hpa.status().message();
  auto spec = autoscale::parseHpaSpec(*hpa);
  ASSERT_TRUE(spec.isOk()) << spec.status().message();
  EXPECT_EQ(spec->min_replicas, 2);
  EXPECT_EQ(spec->max_replicas, 20);
  EXPECT_EQ(spec->metrics.size(), 3u);

  auto so = config::Node::loadFile((k8sDir() / "overlays/keda/scaledobject.yaml").string());
  ASSERT_TRUE(so.isOk()) << so.status().message();
  auto keda = autoscale::parseScaledObject(*so);
  ASSERT_TRUE(keda.isOk()) << keda.status().message();

  // The policy (HPA spec, predictive, admin); `target: {kind: kubernetes}` is the Kubernetes
  // actuator's to read.
  auto root = config::Node::loadFile(
      (k8sDir() / "overlays/surge-autoscaler/autoscale.yaml").string());
  ASSERT_TRUE(root.isOk()) << root.status().message();
  auto policy = autoscale::parseAutoscalePolicy(*root);
  ASSERT_TRUE(policy.isOk()) << policy.status().message();
  auto kind = (*root)["target"]["kind"].asString();
  ASSERT_TRUE(kind.isOk());
  EXPECT_EQ(*kind, "kubernetes");
}

}  // namespace
}  // namespace surge
