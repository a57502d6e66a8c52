#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "metrics/exposition.h"
#include "metrics/metric_types.h"

namespace surge::metrics {
namespace {

TEST(Counter, IncrementsAndIgnoresNegative) {
  Counter c;
  EXPECT_EQ(c.value(), 0);
  c.inc();
  c.inc(2.5);
  c.inc(-10);
  c.inc(std::nan(""));
  EXPECT_DOUBLE_EQ(c.value(), 3.5);
}

TEST(Gauge, SetAndAdd) {
  Gauge g;
  g.set(10);
  g.add(-3);
  g.inc();
  g.dec();
  g.dec();
  EXPECT_DOUBLE_EQ(g.value(), 6);
  g.set(-1.5);
  EXPECT_DOUBLE_EQ(g.value(), -1.5);
}

TEST(Histogram, CumulativeBucketsWithInclusiveUpperBounds) {
  Histogram h({0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.2, 0.5, 0.7, 1.0, 3.0, 100.0}) h.observe(v);
  h.observe(std::nan(""));  // ignored
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_EQ(s.count, 8u);
  EXPECT_EQ(h.count(), 8u);
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.2 + 0.5 + 0.7 + 1.0 + 3.0 + 100.0);
  EXPECT_DOUBLE_EQ(h.sum(), s.sum);
  h.observe(-5);  // below the first bound
  EXPECT_EQ(h.snapshot().cumulative[0], 3u);
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.snapshot().cumulative, (std::vector<uint64_t>{3, 5, 7, 10}));
}

TEST(Buckets, Helpers) {
  std::vector<double> d = defaultLatencyBuckets();
  EXPECT_EQ(d.size(), 16u);
  EXPECT_DOUBLE_EQ(d.front(), 0.0005);
  EXPECT_DOUBLE_EQ(d.back(), 60);
  EXPECT_TRUE(validBuckets(d));
  EXPECT_EQ(exponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linearBuckets(0, 5, 3), (std::vector<double>{0, 5, 10}));
  EXPECT_FALSE(validBuckets({}));
  EXPECT_FALSE(validBuckets({1, 1}));
  EXPECT_FALSE(validBuckets({2, 1}));
  EXPECT_FALSE(validBuckets({1, std::numeric_limits<double>::infinity()}));
  EXPECT_FALSE(validBuckets({std::nan("")}));
}

TEST(Exposition, NumberFormatting) {
  EXPECT_EQ(formatValue(0), "0");
  EXPECT_EQ(formatValue(-0.0), "0");
  EXPECT_EQ(formatValue(42), "42");
  EXPECT_EQ(formatValue(-7), "-7");
  EXPECT_EQ(formatValue(1e6), "1000000");
  EXPECT_EQ(formatValue(1e18), "1000000000000000000");
  EXPECT_EQ(formatValue(0.005), "0.005");
  EXPECT_EQ(formatValue(0.0005), "0.0005");
  EXPECT_EQ(formatValue(0.1), "0.1");
  EXPECT_EQ(formatValue(2.5), "2.5");
  EXPECT_EQ(formatValue(1e-5), "1e-05");
  EXPECT_EQ(formatValue(1.5e20), "1.5e+20");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatValue(std::nan("")), "NaN");
  EXPECT_EQ(formatValue(1.0 / 3), "0.3333333333333333");
}

TEST(Exposition, Escaping) {
  std::string out;
  appendEscapedLabelValue(out, "a\\b\"c\nd");
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd");
  out.clear();
  appendEscapedHelp(out, "x \"quoted\" \\ y\nz");
  EXPECT_EQ(out, "x \"quoted\" \\\\ y\\nz");
  out.clear();
  appendLabels(out, {"a", "b"}, {"1", "\""}, "0.5");
  EXPECT_EQ(out, "{a=\"1\",b=\"\\\"\",le=\"0.5\"}");
  out.clear();
  appendLabels(out, {}, {});
  EXPECT_EQ(out, "");
  appendLabels(out, {}, {}, "+Inf");
  EXPECT_EQ(out, "{le=\"+Inf\"}");
}

TEST(Exposition, Names) {
  EXPECT_TRUE(validMetricName("surge_requests_total"));
  EXPECT_TRUE(validMetricName("ns:rule_1"));
  EXPECT_TRUE(validMetricName("_x"));
  EXPECT_FALSE(validMetricName("1x"));
  EXPECT_FALSE(validMetricName("a-b"));
  EXPECT_FALSE(validMetricName(""));
  EXPECT_TRUE(validLabelName("backend"));
  EXPECT_FALSE(validLabelName("__name__"));
  EXPECT_FALSE(validLabelName("a:b"));
  EXPECT_FALSE(validLabelName("9"));
}

TEST(Concurrency, FourThreadsSumExactly) {
  Counter c;
  Gauge g;
  Histogram h({1, 2});
  constexpr int kThreads = 4, kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        g.add(t % 2 == 0 ? 2 : -1);
        h.observe(i % 3);  // 0, 1, 2: one third in each bucket
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.value(), kThreads * kPerThread);
  EXPECT_EQ(g.value(), (2 - 1) * (kThreads / 2) * kPerThread);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPerThread);
  uint64_t at_most_one = 0;
  double sum = 0;
  for (int i = 0; i < kPerThread; ++i) {
    at_most_one += (i % 3 <= 1);
    sum += i % 3;
  }
  EXPECT_EQ(s.cumulative[0], kThreads * at_most_one);
  EXPECT_EQ(s.cumulative[1], s.count);
  EXPECT_DOUBLE_EQ(s.sum, kThreads * sum);
}

}  // namespace
}  // namespace surge::metrics
