#include "planner/availability.h"

#include <gtest/gtest.h>

#include <cmath>

namespace surge::planner {
namespace {

TEST(Availability, SmallExactCases) {
  EXPECT_NEAR(probAtLeastUp(3, 2, 0.9), 3 * 0.81 * 0.1 + 0.729, 1e-15);
  EXPECT_NEAR(probAtLeastUp(5, 5, 0.9), std::pow(0.9, 5), 1e-15);
  EXPECT_EQ(probAtLeastUp(5, 6, 0.9), 0.0);
  EXPECT_EQ(probAtLeastUp(5, 0, 0.9), 1.0);
  EXPECT_EQ(probAtLeastUp(7, 7, 1.0), 1.0);
  // Sum of the binomial pmf, term by term.
  double p = 0;
  for (int i = 18; i <= 40; ++i) {
    p += std::exp(std::lgamma(41.0) - std::lgamma(i + 1.0) - std::lgamma(41.0 - i) +
                  i * std::log(0.6) + (40 - i) * std::log(0.4));
  }
  EXPECT_NEAR(probAtLeastUp(40, 18, 0.6), p, 1e-13);
}

TEST(Availability, NPlusOneIsNotEnoughAtScale) {
  // 100 needed, each replica up 90% of the time: about 20 spares, not 1.
  auto r = sizeForAvailability(100, 0.9, 0.99);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->spares, 20);
  EXPECT_EQ(r->total_replicas, 120);
  EXPECT_GE(r->p_at_least_required_up, 0.99);
  EXPECT_LT(probAtLeastUp(119, 100, 0.9), 0.99);  // the smallest such count
  EXPECT_EQ(sizeForAvailability(100, 0.9, 0.999)->spares, 24);
  EXPECT_LT(probAtLeastUp(101, 100, 0.9), 0.001);  // N+1 almost never has 100 up
}

TEST(Availability, MinimalAndMonotone) {
  int64_t prev = 0;
  for (double target : {0.9, 0.99, 0.999, 0.9999, 0.99999}) {
    auto r = sizeForAvailability(32, 0.99, target);
    ASSERT_TRUE(r.isOk());
    EXPECT_GE(r->total_replicas, prev);
    prev = r->total_replicas;
    EXPECT_GE(probAtLeastUp(r->total_replicas, 32, 0.99), target);
    if (r->spares > 0) {
      EXPECT_LT(probAtLeastUp(r->total_replicas - 1, 32, 0.99), target);
    }
  }
  EXPECT_EQ(sizeForAvailability(10, 1.0, 0.99999)->spares, 0);
}

TEST(Availability, LargeCounts) {
  auto r = sizeForAvailability(1'000'000, 0.999, 0.9999);
  ASSERT_TRUE(r.isOk());
  // Mean down 1000, sd ~31.6: ~1000 + 3.7 sd spares.
  EXPECT_GT(r->spares, 1000);
  EXPECT_LT(r->spares, 1200);
}

TEST(Availability, RejectsBadInputs) {
  EXPECT_FALSE(sizeForAvailability(0, 0.9, 0.99).isOk());
  EXPECT_FALSE(sizeForAvailability(10, 0, 0.99).isOk());
  EXPECT_FALSE(sizeForAvailability(10, 0.9, 1.0).isOk());
  EXPECT_EQ(sizeForAvailability(9'000'000, 0.5, 0.99).status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace surge::planner
