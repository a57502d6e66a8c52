#include "planner/profile.h"

#include <gtest/gtest.h>

namespace surge::planner {
namespace {

LoadLevel closed(int64_t c, double ok_rps, double mean, int64_t requests = 1000,
                 int64_t errors = 0, bool stable = true) {
  LoadLevel l;
  l.closed = true;
  l.concurrency = c;
  l.requests = requests;
  l.errors = errors;
  l.ok = requests - errors;
  l.ok_rps = ok_rps;
  l.mean_latency_s = mean;
  l.stable = stable;
  return l;
}

TEST(Profile, ThroughputFromBestLevelServiceTimeFromLightest) {
  // One replica, 4 slots of 10 ms: c=1 → 100 rps at 10 ms; saturates near 400 rps.
  std::vector<LoadLevel> levels = {closed(1, 99, 0.0101), closed(2, 196, 0.0102),
                                   closed(4, 380, 0.0105), closed(8, 398, 0.020)};
  auto e = estimateFromLoadLevels(levels);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  EXPECT_DOUBLE_EQ(e->instance_rps, 398);
  EXPECT_EQ(e->instance_level, 3u);
  EXPECT_DOUBLE_EQ(e->service_time_s, 0.0101);
  EXPECT_EQ(e->service_level, 0u);
  EXPECT_EQ(e->slots, 4);  // round(398 × 0.0101) = round(4.02)
}

TEST(Profile, SkipsUnstableAndErroringLevels) {
  std::vector<LoadLevel> levels = {closed(1, 50, 0.02, 1000, 0, /*stable=*/false),
                                   closed(2, 100, 0.02), closed(64, 900, 0.07, 1000, 50)};
  auto e = estimateFromLoadLevels(levels);
  ASSERT_TRUE(e.isOk());
  EXPECT_DOUBLE_EQ(e->instance_rps, 100);  // the 900 rps level had 5% errors
  EXPECT_EQ(e->service_level, 1u);         // the c=1 level was not stable
  EXPECT_EQ(e->slots, 2);
}

TEST(Profile, OpenLoopUsesLowestRateForServiceTime) {
  LoadLevel a;
  a.closed = false;
  a.target_rps = 500;
  a.requests = a.ok = 5000;
  a.ok_rps = 500;
  a.mean_latency_s = 0.004;
  LoadLevel b = a;
  b.target_rps = 100;
  b.ok_rps = 100;
  b.mean_latency_s = 0.002;
  auto e = estimateFromLoadLevels({a, b});
  ASSERT_TRUE(e.isOk());
  EXPECT_DOUBLE_EQ(e->service_time_s, 0.002);
  EXPECT_DOUBLE_EQ(e->instance_rps, 500);
  EXPECT_EQ(e->slots, 1);
}

TEST(Profile, NoUsableLevelIsAnError) {
  auto e = estimateFromLoadLevels({closed(1, 10, 0.1, 100, 50)});
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("no load level"), std::string::npos);
  EXPECT_FALSE(estimateFromLoadLevels({}).isOk());
}

}  // namespace
}  // namespace surge::planner
