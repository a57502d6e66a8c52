#include "autoscale/sources/keda_scaler.h"

#include <gtest/gtest.h>

#include <deque>

#include "autoscale/sources/composite_collector.h"
#include "config/node.h"
#include "support/fake_http_server.h"
#include "autoscale/sources/scrape_collector.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

ScaledObjectSpec twoTriggers(const std::string& server) {
  ScaledObjectSpec so;
  so.name = "model-server-scaler";
  so.min_replica_count = 2;
  so.max_replica_count = 50;
  PrometheusTrigger q;
  q.index = 0;
  q.server_address = server;
  q.query = "sum(model_request_queue_length{deployment=\"model-server\"})";
  q.threshold = 50;
  PrometheusTrigger l = q;
  l.index = 1;
  l.query = "histogram_quantile(0.99, rate(model_latency_bucket[1m]))";
  l.threshold = 0.1;
  so.triggers = {q, l};
  return so;
}

TEST(KedaScaler, QueriesEveryTriggerFromPrometheus) {
  testing::FakeHttpServer prom([](const net::HttpRequest& r) {
    auto q = r.queryParam("query").value_or("");
    std::string v = q.rfind("sum(", 0) == 0 ? "120" : "0.25";
    return net::HttpResponse::json(
        200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},)"
             R"("value":[1700000000,")" +
                 v + R"("]}]}})");
  });
  ManualClock clock;
  KedaScaler k(twoTriggers(prom.url("")), clock.now());
  EXPECT_EQ(k.hpaSpec().metrics.size(), 2u);
  auto snap = k.collect(k.hpaSpec(), {}, clock.now());
  EXPECT_TRUE(snap.failed.empty()) << snap.failed.begin()->second;
  ASSERT_EQ(snap.external_metrics["s0-prometheus"].size(), 1u);
  EXPECT_EQ(snap.external_metrics["s0-prometheus"][0], 120000);
  EXPECT_EQ(snap.external_metrics["s1-prometheus"][0], 250);
  EXPECT_TRUE(k.lastPoll().any_active);
  EXPECT_EQ(prom.requests(), 2);
}

// From the config file to the query: a scheme-less serverAddress ("127.0.0.1:PORT", accepted as
// http like an address without a scheme always was) reaches Prometheus.
TEST(KedaScaler, SchemeLessServerAddressFromTheConfigIsQueried) {
  testing::FakeHttpServer prom([](const net::HttpRequest&) {
    return net::HttpResponse::json(
        200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},)"
             R"("value":[1700000000,"7"]}]}})");
  });
  std::string address = prom.url("");
  ASSERT_EQ(address.rfind("http://", 0), 0u) << address;
  address.erase(0, 7);
  while (!address.empty() && address.back() == '/') address.pop_back();
  auto node = config::Node::loadString(
      "scaleTargetRef: {name: web}\ntriggers:\n  - type: prometheus\n    metadata:\n"
      "      serverAddress: " + address + "\n      query: up\n      threshold: '5'\n",
      "keda.yaml");
  ASSERT_TRUE(node.isOk()) << node.status().message();
  auto so = parseScaledObject(*node);
  ASSERT_TRUE(so.isOk()) << so.status().message();
  EXPECT_EQ(so->triggers[0].server_address, "http://" + address);
  ManualClock clock;
  KedaScaler k(*so, clock.now());
  auto snap = k.collect(k.hpaSpec(), {}, clock.now());
  EXPECT_TRUE(snap.failed.empty()) << snap.failed.begin()->second;
  ASSERT_EQ(snap.external_metrics["s0-prometheus"].size(), 1u);
  EXPECT_EQ(snap.external_metrics["s0-prometheus"][0], 7000);
  EXPECT_EQ(prom.requests(), 1);
}

TEST(KedaScaler, PrometheusDownFailsMetricsWithReason) {
  std::string dead;
  {
    testing::FakeHttpServer gone;
    dead = gone.url("");
  }
  ManualClock clock;
  KedaScaler k(twoTriggers(dead), clock.now());
  auto snap = k.collect(k.hpaSpec(), {}, clock.now());
  EXPECT_TRUE(snap.external_metrics.empty());
  ASSERT_EQ(snap.failed.size(), 2u);
  EXPECT_NE(snap.failed["s0-prometheus"].find("Connection refused"), std::string::npos)
      << snap.failed["s0-prometheus"];
  // minReplicaCount 2 and errors: no activation step changes anything.
  auto d = k.decide(4, clock.now());
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "TriggerError");
}

TEST(KedaScaler, FallbackThenRecovery) {
  std::deque<StatusOr<double>> answers;
  ManualClock clock;
  auto so = twoTriggers("http://unused:1");
  so.triggers.resize(1);
  so.fallback = KedaFallback{2, 7};
  KedaScaler k(so, clock.now(), [&](const PrometheusTrigger&) {
    StatusOr<double> v = answers.front();
    answers.pop_front();
    return v;
  });
  for (int i = 0; i < 3; ++i) answers.push_back(unavailable("connect: Connection refused"));
  answers.push_back(StatusOr<double>(10.0));
  auto s1 = k.collect(k.hpaSpec(), {}, clock.now());
  auto s2 = k.collect(k.hpaSpec(), {}, clock.now());
  EXPECT_EQ(s1.failed.count("s0-prometheus"), 1u);
  EXPECT_EQ(s2.failed.count("s0-prometheus"), 1u);
  auto s3 = k.collect(k.hpaSpec(), {}, clock.now());  // 3 failures > failureThreshold 2
  EXPECT_TRUE(s3.failed.empty());
  EXPECT_EQ(s3.external_metrics["s0-prometheus"][0], 350000);  // 7 × 50
  EXPECT_TRUE(k.lastPoll().triggers[0].outcome.fallback);
  auto s4 = k.collect(k.hpaSpec(), {}, clock.now());
  EXPECT_EQ(s4.external_metrics["s0-prometheus"][0], 10000);
  EXPECT_FALSE(k.lastPoll().triggers[0].outcome.fallback);
}

TEST(KedaScaler, ZeroToOneAndBackThroughDecide) {
  double value = 0;
  ManualClock clock;
  auto so = twoTriggers("http://unused:1");
  so.triggers.resize(1);
  so.min_replica_count = 0;
  so.cooldown_period = 60s;
  so.triggers[0].activation_threshold = 5;
  KedaScaler k(so, clock.now(), [&](const PrometheusTrigger&) { return StatusOr<double>(value); });
  EXPECT_EQ(k.hpaSpec().min_replicas, 1);
  (void)k.poll(clock.now());
  clock.advance(1s);
  auto d = k.decide(1, clock.now());  // never active, initialCooldownPeriod 0 → 0
  EXPECT_EQ(d.scale_to, 0);
  value = 30;
  (void)k.poll(clock.now());
  d = k.decide(0, clock.now());
  EXPECT_EQ(d.scale_to, 1);
  value = 3;  // below activationThreshold: inactive
  clock.advance(30s);
  (void)k.poll(clock.now());
  EXPECT_FALSE(k.decide(1, clock.now()).scale_to.has_value());
  clock.advance(31s);
  (void)k.poll(clock.now());
  EXPECT_EQ(k.decide(1, clock.now()).scale_to, 0);
}

TEST(KedaScaler, UnknownExternalMetricFails) {
  ManualClock clock;
  auto so = twoTriggers("http://unused:1");
  KedaScaler k(so, clock.now(), [](const PrometheusTrigger&) { return StatusOr<double>(1.0); });
  HpaSpec spec = k.hpaSpec();
  MetricSpec other;
  other.type = MetricSourceType::kExternal;
  other.name = "queue_messages_ready";
  spec.metrics.push_back(other);
  auto snap = k.collect(spec, {}, clock.now());
  EXPECT_EQ(snap.failed.size(), 1u);
  EXPECT_NE(snap.failed["queue_messages_ready"].find("not a trigger"), std::string::npos);
}

TEST(CompositeCollector, RoutesExternalToKedaAndTheRestToScrape) {
  testing::FakeHttpServer pod;
  pod.setPage("# TYPE model_request_queue_length gauge\nmodel_request_queue_length 4\n");
  ManualClock clock;
  auto keda = std::make_shared<KedaScaler>(
      twoTriggers("http://unused:1"), clock.now(),
      [](const PrometheusTrigger& t) { return StatusOr<double>(t.index == 0 ? 60.0 : 0.2); });
  CompositeCollector c(std::make_shared<ScrapeCollector>(), keda);
  HpaSpec spec = keda->hpaSpec();
  MetricSpec pods;
  pods.type = MetricSourceType::kPods;
  pods.name = "model_request_queue_length";
  spec.metrics.push_back(pods);
  PodInfo p;
  p.name = "r1";
  p.address = pod.address();
  auto snap = c.collect(spec, {p}, clock.now());
  EXPECT_TRUE(snap.failed.empty()) << snap.failed.begin()->second;
  EXPECT_EQ(snap.external_metrics["s0-prometheus"][0], 60000);
  EXPECT_EQ(snap.external_metrics["s1-prometheus"][0], 200);
  EXPECT_EQ(snap.pod_metrics["model_request_queue_length"]["r1"].value_milli, 4000);

  CompositeCollector scrape_only(std::make_shared<ScrapeCollector>(), nullptr);
  snap = scrape_only.collect(spec, {p}, clock.now());
  EXPECT_EQ(snap.failed.count("s0-prometheus"), 1u);
  EXPECT_EQ(snap.pod_metrics["model_request_queue_length"]["r1"].value_milli, 4000);
}

}  // namespace
}  // namespace surge::autoscale
