#include "autoscale/controller/admin.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/socket_client.h"

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
