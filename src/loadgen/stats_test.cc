#include "loadgen/stats.h"

#include <gtest/gtest.h>

namespace surge::loadgen {
namespace {

TEST(Percentile, NearestRank) {
  std::vector<double> s;
  for (int i = 1; i <= 100; ++i) s.push_back(i);
  EXPECT_EQ(percentile(s, 0.5), 50);
  EXPECT_EQ(percentile(s, 0.95), 95);
  EXPECT_EQ(percentile(s, 0.99), 99);
  EXPECT_EQ(percentile(s, 1.0), 100);
  EXPECT_EQ(percentile(s, 0.0), 1);
  EXPECT_EQ(percentile({}, 0.5), 0);
  EXPECT_EQ(percentile({7}, 0.99), 7);
  EXPECT_EQ(percentile({1, 2, 3}, 0.5), 2);
}

TEST(LatencyRecorder, MeanMaxAndSortedSamples) {
  LatencyRecorder r;
  for (double v : {0.3, 0.1, 0.2}) r.record(v);
  EXPECT_EQ(r.count(), 3u);
  EXPECT_NEAR(r.mean(), 0.2, 1e-12);
  EXPECT_EQ(r.max(), 0.3);
  EXPECT_EQ(r.sorted(), (std::vector<double>{0.1, 0.2, 0.3}));
}

TEST(LatencyRecorder, ReservoirBoundsMemoryAndKeepsDistribution) {
  LatencyRecorder r(1000, 42);
  for (int i = 0; i < 100000; ++i) r.record(i % 100);
  EXPECT_EQ(r.count(), 100000u);
  auto s = r.sorted();
  ASSERT_EQ(s.size(), 1000u);
  EXPECT_NEAR(percentile(s, 0.5), 49, 5);
  EXPECT_NEAR(percentile(s, 0.9), 89, 5);
  EXPECT_EQ(r.max(), 99);
}

TEST(LevelResult, FillsPercentilesAndCountsErrors) {
  LatencyRecorder r;
  for (int i = 1; i <= 1000; ++i) r.record(i / 1000.0);
  LevelResult l;
  l.fillLatency(r);
  EXPECT_DOUBLE_EQ(l.p50_s, 0.5);
  EXPECT_DOUBLE_EQ(l.p99_s, 0.99);
  EXPECT_DOUBLE_EQ(l.p999_s, 0.999);
  EXPECT_DOUBLE_EQ(l.max_s, 1.0);
  EXPECT_DOUBLE_EQ(l.min_s, 0.001);
  l.errors[503] = 2;
  l.errors[0] = 3;
  EXPECT_EQ(l.errorCount(), 5u);
}

}  // namespace
}  // namespace surge::loadgen
