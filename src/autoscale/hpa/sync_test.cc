// runSync end to end: the guards, max over metrics, partial failures, and the legacy path.
#include <gtest/gtest.h>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/test_util.h"

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT

TEST(SyncTest, CpuScaleUpSimplePath) {
  SyncInput in = input(4, 1, 20);
  in.spec.metrics = {resourceUtilization("cpu", 50)};
  addPods(&in, 4, 900);  // 90% of 1000m → ratio 1.8 → ceil(1.8 × 4) = 8
  SyncResult r = runSync(in);
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(*r.metrics[0].proposal, 8);
  EXPECT_EQ(*r.metrics[0].current.average_utilization, 90);
  EXPECT_EQ(*r.metrics[0].current.average_value_milli, 900);
  EXPECT_EQ(r.proposal, 8);
  EXPECT_EQ(r.desired_replicas, 8);
  EXPECT_TRUE(r.scaled);
  EXPECT_EQ(r.condition.reason, "DesiredWithinRange");
}

}  // namespace
}  // namespace surge::autoscale

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT
using std::chrono::seconds;

// n pods with a Pods metric "rps" of `per_pod` (milli) each; target 100 per pod.
SyncInput rpsInput(int32_t current, int32_t min, int32_t max, int64_t per_pod) {
  SyncInput in = input(current, min, max);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&in, current, per_pod, "rps");
  return in;
}

TEST(SyncTest, MaxOverMetrics) {
  SyncInput in = rpsInput(4, 1, 20, 175000);  // rps 1.75 × 4 → 7
  in.spec.metrics.insert(in.spec.metrics.begin(), resourceUtilization("cpu", 50));
  for (int i = 0; i < 4; ++i) {
    in.metrics.pod_metrics["cpu"]["p" + std::to_string(i)] = {300, in.now, seconds(30)};
  }  // cpu 0.6 × 4 → 3
  SyncResult r = runSync(in);
  EXPECT_EQ(*r.metrics[0].proposal, 3);
  EXPECT_EQ(*r.metrics[1].proposal, 7);
  EXPECT_EQ(r.proposal, 7);
  EXPECT_EQ(r.desired_replicas, 7);
}

TEST(SyncTest, PartialFailureNeverScalesDown) {
  SyncInput in = rpsInput(4, 1, 20, 50000);  // rps alone would say 2
  in.spec.metrics.insert(in.spec.metrics.begin(), resourceUtilization("cpu", 50));
  in.metrics.failed["cpu"] = "metrics-server unavailable";
  SyncResult r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 4);
  EXPECT_FALSE(r.scaled);
  EXPECT_FALSE(r.metrics[0].proposal.has_value());
  EXPECT_EQ(*r.metrics[1].proposal, 2);
  EXPECT_EQ(r.condition.reason, "FailedGetResourceMetric");
  EXPECT_NE(r.condition.message.find("invalid metrics (1 invalid out of 2)"), std::string::npos);
  EXPECT_NE(r.condition.message.find("metrics-server unavailable"), std::string::npos);
  EXPECT_TRUE(r.history.recommendations.empty());  // no normalization ran
}

TEST(SyncTest, PartialFailureAllowsScaleUp) {
  SyncInput in = rpsInput(4, 1, 20, 175000);  // 7
  in.spec.metrics.insert(in.spec.metrics.begin(), resourceUtilization("cpu", 50));
  in.metrics.failed["cpu"] = "timeout";
  SyncResult r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 7);
  EXPECT_TRUE(r.scaled);
  EXPECT_EQ(r.condition.reason, "DesiredWithinRange");
}

TEST(SyncTest, AllMetricsFailedHolds) {
  SyncInput in = rpsInput(4, 1, 20, 175000);
  in.metrics.failed["rps"] = "prometheus down";
  in.history.reset();  // first sync: the initial recommendation is still stored
  SyncResult r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 4);
  EXPECT_FALSE(r.scaled);
  EXPECT_EQ(r.proposal, 4);
  EXPECT_EQ(r.condition.reason, "FailedGetPodsMetric");
  ASSERT_EQ(r.history.recommendations.size(), 1u);
  EXPECT_EQ(r.history.recommendations[0].replicas, 4);
}

TEST(SyncTest, CurrentZeroDisablesScaling) {
  SyncInput in = rpsInput(0, 1, 20, 0);
  in.metrics.pod_metrics["rps"]["x"] = {500000, in.now, seconds(30)};
  SyncResult r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 0);
  EXPECT_FALSE(r.scaled);
  EXPECT_EQ(r.condition.reason, "ScalingDisabled");
  EXPECT_TRUE(r.metrics.empty());
}

TEST(SyncTest, ScaleFromZeroWithMinZeroAndExternal) {
  SyncInput in = input(0, 0, 20);
  in.spec.metrics = {value(MetricSourceType::kExternal, "queue", 10000)};
  in.metrics.external_metrics["queue"] = {25000};
  SyncResult r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 3);  // ceil(2.5); legacy limit max(0, 4) = 4
  EXPECT_TRUE(r.scaled);
}

TEST(SyncTest, TooManyAndTooFewReplicasReadNoMetric) {
  SyncInput many = rpsInput(25, 2, 20, 100000);
  many.metrics.failed["rps"] = "would fail if read";
  SyncResult r = runSync(many);
  EXPECT_EQ(r.desired_replicas, 20);
  EXPECT_TRUE(r.scaled);
  EXPECT_EQ(r.condition.reason, "TooManyReplicas");
  EXPECT_TRUE(r.metrics.empty());
  SyncInput few = rpsInput(1, 2, 20, 100000);
  r = runSync(few);
  EXPECT_EQ(r.desired_replicas, 2);
  EXPECT_EQ(r.condition.reason, "TooFewReplicas");
}

TEST(SyncTest, OutOfRangeStoresScaleEventWithBehavior) {
  SyncInput in = rpsInput(25, 2, 20, 100000);
  in.spec.behavior = Behavior{};
  SyncResult r = runSync(in);
  ASSERT_EQ(r.history.scale_down_events.size(), 1u);
  EXPECT_EQ(r.history.scale_down_events[0].replica_change, 5);
}

TEST(SyncTest, FirstSyncSeedsHistoryAndBlocksLegacyScaleDown) {
  SyncInput in = rpsInput(6, 1, 20, 20000);  // proposal 0.2 × 6 → 2
  in.history.reset();
  SyncResult r = runSync(in);
  EXPECT_EQ(r.proposal, 2);
  EXPECT_EQ(r.stabilized_replicas, 6);  // the initial recommendation {6, now} is inside the window
  EXPECT_EQ(r.desired_replicas, 6);
  ASSERT_EQ(r.history.recommendations.size(), 2u);
  EXPECT_EQ(r.history.recommendations[0].replicas, 6);
  EXPECT_EQ(r.history.recommendations[1].replicas, 2);
}

TEST(SyncTest, LegacyStabilizationWindowAndStorage) {
  SyncInput in = rpsInput(6, 1, 20, 20000);  // proposal 2
  in.history->recommendations = {{5, in.now - seconds(400)},
                                 {4, in.now - seconds(300)},  // age == window: counts
                                 {3, in.now - seconds(100)}};
  SyncResult r = runSync(in);
  EXPECT_EQ(r.stabilized_replicas, 4);
  EXPECT_EQ(r.desired_replicas, 4);
  // The entry older than the window is overwritten in place; nothing appended.
  ASSERT_EQ(r.history.recommendations.size(), 3u);
  EXPECT_EQ(r.history.recommendations[0].replicas, 2);
  EXPECT_EQ(r.history.recommendations[0].timestamp, in.now);
  // Past the window everything is old: the proposal goes through.
  in.history->recommendations = {{5, in.now - seconds(301)}};
  r = runSync(in);
  EXPECT_EQ(r.desired_replicas, 2);
  EXPECT_TRUE(r.history.scale_down_events.empty());  // no events without behavior
}

TEST(SyncTest, LegacyScaleUpLimit) {
  SyncInput in = rpsInput(3, 1, 50, 1000000);  // proposal 30
  SyncResult r = runSync(in);
  EXPECT_EQ(r.proposal, 30);
  EXPECT_EQ(r.desired_replicas, 6);  // max(2 × 3, 4)
  EXPECT_EQ(r.condition.reason, "ScaleUpLimit");
  SyncInput one = rpsInput(1, 1, 50, 1000000);  // proposal 10
  r = runSync(one);
  EXPECT_EQ(r.desired_replicas, 4);  // max(2, 4)
  SyncInput capped = rpsInput(3, 1, 5, 1000000);
  r = runSync(capped);
  EXPECT_EQ(r.desired_replicas, 5);
  EXPECT_EQ(r.condition.reason, "TooManyReplicas");
  SyncInput low = rpsInput(3, 2, 5, 10000);  // proposal 1 < min 2
  low.history->recommendations.clear();
  r = runSync(low);
  EXPECT_EQ(r.desired_replicas, 2);
  EXPECT_EQ(r.condition.reason, "TooFewReplicas");
}

}  // namespace
}  // namespace surge::autoscale
