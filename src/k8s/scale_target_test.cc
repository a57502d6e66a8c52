// Contract tests of the scale-subresource actuator and the metrics.k8s.io source against the stub
// API server (tests/support/k8s_stub_api.h).
#include "k8s/scale_target.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "config/node.h"
#include "support/k8s_stub_api.h"

namespace surge::k8s {
namespace {

using nlohmann::json;

// 2026-11-28T10:01:00Z in ns since the Unix epoch.
constexpr int64_t kWallNow = 1795860060LL * 1000000000LL;

class ScaleTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stub_.setDeployment("surge", "model-server", 2, 2, "app=model-server");
    ApiConfig c;
    c.server = stub_.url();
    c.timeout = std::chrono::seconds(5);
    api_ = std::make_shared<ApiClient>(c);
    KubernetesTargetOptions o;
    o.ns = "surge";
    o.deployment = "model-server";
    o.port = 8000;
    o.wall_now_ns = [] { return kWallNow; };
    target_ = std::make_unique<KubernetesScaleTarget>(api_, o, clock_);
  }

  testing::K8sStubApi stub_;
  ManualClock clock_;
  std::shared_ptr<ApiClient> api_;
  std::unique_ptr<KubernetesScaleTarget> target_;
};

TEST_F(ScaleTargetTest, GetScaleReadsSpecStatusAndSelector) {
  stub_.setDeployment("surge", "model-server", 3, 2, "app=model-server,tier=gpu");
  auto s = target_->getScale();
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->spec_replicas, 3);
  EXPECT_EQ(s->status_replicas, 2);
  EXPECT_EQ(target_->selector(), "app=model-server,tier=gpu");
}

TEST_F(ScaleTargetTest, SetScalePutsWithResourceVersion) {
  ASSERT_TRUE(target_->setScale(5).isOk());
  EXPECT_EQ(stub_.specReplicas("surge", "model-server"), 5);
  auto reqs = stub_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[1].method, "PUT");
  json body = json::parse(reqs[1].body);
  EXPECT_EQ(body["spec"]["replicas"], 5);
  EXPECT_TRUE(body["metadata"]["resourceVersion"].is_string());
}

TEST_F(ScaleTargetTest, SetScaleRetriesOnConflict) {
  stub_.conflictNextWrites(2);
  Status s = target_->setScale(7);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(stub_.specReplicas("surge", "model-server"), 7);
  EXPECT_EQ(stub_.count("PUT", "/scale"), 3);
  EXPECT_EQ(stub_.count("GET", "/scale"), 3);  // re-read after each conflict
}

TEST_F(ScaleTargetTest, SetScaleGivesUpAfterTooManyConflicts) {
  stub_.conflictNextWrites(10);
  Status s = target_->setScale(7);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("409"), std::string::npos) << s.message();
  EXPECT_EQ(stub_.specReplicas("surge", "model-server"), 2);
  EXPECT_EQ(stub_.count("PUT", "/scale"), 4);  // 1 + max_conflict_retries
}

TEST_F(ScaleTargetTest, MissingDeploymentIsNotFoundNamingIt) {
  KubernetesTargetOptions o;
  o.ns = "surge";
  o.deployment = "nope";
  KubernetesScaleTarget t(api_, o, clock_);
  auto s = t.getScale();
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("deployment surge/nope not found"), std::string::npos)
      << s.status().message();
  EXPECT_FALSE(t.setScale(3).isOk());
  EXPECT_EQ(stub_.count("PUT", "/scale"), 0);
}

TEST_F(ScaleTargetTest, ForbiddenWriteIsAnErrorAndNothingChanges) {
  stub_.failNext(403, 1, "/scale");
  auto s = target_->getScale();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("forbidden"), std::string::npos) << s.status().message();
  stub_.failNext(401, 5, "/scale");
  EXPECT_FALSE(target_->setScale(9).isOk());
  EXPECT_EQ(stub_.specReplicas("surge", "model-server"), 2);
}

TEST_F(ScaleTargetTest, ListPodsMapsPhaseReadinessRequestsAndAddress) {
  json ready = testing::stubPod("p1", {{"app", "model-server"}}, "10.1.0.5", true, "500m", "1Gi");
  json unready = testing::stubPod("p2", {{"app", "model-server"}}, "10.1.0.6", false, "250m", "");
  unready["metadata"]["deletionTimestamp"] = "2026-11-28T10:00:50Z";
  unready["status"]["phase"] = "Pending";
  // A second container adds its requests.
  ready["spec"]["containers"].push_back(
      {{"name", "sidecar"}, {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "1Mi"}}}}}});
  json other = testing::stubPod("x", {{"app", "other"}}, "10.1.0.7", true, "1", "1Gi");
  stub_.setPods("surge", {ready, unready, other});
  auto pods = target_->listPods();
  ASSERT_TRUE(pods.isOk()) << pods.status().message();
  ASSERT_EQ(pods->size(), 2u);
  const auto& p1 = (*pods)[0];
  EXPECT_EQ(p1.name, "p1");
  EXPECT_EQ(p1.phase, "Running");
  EXPECT_FALSE(p1.deleted);
  EXPECT_EQ(p1.address, "10.1.0.5:8000");
  EXPECT_EQ(p1.requests_milli.at("cpu"), 600);
  EXPECT_EQ(p1.requests_milli.at("memory"), (1073741824LL + 1048576LL) * 1000);
  ASSERT_TRUE(p1.ready.has_value());
  EXPECT_TRUE(p1.ready->status);
  // startTime 10:00:00Z is 60 s before the wall "now" 10:01:00Z.
  ASSERT_TRUE(p1.start_time.has_value());
  EXPECT_EQ(clock_.now() - *p1.start_time, std::chrono::seconds(60));
  EXPECT_EQ(clock_.now() - p1.ready->last_transition, std::chrono::seconds(30));
  const auto& p2 = (*pods)[1];
  EXPECT_EQ(p2.phase, "Pending");
  EXPECT_TRUE(p2.deleted);
  EXPECT_FALSE(p2.ready->status);
  EXPECT_EQ(p2.requests_milli.at("cpu"), 250);
  EXPECT_EQ(p2.requests_milli.count("memory"), 0u);  // a container without a memory request
  // The list was filtered by the scale's selector.
  EXPECT_EQ(stub_.count("GET", "/pods?labelSelector=app%3Dmodel-server"), 1);
}

TEST_F(ScaleTargetTest, ListPodsFailsOnForbidden) {
  ASSERT_TRUE(target_->getScale().isOk());
  stub_.failNext(403, 1, "/pods");
  auto pods = target_->listPods();
  ASSERT_FALSE(pods.isOk());
  EXPECT_EQ(httpCodeOf(pods.status()), 403);
}

TEST_F(ScaleTargetTest, ResourceMetricsFromMetricsApi) {
  ASSERT_TRUE(target_->getScale().isOk());
  json m1{{"metadata", {{"name", "p1"}, {"labels", {{"app", "model-server"}}}}},
          {"timestamp", "2026-11-28T10:00:45Z"},
          {"window", "30s"},
          {"containers",
           json::array({{{"name", "server"}, {"usage", {{"cpu", "250m"}, {"memory", "100Mi"}}}},
                        {{"name", "sidecar"}, {"usage", {{"cpu", "50000000n"}, {"memory", "0"}}}}})}};
  json m2 = m1;
  m2["metadata"]["name"] = "p2";
  m2["containers"] = json::array({{{"name", "server"}, {"usage", {{"cpu", "1"}}}}});
  stub_.setPodMetrics("surge", {m1, m2});
  KubernetesResourceMetrics metrics(
      api_, "surge", [this] { return target_->selector(); }, clock_, nullptr,
      [] { return kWallNow; });
  autoscale::HpaSpec spec;
  autoscale::MetricSpec cpu;
  cpu.name = "cpu";
  autoscale::MetricSpec mem;
  mem.name = "memory";
  spec.metrics = {cpu, mem};
  auto snap = metrics.collect(spec, {}, clock_.now());
  EXPECT_TRUE(snap.failed.empty());
  ASSERT_EQ(snap.pod_metrics["cpu"].size(), 2u);
  EXPECT_EQ(snap.pod_metrics["cpu"]["p1"].value_milli, 300);
  EXPECT_EQ(snap.pod_metrics["cpu"]["p2"].value_milli, 1000);
  EXPECT_EQ(snap.pod_metrics["cpu"]["p1"].window, std::chrono::seconds(30));
  EXPECT_EQ(clock_.now() - snap.pod_metrics["cpu"]["p1"].timestamp, std::chrono::seconds(15));
  EXPECT_EQ(snap.pod_metrics["memory"]["p1"].value_milli, 100LL * 1048576 * 1000);
  EXPECT_EQ(snap.pod_metrics["memory"].count("p2"), 0u);  // no memory usage reported

  stub_.failNext(503, 1, "metrics.k8s.io");
  auto failed = metrics.collect(spec, {}, clock_.now());
  EXPECT_EQ(failed.failed.size(), 2u);
  EXPECT_NE(failed.failed["cpu"].find("503"), std::string::npos) << failed.failed["cpu"];
  EXPECT_TRUE(failed.pod_metrics.empty());
}

StatusOr<KubernetesTargetSpec> parse(const std::string& yaml) {
  auto n = config::Node::loadString(yaml, "autoscale.yaml");
  if (!n.isOk()) return n.status();
  return parseKubernetesTarget((*n)["target"]);
}

TEST(KubernetesTargetConfig, ParsesTheManifestsTarget) {
  auto s = parse("target:\n  kind: kubernetes\n  namespace: surge\n  deployment: model-server\n");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->ns, "surge");
  EXPECT_EQ(s->deployment, "model-server");
  EXPECT_EQ(s->in_cluster, "auto");
  EXPECT_EQ(s->port, 8000);
  auto s2 = parse("target: {kind: kubernetes, deployment: m, in_cluster: false, "
                  "kubeconfig: /k/config, port: 9000}\n");
  ASSERT_TRUE(s2.isOk()) << s2.status().message();
  EXPECT_EQ(s2->ns, "default");
  EXPECT_EQ(s2->in_cluster, "false");
  EXPECT_EQ(s2->kubeconfig, "/k/config");
  EXPECT_EQ(s2->port, 9000);
}

TEST(KubernetesTargetConfig, ErrorsNameFileLineColumnAndField) {
  auto typo = parse("target:\n  kind: kubernetes\n  deployment: m\n  namepsace: x\n");
  ASSERT_FALSE(typo.isOk());
  EXPECT_NE(typo.status().message().find("autoscale.yaml:4:"), std::string::npos)
      << typo.status().message();
  EXPECT_NE(typo.status().message().find("namespace"), std::string::npos);
  auto missing = parse("target: {kind: kubernetes, namespace: x}\n");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("deployment"), std::string::npos);
  auto bad = parse("target: {kind: kubernetes, deployment: Model_Server}\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("DNS-1123"), std::string::npos);
  auto ic = parse("target: {kind: kubernetes, deployment: m, in_cluster: maybe}\n");
  ASSERT_FALSE(ic.isOk());
}

TEST(KubernetesTargetFactory, BuildsFromAKubeconfigWithoutContactingTheServer) {
  std::string path = ::testing::TempDir() + "/factory-kubeconfig";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
               "clusters: [{name: c, cluster: {server: \"http://127.0.0.1:1\"}}]\n"
               "users: [{name: u, user: {token: t}}]\n",
               f);
    std::fclose(f);
  }
  KubernetesTargetSpec spec;
  spec.ns = "surge";
  spec.deployment = "m";
  spec.kubeconfig = path;
  ManualClock clock;
  auto t = makeKubernetesTarget(spec, clock);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->api->config().server, "http://127.0.0.1:1");
  EXPECT_NE(t->target, nullptr);
  EXPECT_NE(t->metrics, nullptr);
  // Unreachable: a visible error, not a crash.
  auto s = t->target->getScale();
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);

  spec.kubeconfig = ::testing::TempDir() + "/no-such-kubeconfig";
  EXPECT_FALSE(makeKubernetesTarget(spec, clock).isOk());
}

}  // namespace
}  // namespace surge::k8s
