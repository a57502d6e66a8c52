// The KEDA Prometheus trigger end to end: `surge serve` (a synthetic model: 60 ms per request,
// one instance, no batching) scraped every second by Debian's `prometheus` with the static label
// deployment="model-server"; `surge load` puts light load and then overload on it; the reference
// ScaledObject (serverAddress pointed at that Prometheus) runs its two queries through
// KedaScaler/PrometheusClient, and the snapshot goes through the HPA core's runSync. Then
// Prometheus is stopped: the metrics fail with a reason and the HPA holds. Every wait is bounded;
// every process is stopped by the fixture.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "autoscale/hpa/hpa.h"
#include "autoscale/keda.h"
#include "autoscale/sources/keda_scaler.h"
#include "config/node.h"
#include "metrics/text_parser.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
namespace as = surge::autoscale;

constexpr double kSyntheticLatencyS = 0.060;

// The reference KEDA ScaledObject with serverAddress pointing at the test's Prometheus.
std::string seedScaledObject(const std::string& server) {
  return R"(apiVersion: keda.sh/v1alpha1
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
        serverAddress: )" +
         server + R"(
        metricName: model_request_queue_length
        query: sum(model_request_queue_length{deployment="model-server"})
        threshold: "50"
    - type: prometheus
      metadata:
        serverAddress: )" +
         server + R"(
        metricName: model_latency_p99
        query: histogram_quantile(0.99, rate(model_latency_bucket[1m]))
        threshold: "0.1"  # 100ms
)";
}

class PrometheusIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    writeModel(dir_ / "repo", "m",
               syntheticConfig(1,
                               "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
                               "parameters { key: \"base_latency_us\" value { string_value: "
                               "\"60000\" } }\n"));
    std::filesystem::create_directories(dir_ / "tsdb");
  }
  void TearDown() override {
    if (load_) load_->stop(1000ms);
    prometheus_.stop(3000ms);
    serve_.stop(2000ms);
  }

  void startServe() {
    ASSERT_TRUE(testing::startServe(serve_, dir_ / "repo", dir_.file("serve.log"), {}, 15s));
    serve_port_ = serve_.port();
  }

  void startPrometheus() {
    prom_port_ = freePort();
    ASSERT_GT(prom_port_, 0);
    const std::string config = dir_.write(
        "prometheus.yml",
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: model-server\n    scrape_interval: 1s\n"
        "    scrape_timeout: 1s\n    static_configs:\n"
        "      - targets: ['127.0.0.1:" +
            std::to_string(serve_port_) +
            "']\n        labels:\n          deployment: model-server\n");
    // Prometheus prints nothing on stdout: started without a ready line, then /-/ready polled.
    std::string err;
    ASSERT_TRUE(prometheus_.process().start(
        {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir_.file("tsdb"),
         "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
         "--storage.tsdb.retention.time=1h", "--log.level=warn"},
        &err, dir_.file("prometheus.log")))
        << err;
    ASSERT_TRUE(waitUntil(
        [&] {
          return !prometheus_.running() || httpGet(prom_port_, "/-/ready", 1000ms).status == 200;
        },
        30s, 100ms, "prometheus ready"))
        << readFile(dir_ / "prometheus.log");
    ASSERT_TRUE(prometheus_.running()) << readFile(dir_ / "prometheus.log");
  }

  std::string promUrl() const { return "http://127.0.0.1:" + std::to_string(prom_port_); }

  std::unique_ptr<Process> startLoad(int concurrency, const std::string& duration) {
    auto p = std::make_unique<Process>();
    std::string err;
    EXPECT_TRUE(
        p->start({surgeBinary(), "load", "--url", "http://127.0.0.1:" + std::to_string(serve_port_),
                  "--model", "m", "--concurrency", std::to_string(concurrency), "--duration",
                  duration, "--timeout", "20s"},
                 &err, dir_.file("load.log")))
        << err;
    return p;
  }

  ScratchDir dir_{"prom-it"};
  ServerProcess serve_, prometheus_;
  std::unique_ptr<Process> load_;
  int serve_port_ = 0;
  int prom_port_ = 0;
};

// ceil(total / target) unless within the tolerance of the current replicas (GetExternalPerPod
// MetricReplicas).
int32_t expectedProposal(int64_t total_milli, int64_t target_milli, int32_t current) {
  double ratio = static_cast<double>(total_milli) /
                 (static_cast<double>(target_milli) * static_cast<double>(current));
  if (std::fabs(ratio - 1.0) <= 0.1) return current;
  return static_cast<int32_t>((total_milli + target_milli - 1) / target_milli);
}

TEST_F(PrometheusIntegration, SeedQueriesThroughKedaScalerAndHpa) {
  ASSERT_NO_FATAL_FAILURE(startServe());
  ASSERT_NO_FATAL_FAILURE(startPrometheus());

  auto node = config::Node::loadString(seedScaledObject(promUrl()), "keda-scaledobject.yaml");
  ASSERT_TRUE(node.isOk()) << node.status().message();
  auto so = as::parseScaledObject(*node);
  ASSERT_TRUE(so.isOk()) << so.status().message();
  as::KedaScaler keda(*so, SteadyClock::instance().now());
  const as::HpaSpec& spec = keda.hpaSpec();
  ASSERT_EQ(spec.metrics.size(), 2u);

  // The target is up and scraped: the queue query answers 0 (a real series, not a null result).
  as::PrometheusClient prom(promUrl());
  ASSERT_TRUE(waitUntil(
      [&] {
        auto r = prom.query("up{deployment=\"model-server\"}");
        return r.isOk() && r->samples.size() == 1 && r->samples[0].value == 1;
      },
      20s, 250ms, "surge serve scraped (up == 1)"))
      << readFile(dir_ / "prometheus.log");
  auto idle = keda.collect(spec, {}, SteadyClock::instance().now());
  ASSERT_TRUE(idle.failed.empty()) << idle.failed.begin()->second;
  EXPECT_EQ(idle.external_metrics["s0-prometheus"].at(0), 0);

  // Light load (one connection): p99 from Prometheus lies in the bucket holding the synthetic
  // latency and agrees with the histogram on surge's own page.
  load_ = startLoad(1, "4s");
  auto rc = load_->wait(30s);
  ASSERT_TRUE(rc.has_value());
  ASSERT_EQ(*rc, 0) << readFile(dir_ / "load.log");
  load_.reset();
  auto page = metrics::parseText(httpGet(serve_port_, "/metrics").body);
  ASSERT_TRUE(page.isOk());
  auto local_p99 = page->quantile(0.99, "model_latency");
  ASSERT_TRUE(local_p99.has_value());
  int64_t p99_milli = 0;
  ASSERT_TRUE(waitUntil(
                      [&] {
                        auto s = keda.collect(spec, {}, SteadyClock::instance().now());
                        auto it = s.external_metrics.find("s1-prometheus");
                        if (it == s.external_metrics.end() || it->second.empty()) return false;
                        p99_milli = it->second[0];
                        // Wait for a scrape after the last request: Prometheus' p99 then matches
                        // surge's page.
                        return p99_milli > 0 && std::fabs(static_cast<double>(p99_milli) / 1000 -
                                                          *local_p99) < 0.1 * *local_p99;
                      },
                      20s, 250ms, "Prometheus' p99 within 10% of surge's page"))
      << "prometheus p99 " << p99_milli << "m, surge page p99 " << *local_p99;
  double p99 = static_cast<double>(p99_milli) / 1000;
  EXPECT_GT(p99, kSyntheticLatencyS * 0.8);  // 60 ms: the (50 ms, 100 ms] bucket
  EXPECT_LE(p99, 0.25);                      // at worst one bucket up on a loaded machine
  std::printf("light load: p99 prometheus %.4f s, surge page %.4f s (synthetic %.3f s)\n", p99,
              *local_p99, kSyntheticLatencyS);

  // Overload: 24 connections on a ~16 req/s model: the queue grows, Prometheus sees it.
  load_ = startLoad(24, "30s");
  as::MetricsSnapshot hot;
  ASSERT_TRUE(waitUntil(
      [&] {
        hot = keda.collect(spec, {}, SteadyClock::instance().now());
        return hot.failed.empty() && hot.external_metrics["s0-prometheus"].at(0) > 0;
      },
      30s, 250ms, "a queue seen through Prometheus"))
      << (hot.failed.empty() ? "queue stayed 0" : hot.failed.begin()->second);
  int64_t queue_milli = hot.external_metrics["s0-prometheus"][0];
  EXPECT_GE(queue_milli, 1000);
  EXPECT_LE(queue_milli, 24000);  // at most every connection's request waits
  std::printf("overload: queue %.1f, p99 %.3f s\n", static_cast<double>(queue_milli) / 1000,
              static_cast<double>(hot.external_metrics["s1-prometheus"][0]) / 1000);
  EXPECT_TRUE(keda.lastPoll().any_active);

  // The HPA core on that snapshot: proposal per metric = ceil(value / threshold).
  as::SyncInput in;
  in.now = SteadyClock::instance().now();
  in.spec = spec;
  in.scale = {2, 2};
  for (int i = 0; i < 2; ++i) {
    as::PodInfo p;
    p.name = "model-server-" + std::to_string(i);
    p.start_time = in.now - 10min;
    p.ready = as::ReadyCondition{true, in.now - 10min};
    in.pods.push_back(p);
  }
  in.metrics = hot;
  as::SyncResult res = as::runSync(in);
  ASSERT_EQ(res.metrics.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& m = res.metrics[i];
    ASSERT_TRUE(m.proposal.has_value()) << m.name << ": " << m.error.value_or("");
    int64_t v = hot.external_metrics[m.name][0];
    EXPECT_EQ(*m.proposal, expectedProposal(v, spec.metrics[i].target.average_value_milli, 2))
        << m.name << " value " << v << "m";
  }
  EXPECT_GE(res.desired_replicas, 2);
  EXPECT_LE(res.desired_replicas, 50);
  std::printf("runSync: proposals %d, %d → desired %d (%s)\n", *res.metrics[0].proposal,
              *res.metrics[1].proposal, res.desired_replicas, res.condition.reason.c_str());

  // Prometheus down: both metrics fail with the reason; the HPA holds the current replicas.
  prometheus_.stop(3000ms);
  auto down = keda.collect(spec, {}, SteadyClock::instance().now());
  EXPECT_TRUE(down.external_metrics.empty());
  ASSERT_EQ(down.failed.size(), 2u);
  EXPECT_NE(down.failed["s0-prometheus"].find("Connection refused"), std::string::npos)
      << down.failed["s0-prometheus"];
  in.now = SteadyClock::instance().now();
  in.metrics = down;
  in.scale = {5, 5};
  in.history = res.history;
  as::SyncResult held = as::runSync(in);
  EXPECT_EQ(held.desired_replicas, 5) << held.condition.reason << ": " << held.condition.message;
  for (const auto& m : held.metrics) EXPECT_TRUE(m.error.has_value()) << m.name;
  EXPECT_FALSE(keda.decide(5, in.now).scale_to.has_value());  // never to the minimum on no data
}

}  // namespace
}  // namespace surge::testing
