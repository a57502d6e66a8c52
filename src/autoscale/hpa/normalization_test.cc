// Behavior normalization: defaults, stabilization with both windows, Pods/Percent rate limits
// with past events (strict period boundaries), selectPolicy, scale-event storage.
#include "autoscale/hpa/normalization.h"

#include <gtest/gtest.h>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/test_util.h"

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT
using std::chrono::seconds;

const TimePoint kNow = at(0);

ScalingRules rules(std::optional<int> window_s, std::vector<ScalingPolicy> policies,
                   std::optional<SelectPolicy> select = std::nullopt) {
  ScalingRules r;
  if (window_s) r.stabilization_window = seconds(*window_s);
  if (!policies.empty()) r.policies = std::move(policies);
  r.select_policy = select;
  return r;
}

ScalingPolicy pods(int v, int period_s) { return {PolicyType::kPods, v, seconds(period_s)}; }
ScalingPolicy percent(int v, int period_s) { return {PolicyType::kPercent, v, seconds(period_s)}; }

ResolvedBehavior resolved(std::optional<ScalingRules> up, std::optional<ScalingRules> down,
                          ControllerOptions o = {}) {
  Behavior b;
  b.scale_up = std::move(up);
  b.scale_down = std::move(down);
  return resolveBehavior(b, o);
}

TEST(NormalizationTest, DefaultsForEmptyBehavior) {
  ControllerOptions o;
  o.downscale_stabilization_window = seconds(120);
  ResolvedBehavior b = resolveBehavior(Behavior{}, o);
  EXPECT_EQ(b.scale_up.stabilization_window, seconds(0));
  EXPECT_EQ(b.scale_up.select_policy, SelectPolicy::kMax);
  ASSERT_EQ(b.scale_up.policies.size(), 2u);
  EXPECT_EQ(b.scale_up.policies[0].type, PolicyType::kPods);
  EXPECT_EQ(b.scale_up.policies[0].value, 4);
  EXPECT_EQ(b.scale_up.policies[1].type, PolicyType::kPercent);
  EXPECT_EQ(b.scale_up.policies[1].value, 100);
  EXPECT_EQ(b.scale_down.stabilization_window, seconds(120));  // the controller flag
  ASSERT_EQ(b.scale_down.policies.size(), 1u);
  EXPECT_EQ(b.scale_down.policies[0].type, PolicyType::kPercent);
  EXPECT_EQ(b.scale_down.policies[0].period, seconds(15));
  // Each unset field falls back on its own.
  ResolvedBehavior partial = resolved(std::nullopt, rules(60, {}));
  EXPECT_EQ(partial.scale_down.stabilization_window, seconds(60));
  EXPECT_EQ(partial.scale_down.policies.size(), 1u);
}

TEST(NormalizationTest, EmptyBehaviorScaleUpFromTen) {
  HpaHistory h;
  Normalized n = normalizeWithBehavior(10, 30, 1, 100, kNow, resolved({}, {}), &h);
  EXPECT_EQ(n.stabilized, 30);
  EXPECT_EQ(n.desired, 20);  // max(10 + 4, 10 × 2)
  EXPECT_EQ(n.condition.reason, "ScaleUpLimit");
  n = normalizeWithBehavior(2, 30, 1, 100, kNow, resolved({}, {}), &h);
  EXPECT_EQ(n.desired, 6);  // max(2 + 4, 4)
}

TEST(NormalizationTest, StabilizationWithBothWindows) {
  ResolvedBehavior b = resolved(rules(60, {pods(100, 15)}), rules(120, {percent(100, 15)}));
  HpaHistory h;
  h.recommendations = {{4, kNow - seconds(30)}, {8, kNow - seconds(90)}, {2, kNow - seconds(200)}};
  // Up: min(10, 4) = 4 (only the 30 s old one is inside 60 s); down: max(10, 4, 8) = 10.
  Normalized n = normalizeWithBehavior(5, 10, 1, 100, kNow, b, &h);
  EXPECT_EQ(n.stabilized, 5);
  // The entry older than both windows is replaced.
  ASSERT_EQ(h.recommendations.size(), 3u);
  EXPECT_EQ(h.recommendations[2].replicas, 10);
  EXPECT_EQ(h.recommendations[2].timestamp, kNow);

  HpaHistory d;
  d.recommendations = {{4, kNow - seconds(30)}};
  n = normalizeWithBehavior(5, 3, 1, 100, kNow, b, &d);
  EXPECT_EQ(n.stabilized, 4);  // capped at the highest recent recommendation
  EXPECT_EQ(n.desired, 4);
  EXPECT_EQ(d.recommendations.size(), 2u);  // nothing old: appended
}

TEST(NormalizationTest, StabilizationWindowBoundaryIsStrict) {
  ResolvedBehavior b = resolved({}, rules(60, {percent(100, 15)}));
  HpaHistory h;
  h.recommendations = {{9, kNow - seconds(60)}};  // age == window: outside, not yet "old"
  Normalized n = normalizeWithBehavior(9, 3, 1, 100, kNow, b, &h);
  EXPECT_EQ(n.stabilized, 3);
  EXPECT_EQ(h.recommendations.size(), 2u);
}

TEST(NormalizationTest, PodsPolicyCountsPastScaleUps) {
  ResolvedBehavior b = resolved(rules(0, {pods(2, 60)}), {});
  HpaHistory h;
  h.scale_up_events = {{3, kNow - seconds(30), false}};
  // periodStart = 8 − 3 = 5 → limit 7 < current → floored at current 8.
  Normalized n = normalizeWithBehavior(8, 12, 1, 100, kNow, b, &h);
  EXPECT_EQ(n.desired, 8);
  EXPECT_EQ(n.condition.reason, "ScaleUpLimit");
  // An event exactly one period old is outside the period: limit 8 + 2.
  h.scale_up_events = {{3, kNow - seconds(60), false}};
  n = normalizeWithBehavior(8, 12, 1, 100, kNow, b, &h);
  EXPECT_EQ(n.desired, 10);
  EXPECT_EQ(scaleUpLimit(8, {{3, kNow - seconds(59), false}}, {}, b.scale_up, kNow), 7);
}

TEST(NormalizationTest, PercentPolicyCountsPastScaleDowns) {
  ResolvedBehavior b = resolved({}, rules(0, {percent(50, 60)}));
  HpaHistory h;
  h.scale_down_events = {{4, kNow - seconds(10), false}};
  // periodStart = 10 + 4 = 14 → trunc(14 × 0.5) = 7.
  Normalized n = normalizeWithBehavior(10, 2, 1, 100, kNow, b, &h);
  EXPECT_EQ(n.desired, 7);
  EXPECT_EQ(n.condition.reason, "ScaleDownLimit");
  // Percent up rounds up: ceil(3 × 1.1) = 4.
  ResolvedBehavior up = resolved(rules(0, {percent(10, 60)}), {});
  EXPECT_EQ(scaleUpLimit(3, {}, {}, up.scale_up, kNow), 4);
  // Percent down truncates: trunc(3 × 0.9) = 2.
  ResolvedBehavior down = resolved({}, rules(0, {percent(10, 60)}));
  EXPECT_EQ(scaleDownLimit(3, {}, {}, down.scale_down, kNow), 2);
}

TEST(NormalizationTest, SelectPolicyMaxMinDisabled) {
  std::vector<ScalingPolicy> up_policies = {pods(4, 15), percent(100, 15)};
  std::vector<ScalingPolicy> down_policies = {pods(2, 15), percent(50, 15)};
  auto up = [&](SelectPolicy s) {
    HpaHistory h;
    return normalizeWithBehavior(10, 50, 1, 100, kNow, resolved(rules(0, up_policies, s), {}),
                                 &h);
  };
  auto down = [&](SelectPolicy s) {
    HpaHistory h;
    return normalizeWithBehavior(10, 1, 1, 100, kNow,
                                 resolved({}, rules(0, down_policies, s)), &h);
  };
  EXPECT_EQ(up(SelectPolicy::kMax).desired, 20);
  EXPECT_EQ(up(SelectPolicy::kMin).desired, 14);
  Normalized disabled = up(SelectPolicy::kDisabled);
  EXPECT_EQ(disabled.desired, 10);
  EXPECT_EQ(disabled.condition.reason, "ScaleUpLimit");
  EXPECT_EQ(down(SelectPolicy::kMax).desired, 5);
  EXPECT_EQ(down(SelectPolicy::kMin).desired, 8);
  EXPECT_EQ(down(SelectPolicy::kDisabled).desired, 10);
}

TEST(NormalizationTest, MinMaxInsideRateLimits) {
  HpaHistory h;
  Normalized n = normalizeWithBehavior(10, 50, 1, 12, kNow, resolved({}, {}), &h);
  EXPECT_EQ(n.desired, 12);
  EXPECT_EQ(n.condition.reason, "TooManyReplicas");
  ResolvedBehavior fast_down = resolved({}, rules(0, {percent(100, 15)}));
  n = normalizeWithBehavior(10, 1, 3, 20, kNow, fast_down, &h);
  EXPECT_EQ(n.desired, 3);
  EXPECT_EQ(n.condition.reason, "TooFewReplicas");
}

TEST(NormalizationTest, ScaleEventsMarkOutdatedAndReuse) {
  ResolvedBehavior b = resolved(rules(0, {pods(4, 15), percent(100, 60)}), {});
  HpaHistory h;
  h.scale_up_events = {{2, kNow - seconds(100), false}, {1, kNow - seconds(30), false}};
  storeScaleEvent(b, 5, 8, kNow, &h);  // longest period 60 s: the 100 s old event is outdated
  ASSERT_EQ(h.scale_up_events.size(), 2u);
  EXPECT_EQ(h.scale_up_events[0].replica_change, 3);
  EXPECT_EQ(h.scale_up_events[0].timestamp, kNow);
  EXPECT_FALSE(h.scale_up_events[0].outdated);
  EXPECT_EQ(h.scale_up_events[1].replica_change, 1);

  // The outdated flag persists; the LAST outdated event is the one replaced.
  HpaHistory g;
  g.scale_up_events = {{2, kNow - seconds(100), true}, {3, kNow - seconds(90), false},
                       {1, kNow - seconds(10), false}};
  storeScaleEvent(b, 5, 6, kNow, &g);
  ASSERT_EQ(g.scale_up_events.size(), 3u);
  EXPECT_TRUE(g.scale_up_events[0].outdated);
  EXPECT_EQ(g.scale_up_events[1].replica_change, 1);
  EXPECT_FALSE(g.scale_up_events[1].outdated);
  EXPECT_EQ(g.scale_up_events[2].replica_change, 1);

  // No outdated event: appended. Scale-downs go to their own list.
  HpaHistory e;
  storeScaleEvent(b, 8, 5, kNow, &e);
  ASSERT_EQ(e.scale_down_events.size(), 1u);
  EXPECT_EQ(e.scale_down_events[0].replica_change, 3);
  EXPECT_TRUE(e.scale_up_events.empty());
}

TEST(NormalizationTest, EventAgeEqualToLongestPeriodIsNotOutdated) {
  ResolvedBehavior b = resolved(rules(0, {pods(4, 60)}), {});
  HpaHistory h;
  h.scale_up_events = {{2, kNow - seconds(60), false}};
  storeScaleEvent(b, 5, 6, kNow, &h);
  EXPECT_EQ(h.scale_up_events.size(), 2u);
  EXPECT_FALSE(h.scale_up_events[0].outdated);
}

TEST(NormalizationTest, SeedHpaBehaviorScaleDownTenPercentPerMinute) {
  // The reference HPA's scaleDown: Percent 10 / 60 s, window 300 s. 20 replicas wanting 2, nothing recent
  // in the window → limit trunc(20 × 0.9) = 18.
  ResolvedBehavior b = resolved(rules(0, {percent(100, 15), pods(4, 15)}, SelectPolicy::kMax),
                                rules(300, {percent(10, 60)}));
  HpaHistory h;
  Normalized n = normalizeWithBehavior(20, 2, 2, 20, kNow, b, &h);
  EXPECT_EQ(n.desired, 18);
  EXPECT_EQ(n.condition.reason, "ScaleDownLimit");
  // One minute later, with that event 60 s old (outside the period), again 10%: trunc(16.2).
  storeScaleEvent(b, 20, 18, kNow, &h);
  h.recommendations.clear();
  n = normalizeWithBehavior(18, 2, 2, 20, kNow + seconds(60), b, &h);
  EXPECT_EQ(n.desired, 16);
  // 30 s after the first scale-down it is still inside: periodStart 20 → 18 = current → hold.
  h.recommendations.clear();
  n = normalizeWithBehavior(18, 2, 2, 20, kNow + seconds(30), b, &h);
  EXPECT_EQ(n.desired, 18);
}

}  // namespace
}  // namespace surge::autoscale
