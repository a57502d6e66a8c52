#include "autoscale/controller/admin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <nlohmann/json.hpp>

#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::autoscale {
namespace {

using std::chrono::seconds;

class OneTarget : public ScaleTarget {
 public:
  StatusOr<ScaleState> getScale() override { return ScaleState{replicas, replicas}; }
  Status setScale(int32_t r) override {
    replicas = r;
    return Status::ok();
  }
  StatusOr<std::vector<PodInfo>> listPods() override {
    std::vector<PodInfo> pods(static_cast<size_t>(replicas));
    for (size_t i = 0; i < pods.size(); ++i) pods[i].name = "p" + std::to_string(i);
    return pods;
  }
  int32_t replicas = 2;
};

class ConstCollector : public MetricsCollector {
 public:
  MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                          TimePoint now) override {
    MetricsSnapshot s;
    for (const auto& p : pods) s.pod_metrics[spec.metrics[0].name][p.name] = {300'000, now};
    return s;
  }
};

AutoscalePolicy policy() {
  AutoscalePolicy p;
  p.hpa.min_replicas = 2;
  p.hpa.max_replicas = 10;
  MetricSpec m;
  m.type = MetricSourceType::kPods;
  m.name = "requests_per_second";
  m.target.type = MetricTargetType::kAverageValue;
  m.target.average_value_milli = 100'000;
  p.hpa.metrics.push_back(m);
  return p;
}

TEST(AdminServerTest, ServesStatusEventsMetricsHealth) {
  ManualClock clock;
  OneTarget target;
  ConstCollector collector;
  Controller controller(policy(), target, collector, clock);
  controller.syncOnce();  // 2 → 4 (6 wanted, legacy limit 4)

  AdminServer admin(controller);
  ASSERT_TRUE(admin.start("127.0.0.1:0").isOk());
  ASSERT_NE(admin.port(), 0);

  std::string r = surge::testing::httpExchange(admin.port(), "GET", "/status");
  ASSERT_EQ(surge::testing::statusOf(r), 200) << r;
  auto status = nlohmann::json::parse(surge::testing::bodyOf(r));
  EXPECT_EQ(status["currentReplicas"], 2);
  EXPECT_EQ(status["desiredReplicas"], 4);
  EXPECT_EQ(status["lastDecision"]["reactiveReplicas"], 4);
  EXPECT_EQ(status["lastDecision"]["scaled"], true);
  ASSERT_EQ(status["currentMetrics"].size(), 1u);
  EXPECT_EQ(status["currentMetrics"][0]["current"]["averageValue"], "300");
  EXPECT_EQ(status["currentMetrics"][0]["target"]["averageValue"], "100");
  EXPECT_EQ(status["currentMetrics"][0]["proposal"], 6);
  EXPECT_EQ(status["conditions"].size(), 3u);

  r = surge::testing::httpExchange(admin.port(), "GET", "/events");
  ASSERT_EQ(surge::testing::statusOf(r), 200) << r;
  auto events = nlohmann::json::parse(surge::testing::bodyOf(r))["events"];
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["reason"], "SuccessfulRescale");
  EXPECT_EQ(events[0]["from"], 2);
  EXPECT_EQ(events[0]["to"], 4);
  r = surge::testing::httpExchange(admin.port(), "GET", "/events?since=1");
  EXPECT_EQ(nlohmann::json::parse(surge::testing::bodyOf(r))["events"].size(), 0u);
  r = surge::testing::httpExchange(admin.port(), "GET", "/events?since=x");
  EXPECT_EQ(surge::testing::statusOf(r), 400);

  r = surge::testing::httpExchange(admin.port(), "GET", "/metrics");
  ASSERT_EQ(surge::testing::statusOf(r), 200);
  const std::string page = surge::testing::bodyOf(r);
  EXPECT_NE(page.find("surge_autoscaler_desired_replicas 4"), std::string::npos) << page;
  EXPECT_NE(page.find("surge_autoscaler_current_replicas 2"), std::string::npos) << page;
  EXPECT_NE(page.find("surge_autoscaler_syncs_total 1"), std::string::npos) << page;
  EXPECT_NE(page.find("surge_autoscaler_scale_events_total{direction=\"up\"} 1"),
            std::string::npos)
      << page;

  r = surge::testing::httpExchange(admin.port(), "GET", "/healthz");
  EXPECT_EQ(surge::testing::statusOf(r), 200);
  r = surge::testing::httpExchange(admin.port(), "GET", "/nope");
  EXPECT_EQ(surge::testing::statusOf(r), 404);
  admin.stop();
}

std::string headerOf(const std::string& response, const std::string& name) {
  const std::string needle = "\r\n" + name + ": ";
  size_t at = response.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return response.substr(at, response.find("\r\n", at) - at);
}

TEST(AdminServerTest, DashboardPageAndJsonWithReplicasAndHistory) {
  ManualClock clock;
  OneTarget target;
  ConstCollector collector;
  Controller controller(policy(), target, collector, clock);
  controller.syncOnce();

  AdminServer admin(controller);
  std::atomic<int> calls_with_numbers{0};
  admin.setReplicaSource(
      [&](bool numbers) {
        if (numbers) calls_with_numbers++;
        ReplicaView ready;
        ready.name = "<img src=x onerror=alert(1)>";
        ready.state = "ready";
        ready.zone = "zone-\"a\"";
        ready.address = "127.0.0.1:1";
        if (numbers) {
          ready.rps = 12.5;
          ready.p99_ms = 40;
        }
        ReplicaView starting;
        starting.name = "r2";
        starting.state = "starting";
        starting.error = "bad \xff byte";
        return std::vector<ReplicaView>{ready, starting};
      },
      "from the test");
  ASSERT_TRUE(admin.start("127.0.0.1:0").isOk());

  std::string r = surge::testing::httpExchange(admin.port(), "GET", "/");
  ASSERT_EQ(surge::testing::statusOf(r), 200) << r;
  EXPECT_EQ(headerOf(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(headerOf(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_NE(headerOf(r, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(surge::testing::bodyOf(r).find("/autoscaler.js"), std::string::npos);
  EXPECT_EQ(headerOf(surge::testing::httpExchange(admin.port(), "GET", "/status"),
                     "X-Content-Type-Options"),
            "nosniff");
  r = surge::testing::httpExchange(admin.port(), "GET", "/autoscaler.js");
  EXPECT_EQ(surge::testing::statusOf(r), 200);
  EXPECT_EQ(headerOf(r, "Content-Type"), "text/javascript; charset=utf-8");
  r = surge::testing::httpExchange(admin.port(), "GET", "/gateway.js");
  EXPECT_EQ(surge::testing::statusOf(r), 404);

  // The first poll marks the dashboard watched: the sampler then asks for the numbers.
  nlohmann::json d;
  ASSERT_TRUE(surge::testing::waitUntil(
      [&] {
        std::string resp = surge::testing::httpExchange(admin.port(), "GET", "/api/dashboard");
        if (surge::testing::statusOf(resp) != 200) return false;
        EXPECT_EQ(headerOf(resp, "Content-Type"), "application/json; charset=utf-8");
        d = nlohmann::json::parse(surge::testing::bodyOf(resp), nullptr, false);
        return !d.is_discarded() && d["replicas"].is_array() && d["replicas"].size() == 2 &&
               d["replicas"][0]["rps"].is_number() && d["history"].size() == 1;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50), "replicas with numbers"))
      << d.dump();
  EXPECT_GE(calls_with_numbers.load(), 1);
  // Names go out verbatim as JSON strings (the page renders them as text); bad UTF-8 is replaced.
  EXPECT_EQ(d["replicas"][0]["name"], "<img src=x onerror=alert(1)>");
  EXPECT_EQ(d["replicas"][0]["zone"], "zone-\"a\"");
  EXPECT_EQ(d["replicas"][0]["state"], "ready");
  EXPECT_EQ(d["replicas"][0]["rps"], 12.5);
  EXPECT_EQ(d["replicas"][0]["p99Ms"], 40);
  EXPECT_TRUE(d["replicas"][0]["p50Ms"].is_null());
  EXPECT_EQ(d["replicas"][1]["state"], "starting");
  EXPECT_EQ(d["replicas"][1]["error"], "bad \xef\xbf\xbd byte");
  EXPECT_EQ(d["replicaNote"], "from the test");
  EXPECT_EQ(d["status"]["currentReplicas"], 2);
  EXPECT_EQ(d["history"][0]["current"], 2);
  EXPECT_EQ(d["history"][0]["desired"], 4);
  ASSERT_EQ(d["events"].size(), 1u);
  EXPECT_EQ(d["events"][0]["reason"], "SuccessfulRescale");
  EXPECT_EQ(d["predictive"], false);

  // A second sync: one more history point.
  controller.syncOnce();
  ASSERT_TRUE(surge::testing::waitUntil(
      [&] {
        std::string resp = surge::testing::httpExchange(admin.port(), "GET", "/api/dashboard");
        d = nlohmann::json::parse(surge::testing::bodyOf(resp), nullptr, false);
        return !d.is_discarded() && d["history"].size() == 2;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50), "a second history point"))
      << d.dump();
  EXPECT_EQ(d["history"][1]["current"], 4);
  admin.stop();
}

TEST(AdminServerTest, DashboardJsonCarriesTheForecastAndNullsForUnknownNumbers) {
  DashboardData d;
  d.status.name = "hpa";
  d.predictive = true;
  d.horizon_seconds = 600;
  DashboardSample a;
  a.unix_ms = 1000;
  a.current = 2;
  a.desired = 3;
  a.observed_rps = 42.5;
  a.forecast_rps = 80;
  DashboardSample b = a;
  b.unix_ms = 2000;
  b.observed_rps = std::nullopt;
  b.forecast_rps = std::numeric_limits<double>::quiet_NaN();  // never NaN in JSON
  d.history = {a, b};
  ReplicaView r;
  r.name = "r";
  r.state = "draining";
  r.queue = 0;
  d.replicas = std::vector<ReplicaView>{r};
  auto j = nlohmann::json::parse(dashboardToJson(d));
  EXPECT_EQ(j["predictive"], true);
  EXPECT_EQ(j["horizonSeconds"], 600);
  ASSERT_EQ(j["history"].size(), 2u);
  EXPECT_EQ(j["history"][0]["t"], 1000);
  EXPECT_EQ(j["history"][0]["observedRps"], 42.5);
  EXPECT_EQ(j["history"][0]["forecastRps"], 80);
  EXPECT_EQ(j["history"][0]["desired"], 3);
  EXPECT_TRUE(j["history"][1]["observedRps"].is_null());
  EXPECT_TRUE(j["history"][1]["forecastRps"].is_null());
  EXPECT_EQ(j["replicas"][0]["state"], "draining");
  EXPECT_EQ(j["replicas"][0]["queue"], 0);
  EXPECT_TRUE(j["replicas"][0]["rps"].is_null());
  EXPECT_TRUE(j["replicas"][0]["error"].is_null());
  EXPECT_EQ(j["status"]["name"], "hpa");
}

TEST(AdminServerTest, DashboardWithoutReplicaSourceSaysSo) {
  ManualClock clock;
  OneTarget target;
  ConstCollector collector;
  Controller controller(policy(), target, collector, clock);
  AdminServer admin(controller);
  ASSERT_TRUE(admin.start("127.0.0.1:0").isOk());
  std::string r = surge::testing::httpExchange(admin.port(), "GET", "/api/dashboard");
  ASSERT_EQ(surge::testing::statusOf(r), 200) << r;
  auto d = nlohmann::json::parse(surge::testing::bodyOf(r));
  EXPECT_TRUE(d["replicas"].is_null());
  EXPECT_TRUE(d["history"].empty());  // no sync yet
  EXPECT_EQ(surge::testing::statusOf(surge::testing::httpExchange(admin.port(), "POST", "/")), 405);
}

TEST(AdminServerTest, BadListenAddressIsAnError) {
  ManualClock clock;
  OneTarget target;
  ConstCollector collector;
  Controller controller(policy(), target, collector, clock);
  AdminServer admin(controller);
  EXPECT_FALSE(admin.start("127.0.0.1:99999").isOk());
}

}  // namespace
}  // namespace surge::autoscale
