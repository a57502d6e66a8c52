// Scale to zero through the controller (docs/design/activator.md): a KEDA ScaledObject with
// minReplicaCount 0 drives the Kubernetes target's Deployment (the stub API server) to 0 after
// its cooldown without activity and back to 1 when a trigger turns active — the same wiring as
// Autoscaler::create (KedaScaler::decide as the controller's activation step), with a fake
// trigger query and a ManualClock.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "autoscale/app/autoscaler.h"
#include "autoscale/autoscale_config.h"
#include "autoscale/controller/controller.h"
#include "autoscale/sources/keda_scaler.h"
#include "config/node.h"
#include "k8s/api_client.h"
#include "k8s/scale_target.h"
#include "support/k8s_stub_api.h"

namespace surge::autoscale {
namespace {

using std::chrono::seconds;

constexpr const char* kPolicy = R"(
scaled_object:
  metadata: {name: model}
  spec:
    scaleTargetRef: {name: model-server}
    minReplicaCount: 0
    maxReplicaCount: 5
    cooldownPeriod: 60
    triggers:
      - type: surge-gateway
        metadata: {serverAddress: "http://127.0.0.1:9901", threshold: "10", activationThreshold: "0"}
)";

class ScaleToZeroTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stub_.setDeployment("surge", "model-server", 2, 2, "app=model-server");
    k8s::ApiConfig c;
    c.server = stub_.url();
    c.timeout = seconds(5);
    api_ = std::make_shared<k8s::ApiClient>(c);
    k8s::KubernetesTargetOptions o;
    o.ns = "surge";
    o.deployment = "model-server";
    o.port = 8000;
    target_ = std::make_unique<k8s::KubernetesScaleTarget>(api_, o, clock_);

    auto root = config::Node::loadString(kPolicy, "autoscale.yaml");
    ASSERT_TRUE(root.isOk()) << root.status().message();
    auto policy = parseAutoscalePolicy(*root);
    ASSERT_TRUE(policy.isOk()) << policy.status().message();
    policy_ = *policy;
    policy_.admin_listen.clear();
    keda_ = std::make_shared<KedaScaler>(
        *policy_.scaled_object, clock_.now(),
        [this](const PrometheusTrigger& t) -> StatusOr<double> {
          EXPECT_EQ(t.type, "surge-gateway");
          return value_;
        },
        policy_.hpa.behavior);
    AutoscalerOptions copts;
    copts.unix_ms = [this] {
      return 1'764'000'000'000 +
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
                 .count();
    };
    copts.activation = kedaActivation(keda_);
    controller_ = std::make_unique<Controller>(policy_, *target_, *keda_, clock_, copts);
    ASSERT_TRUE(controller_->init().isOk());
  }

  int replicas() { return stub_.specReplicas("surge", "model-server").value_or(-1); }

  testing::K8sStubApi stub_;
  ManualClock clock_;
  std::shared_ptr<k8s::ApiClient> api_;
  std::unique_ptr<k8s::KubernetesScaleTarget> target_;
  AutoscalePolicy policy_;
  std::shared_ptr<KedaScaler> keda_;
  std::unique_ptr<Controller> controller_;
  double value_ = 0;  // the trigger's value: request rate + held requests
};

TEST_F(ScaleToZeroTest, IdleGoesToZeroAfterCooldownAndARequestActivatesOne) {
  EXPECT_EQ(policy_.hpa.min_replicas, 1);  // KEDA's HPA never goes below 1 itself
  // Idle from the start: initialCooldownPeriod 0 has passed → deactivated at once.
  clock_.advance(seconds(1));
  Decision d = controller_->syncOnce();
  EXPECT_EQ(d.current, 2);
  EXPECT_EQ(d.desired, 0);
  EXPECT_EQ(replicas(), 0);

  // At 0 and still idle: nothing happens, the HPA is disabled.
  clock_.advance(seconds(15));
  d = controller_->syncOnce();
  EXPECT_FALSE(d.scaled);
  EXPECT_EQ(replicas(), 0);
  AutoscalerStatus st = controller_->status();
  ASSERT_GE(st.conditions.size(), 2u);
  EXPECT_EQ(st.conditions[1].reason, "ScalingDisabled");

  // A held request (value 1 > activationThreshold 0): 0 → 1 (max(minReplicaCount, 1)).
  value_ = 1;
  clock_.advance(seconds(1));
  d = controller_->syncOnce();
  EXPECT_TRUE(d.scaled);
  EXPECT_EQ(d.desired, 1);
  EXPECT_EQ(replicas(), 1);
  bool activated = false;
  for (const auto& e : controller_->events().snapshot()) {
    activated = activated || (e.reason == "KEDAScaleTargetActivated" && e.from == 0 && e.to == 1);
  }
  EXPECT_TRUE(activated);

  // Traffic keeps it active; idle for less than cooldownPeriod keeps it at 1.
  stub_.setDeployment("surge", "model-server", 1, 1, "app=model-server");
  clock_.advance(seconds(15));
  controller_->syncOnce();
  EXPECT_EQ(replicas(), 1);
  value_ = 0;
  clock_.advance(seconds(30));
  controller_->syncOnce();
  EXPECT_EQ(replicas(), 1);  // 30 s idle < cooldown 60 s
  clock_.advance(seconds(31));
  d = controller_->syncOnce();
  EXPECT_EQ(d.desired, 0);
  EXPECT_EQ(replicas(), 0);  // idle past the cooldown
}

TEST_F(ScaleToZeroTest, ATriggerErrorNeverScalesToZero) {
  controller_ = nullptr;
  keda_ = std::make_shared<KedaScaler>(
      *policy_.scaled_object, clock_.now(),
      [](const PrometheusTrigger&) -> StatusOr<double> {
        return unavailable("surge gateway http://127.0.0.1:9901: connection refused");
      },
      policy_.hpa.behavior);
  AutoscalerOptions copts;
  copts.activation = kedaActivation(keda_);
  controller_ = std::make_unique<Controller>(policy_, *target_, *keda_, clock_, copts);
  clock_.advance(seconds(600));
  controller_->syncOnce();
  EXPECT_EQ(replicas(), 2);  // held: missing data never scales to zero
}

TEST_F(ScaleToZeroTest, SyncSoonRunsTheNextSyncAtOnce) {
  controller_ = nullptr;
  policy_.sync_period = std::chrono::hours(1);
  controller_ = std::make_unique<Controller>(policy_, *target_, *keda_, clock_);
  ASSERT_TRUE(controller_->start().isOk());
  auto syncs = [&] { return controller_->status().syncs; };
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (syncs() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(syncs(), 1u);  // the first sync, at start; the next would be in an hour
  controller_->syncSoon();
  while (syncs() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(syncs(), 2u);
  controller_->stop();
}

TEST(SurgeGatewayValue, RatePlusHeld) {
  const TimePoint t0 = TimePoint(seconds(100));
  EXPECT_DOUBLE_EQ(surgeGatewayValue(std::nullopt, 500, 0, t0), 0);  // no rate yet
  EXPECT_DOUBLE_EQ(surgeGatewayValue(std::nullopt, 500, 3, t0), 3);  // held requests count
  EXPECT_DOUBLE_EQ(surgeGatewayValue(std::make_pair(500.0, t0), 600, 2, t0 + seconds(10)), 12);
  // A reset counter (gateway restarted): its value is the increase.
  EXPECT_DOUBLE_EQ(surgeGatewayValue(std::make_pair(500.0, t0), 40, 0, t0 + seconds(10)), 4);
  // No time elapsed: no rate.
  EXPECT_DOUBLE_EQ(surgeGatewayValue(std::make_pair(500.0, t0), 600, 1, t0), 1);
}

}  // namespace
}  // namespace surge::autoscale
