#include "autoscale/sources/scrape_collector.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include "support/fake_http_server.h"
#include "autoscale/sources/proc_stats.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;

MetricSpec podsMetric(const std::string& name, std::map<std::string, std::string> labels = {}) {
  MetricSpec m;
  m.type = MetricSourceType::kPods;
  m.name = name;
  m.match_labels = std::move(labels);
  m.target.type = MetricTargetType::kAverageValue;
  m.target.average_value_milli = 100000;
  return m;
}

MetricSpec resourceMetric(const std::string& name) {
  MetricSpec m;
  m.type = MetricSourceType::kResource;
  m.name = name;
  m.target.average_utilization = 70;
  return m;
}

PodInfo pod(const std::string& name, const std::string& address, int64_t pid = 0) {
  PodInfo p;
  p.name = name;
  p.address = address;
  p.pid = pid;
  return p;
}

std::string page(double queue_a, double queue_b, double requests) {
  return "# HELP model_request_queue_length queued\n"
         "# TYPE model_request_queue_length gauge\n"
         "model_request_queue_length{model=\"a\",version=\"1\"} " +
         std::to_string(queue_a) +
         "\n"
         "model_request_queue_length{model=\"b\",version=\"1\"} " +
         std::to_string(queue_b) +
         "\n"
         "# TYPE nv_inference_request_success counter\n"
         "nv_inference_request_success{model=\"a\"} " +
         std::to_string(requests) + "\n";
}

TEST(ScrapeCollector, GaugeSummedOverLabelSetsAndFiltered) {
  FakeHttpServer a, b;
  a.setPage(page(3, 4, 0));
  b.setPage(page(1.5, 0, 0));
  ScrapeCollector c;
  HpaSpec spec;
  spec.metrics = {podsMetric("model_request_queue_length"),
                  podsMetric("model_request_queue_length", {{"model", "a"}})};
  spec.metrics[1].name = "model_request_queue_length";
  ManualClock clock;
  auto snap = c.collect(spec, {pod("pa", a.address()), pod("pb", b.address())}, clock.now());
  EXPECT_TRUE(snap.failed.empty());
  // Both metrics share the name; the last one (filtered by model=a) wins in the snapshot map.
  auto& s = snap.pod_metrics["model_request_queue_length"];
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s["pa"].value_milli, 3000);
  EXPECT_EQ(s["pb"].value_milli, 1500);
  EXPECT_EQ(s["pa"].timestamp, clock.now());
  EXPECT_EQ(a.requests(), 1);  // one fetch per pod per collect
  spec.metrics.pop_back();
  snap = c.collect(spec, {pod("pa", a.address()), pod("pb", b.address())}, clock.now());
  EXPECT_EQ(snap.pod_metrics["model_request_queue_length"]["pa"].value_milli, 7000);
}

TEST(ScrapeCollector, CounterIsRateBetweenScrapesFirstIsMissing) {
  FakeHttpServer a, b;
  a.setPage(page(0, 0, 1000));
  b.setPage(page(0, 0, 10));
  ScrapeCollector c;
  HpaSpec spec;
  spec.metrics = {podsMetric("nv_inference_request_success")};
  ManualClock clock;
  std::vector<PodInfo> pods = {pod("pa", a.address()), pod("pb", b.address())};
  auto snap = c.collect(spec, pods, clock.now());
  EXPECT_TRUE(snap.pod_metrics["nv_inference_request_success"].empty());
  ASSERT_EQ(snap.failed.count("nv_inference_request_success"), 1u);
  EXPECT_NE(snap.failed["nv_inference_request_success"].find("first scrape"), std::string::npos);

  clock.advance(10s);
  a.setPage(page(0, 0, 1500));
  b.setPage(page(0, 0, 110));
  snap = c.collect(spec, pods, clock.now());
  EXPECT_TRUE(snap.failed.empty()) << snap.failed.begin()->second;
  auto& s = snap.pod_metrics["nv_inference_request_success"];
  EXPECT_EQ(s["pa"].value_milli, 50000);
  EXPECT_EQ(s["pb"].value_milli, 10000);
  EXPECT_EQ(s["pa"].window, Duration(10s));

  // A third pod appears: missing (first scrape) while the others have rates.
  FakeHttpServer d;
  d.setPage(page(0, 0, 5));
  pods.push_back(pod("pd", d.address()));
  clock.advance(10s);
  snap = c.collect(spec, pods, clock.now());
  EXPECT_TRUE(snap.failed.empty());
  EXPECT_EQ(snap.pod_metrics["nv_inference_request_success"].count("pd"), 0u);
  EXPECT_EQ(snap.pod_metrics["nv_inference_request_success"]["pa"].value_milli, 0);
}

TEST(ScrapeCollector, UnreachablePodMissingAllUnreachableFailed) {
  FakeHttpServer a;
  a.setPage(page(2, 0, 0));
  std::string dead;
  {
    FakeHttpServer gone;
    dead = gone.address();
  }
  ScrapeCollector c;
  HpaSpec spec;
  spec.metrics = {podsMetric("model_request_queue_length")};
  ManualClock clock;
  auto snap = c.collect(spec, {pod("pa", a.address()), pod("dead", dead)}, clock.now());
  EXPECT_TRUE(snap.failed.empty());
  EXPECT_EQ(snap.pod_metrics["model_request_queue_length"].size(), 1u);
  EXPECT_EQ(snap.pod_metrics["model_request_queue_length"]["pa"].value_milli, 2000);

  snap = c.collect(spec, {pod("dead", dead)}, clock.now());
  ASSERT_EQ(snap.failed.count("model_request_queue_length"), 1u);
  EXPECT_NE(snap.failed["model_request_queue_length"].find("Connection refused"), std::string::npos)
      << snap.failed["model_request_queue_length"];
}

TEST(ScrapeCollector, AbsentMetricFails) {
  FakeHttpServer a;
  a.setPage(page(2, 0, 0));
  ScrapeCollector c;
  HpaSpec spec;
  spec.metrics = {podsMetric("no_such_metric")};
  auto snap = c.collect(spec, {pod("pa", a.address())}, ManualClock().now());
  ASSERT_EQ(snap.failed.count("no_such_metric"), 1u);
  EXPECT_NE(snap.failed["no_such_metric"].find("not found"), std::string::npos);
}

TEST(ScrapeCollector, RequestsPerSecondFromGateway) {
  FakeHttpServer gw;
  auto gwPage = [](double a, double b) {
    return "# TYPE surge_gateway_backend_requests_total counter\n"
           "surge_gateway_backend_requests_total{backend=\"127.0.0.1:8001\"} " +
           std::to_string(a) +
           "\n"
           "surge_gateway_backend_requests_total{backend=\"127.0.0.1:8002\"} " +
           std::to_string(b) + "\n";
  };
  gw.setPage(gwPage(100, 200));
  ScrapeCollectorOptions o;
  o.gateway_metrics_url = gw.url("/metrics");
  ScrapeCollector c(o);
  HpaSpec spec;
  spec.metrics = {podsMetric("requests_per_second")};
  std::vector<PodInfo> pods = {pod("r1", "127.0.0.1:8001"), pod("r2", "127.0.0.1:8002"),
                               pod("r3", "127.0.0.1:8003")};
  ManualClock clock;
  auto snap = c.collect(spec, pods, clock.now());
  EXPECT_TRUE(snap.pod_metrics["requests_per_second"].empty());
  clock.advance(15s);
  gw.setPage(gwPage(1600, 200));
  snap = c.collect(spec, pods, clock.now());
  EXPECT_TRUE(snap.failed.empty());
  auto& s = snap.pod_metrics["requests_per_second"];
  ASSERT_EQ(s.size(), 2u);  // r3 is not in the gateway: missing
  EXPECT_EQ(s["r1"].value_milli, 100000);
  EXPECT_EQ(s["r2"].value_milli, 0);
  EXPECT_EQ(s["r1"].window, Duration(15s));
  EXPECT_EQ(gw.lastTarget(), "/metrics");
}

TEST(ScrapeCollector, GatewayDownFailsMetric) {
  std::string dead;
  {
    FakeHttpServer gone;
    dead = gone.url("/metrics");
  }
  ScrapeCollectorOptions o;
  o.gateway_metrics_url = dead;
  ScrapeCollector c(o);
  HpaSpec spec;
  spec.metrics = {podsMetric("requests_per_second")};
  auto snap = c.collect(spec, {pod("r1", "127.0.0.1:8001")}, ManualClock().now());
  ASSERT_EQ(snap.failed.count("requests_per_second"), 1u);
  EXPECT_NE(snap.failed["requests_per_second"].find("gateway metrics unavailable"),
            std::string::npos);
  ScrapeCollector none;
  snap = none.collect(spec, {pod("r1", "127.0.0.1:8001")}, ManualClock().now());
  EXPECT_NE(snap.failed["requests_per_second"].find("no gateway metrics URL"), std::string::npos);
}

TEST(ScrapeCollector, CpuAndMemoryFromProcForOwnPid) {
  ScrapeCollector c;
  HpaSpec spec;
  spec.metrics = {resourceMetric("cpu"), resourceMetric("memory")};
  std::vector<PodInfo> pods = {pod("me", "", ::getpid()), pod("remote", "10.0.0.1:80")};
  auto t0 = SteadyClock::instance().now();
  auto snap = c.collect(spec, pods, t0);
  EXPECT_TRUE(snap.pod_metrics["cpu"].empty());  // first read: no window yet
  EXPECT_GT(snap.pod_metrics["memory"]["me"].value_milli, int64_t{1 << 20} * 1000);
  EXPECT_EQ(snap.pod_metrics["memory"].count("remote"), 0u);  // no pid: missing

  // Busy for ~300 ms; compare with the process CPU clock over the same window (the share a
  // loaded machine gives us varies, the agreement between the two must not).
  auto cpuNow = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  double cpu0 = cpuNow();
  volatile uint64_t x = 0;
  auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  auto t1 = SteadyClock::instance().now();
  double cpu1 = cpuNow();
  snap = c.collect(spec, pods, t1);
  ASSERT_EQ(snap.pod_metrics["cpu"].count("me"), 1u);
  const PodSample& cpu = snap.pod_metrics["cpu"]["me"];
  double window_s = toSeconds(t1 - t0);
  double expected_milli = (cpu1 - cpu0) / window_s * 1000;
  double tick_milli = 1000.0 / static_cast<double>(clockTicksPerSecond()) / window_s * 1000;
  EXPECT_NEAR(static_cast<double>(cpu.value_milli), expected_milli, 2 * tick_milli + 50);
  EXPECT_GT(cpu.value_milli, 0);
  EXPECT_EQ(cpu.timestamp, t1);
  EXPECT_EQ(cpu.window, t1 - t0);
  EXPECT_TRUE(snap.failed.empty());
}

TEST(ScrapeCollector, UnsupportedSourcesFail) {
  ScrapeCollector c;
  HpaSpec spec;
  MetricSpec ext;
  ext.type = MetricSourceType::kExternal;
  ext.name = "s0-prometheus";
  MetricSpec obj;
  obj.type = MetricSourceType::kObject;
  obj.name = "hits";
  spec.metrics = {ext, obj, resourceMetric("ephemeral-storage")};
  auto snap = c.collect(spec, {pod("p", "127.0.0.1:1")}, ManualClock().now());
  EXPECT_EQ(snap.failed.size(), 3u);
  EXPECT_NE(snap.failed["s0-prometheus"].find("KEDA"), std::string::npos);
}

}  // namespace
}  // namespace surge::autoscale
