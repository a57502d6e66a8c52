#include "sim/histogram.h"

#include <gtest/gtest.h>

namespace surge::sim {
namespace {

TEST(LatencyHistogram, PercentilesWithinBucketResolution) {
  LatencyHistogram h(10);
  for (int64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 µs .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(h.percentileNanos(0.5) / 50e6, 1.0, 0.002);
  EXPECT_NEAR(h.percentileNanos(0.99) / 99e6, 1.0, 0.002);
  EXPECT_NEAR(h.meanNanos(), 50000.5e3, 1);
  EXPECT_EQ(h.maxNanos(), 100000000);
}

TEST(LatencyHistogram, SmallValuesExactAndClear) {
  LatencyHistogram h(7);
  for (int i = 0; i < 10; ++i) h.record(5);
  h.record(100);
  EXPECT_EQ(h.percentileNanos(0.5), 5);
  EXPECT_EQ(h.percentileNanos(1.0), 100);
  EXPECT_NEAR(h.fractionAbove(50), 1.0 / 11, 1e-12);
  h.clear();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentileNanos(0.99), 0);
}

TEST(LatencyHistogram, HugeValuesClampToLastBucket) {
  LatencyHistogram h(7);
  h.record(int64_t{1} << 50);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GT(h.percentileNanos(0.5), 1e13);
}

}  // namespace
}  // namespace surge::sim
