#include "autoscale/sources/keda_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

PrometheusTrigger trigger(double threshold, double activation = 0, bool ignore_null = true) {
  PrometheusTrigger t;
  t.query = "q";
  t.threshold = threshold;
  t.activation_threshold = activation;
  t.ignore_null_values = ignore_null;
  return t;
}

PromResult vec(std::vector<double> values) {
  PromResult r;
  r.result_type = "vector";
  for (double v : values) r.samples.push_back(PromSample{{}, 0, v});
  return r;
}

TEST(KedaPromValue, NullHandlingAsKeda) {
  auto t = trigger(10);
  EXPECT_EQ(*promValue(vec({}), t), 0);
  EXPECT_EQ(*promValue(vec({std::nan("")}), t), 0);
  EXPECT_EQ(*promValue(vec({std::numeric_limits<double>::infinity()}), t), 0);
  EXPECT_EQ(*promValue(vec({7.5}), t), 7.5);
  auto multi = promValue(vec({1, 2}), t);
  ASSERT_FALSE(multi.isOk());
  EXPECT_NE(multi.status().message().find("multiple elements"), std::string::npos);
  auto strict = trigger(10, 0, /*ignore_null=*/false);
  auto empty = promValue(vec({}), strict);
  ASSERT_FALSE(empty.isOk());
  EXPECT_NE(empty.status().message().find("the result is empty"), std::string::npos);
  auto nan = promValue(vec({std::nan("")}), strict);
  ASSERT_FALSE(nan.isOk());
  EXPECT_NE(nan.status().message().find("NaN"), std::string::npos);
}

TEST(KedaTrigger, ActivationIsStrictlyAboveThreshold) {
  TriggerHealth h;
  auto t = trigger(50, /*activation=*/5);
  auto o = evaluateTrigger(StatusOr<double>(5.0), t, std::nullopt, h);
  EXPECT_FALSE(o.active);
  EXPECT_EQ(o.value_milli, 5000);
  o = evaluateTrigger(StatusOr<double>(5.001), t, std::nullopt, h);
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.value_milli, 5001);
  EXPECT_FALSE(o.error);
}

TEST(KedaTrigger, FallbackAfterMoreThanFailureThresholdFailures) {
  TriggerHealth h;
  auto t = trigger(0.1);
  KedaFallback fb{3, 6};
  StatusOr<double> down = unavailable("prometheus down");
  for (int i = 1; i <= 3; ++i) {
    auto o = evaluateTrigger(down, t, fb, h);
    EXPECT_TRUE(o.error) << i;
    EXPECT_FALSE(o.value_milli.has_value());
    EXPECT_EQ(o.reason, "prometheus down");
    EXPECT_EQ(h.consecutive_failures, i);
  }
  auto o = evaluateTrigger(down, t, fb, h);  // 4th > 3
  EXPECT_FALSE(o.error);
  EXPECT_TRUE(o.fallback);
  EXPECT_TRUE(o.active);
  ASSERT_TRUE(o.value_milli.has_value());
  EXPECT_EQ(*o.value_milli, 600);  // 6 × 0.1 → AverageValue 100m gives 6 replicas
  EXPECT_NE(o.reason.find("fallback to 6 replicas"), std::string::npos);
  o = evaluateTrigger(StatusOr<double>(0.05), t, fb, h);  // recovery resets the count
  EXPECT_EQ(h.consecutive_failures, 0);
  EXPECT_FALSE(o.fallback);
  EXPECT_EQ(o.value_milli, 50);
}

TEST(KedaTrigger, NoFallbackStaysFailed) {
  TriggerHealth h;
  for (int i = 0; i < 10; ++i) {
    auto o = evaluateTrigger(StatusOr<double>(unavailable("x")), trigger(1), std::nullopt, h);
    EXPECT_TRUE(o.error);
  }
  TriggerHealth h0;  // failureThreshold 0: the first failure falls back
  auto o = evaluateTrigger(StatusOr<double>(unavailable("x")), trigger(2), KedaFallback{0, 3}, h0);
  EXPECT_TRUE(o.fallback);
  EXPECT_EQ(o.value_milli, 6000);
}

ScaledObjectSpec so(int32_t min, std::optional<KedaFallback> fb = std::nullopt) {
  ScaledObjectSpec s;
  s.min_replica_count = min;
  s.max_replica_count = 10;
  s.cooldown_period = 300s;
  s.initial_cooldown_period = 0s;
  s.fallback = fb;
  return s;
}

TEST(KedaActivation, ActivatesFromZeroToMinOrOne) {
  ManualClock clock;
  ActivationState st{std::nullopt, clock.now()};
  auto d = decideActivation(so(0), {true, false, 0, clock.now()}, st);
  ASSERT_TRUE(d.scale_to.has_value());
  EXPECT_EQ(*d.scale_to, 1);
  EXPECT_TRUE(d.hpa_enabled);
  EXPECT_EQ(d.reason, "KEDAScaleTargetActivated");
  EXPECT_EQ(st.last_active, clock.now());
  ActivationState st2{std::nullopt, clock.now()};
  d = decideActivation(so(3), {true, false, 0, clock.now()}, st2);
  EXPECT_EQ(d.scale_to, 3);
}

TEST(KedaActivation, ScalesToZeroOnlyAfterCooldownWithoutActivity) {
  ManualClock clock;
  ActivationState st{std::nullopt, clock.now()};
  auto s = so(0);
  auto d = decideActivation(s, {true, false, 4, clock.now()}, st);  // active at 4: HPA decides
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "ScalerActive");
  TimePoint active_at = clock.now();

  clock.advance(200s);
  d = decideActivation(s, {false, false, 4, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "ScalerCooldown");
  EXPECT_TRUE(d.hpa_enabled);

  clock.set(active_at + 300s);  // exactly cooldownPeriod: KEDA needs it strictly before now
  d = decideActivation(s, {false, false, 4, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());

  clock.advance(1s);
  d = decideActivation(s, {false, false, 4, clock.now()}, st);
  ASSERT_TRUE(d.scale_to.has_value());
  EXPECT_EQ(*d.scale_to, 0);
  EXPECT_FALSE(d.hpa_enabled);
  EXPECT_EQ(d.reason, "KEDAScaleTargetDeactivated");

  // Stays at 0 while inactive; the HPA stays disabled.
  d = decideActivation(s, {false, false, 0, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_FALSE(d.hpa_enabled);
}

TEST(KedaActivation, ActivityInsideCooldownRestartsIt) {
  ManualClock clock;
  ActivationState st{std::nullopt, clock.now()};
  auto s = so(0);
  (void)decideActivation(s, {true, false, 2, clock.now()}, st);
  clock.advance(250s);
  (void)decideActivation(s, {true, false, 2, clock.now()}, st);  // active again
  clock.advance(250s);
  auto d = decideActivation(s, {false, false, 2, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());  // 250 s since the last activity < 300 s
  clock.advance(51s);
  d = decideActivation(s, {false, false, 2, clock.now()}, st);
  EXPECT_EQ(d.scale_to, 0);
}

TEST(KedaActivation, NeverActiveUsesInitialCooldown) {
  ManualClock clock;
  auto s = so(0);
  s.initial_cooldown_period = 60s;
  ActivationState st{std::nullopt, clock.now()};
  clock.advance(30s);
  auto d = decideActivation(s, {false, false, 2, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  clock.advance(31s);
  d = decideActivation(s, {false, false, 2, clock.now()}, st);
  EXPECT_EQ(d.scale_to, 0);
}

TEST(KedaActivation, ErrorsHoldReplicas) {
  ManualClock clock;
  ActivationState st{std::nullopt, clock.now()};
  clock.advance(1h);
  // Inactive with a failing trigger and no fallback: never scale to zero on missing data.
  auto d = decideActivation(so(0), {false, true, 3, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "TriggerError");
  d = decideActivation(so(0, KedaFallback{3, 5}), {false, true, 3, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "FallbackPending");
  // Active with an error: no lastActiveTime update.
  d = decideActivation(so(0), {true, true, 3, clock.now()}, st);
  EXPECT_EQ(d.reason, "PartialTriggerError");
  EXPECT_FALSE(st.last_active.has_value());
}

TEST(KedaActivation, BelowMinReplicaCountIsRaised) {
  ManualClock clock;
  ActivationState st{std::nullopt, clock.now()};
  auto d = decideActivation(so(2), {false, false, 1, clock.now()}, st);
  EXPECT_EQ(d.scale_to, 2);
  d = decideActivation(so(2), {false, false, 2, clock.now()}, st);
  EXPECT_FALSE(d.scale_to.has_value());
  EXPECT_EQ(d.reason, "ScalerNotActive");
}

}  // namespace
}  // namespace surge::autoscale
