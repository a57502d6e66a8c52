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
