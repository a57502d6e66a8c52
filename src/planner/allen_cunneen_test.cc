#include "planner/allen_cunneen.h"

#include <gtest/gtest.h>

#include <cmath>

#include "planner/distributions.h"
#include "planner/erlang.h"

namespace surge::planner {
namespace {

TEST(IncompleteGamma, KnownValues) {
  for (double x : {0.1, 1.0, 5.0, 30.0}) {
    EXPECT_NEAR(regularizedGammaQ(1, x), std::exp(-x), 1e-15);                        // exponential
    EXPECT_NEAR(regularizedGammaQ(3, x), std::exp(-x) * (1 + x + x * x / 2), 1e-14);  // Erlang-3
    EXPECT_NEAR(regularizedGammaQ(0.5, x), std::erfc(std::sqrt(x)), 1e-14);
  }
  EXPECT_EQ(regularizedGammaQ(2, 0), 1.0);
  EXPECT_NEAR(gammaQuantileUpper(1, 0.01), std::log(100), 1e-12);
}

TEST(AllenCunneen, ReducesToMMcAtUnitCoefficientsOfVariation) {
  for (auto [n, rho] : {std::pair{1, 0.8}, {5, 0.9}, {40, 0.95}}) {
    auto ac = AllenCunneenQueue::make(rho * n, 0.1, n, 1, 1);
    auto mm = MmnQueue::make(rho * n, 0.1, n);
    ASSERT_TRUE(ac.isOk() && mm.isOk());
    EXPECT_NEAR(ac->meanWait(), mm->meanWait(), 1e-15);
    EXPECT_NEAR(ac->pWait(), mm->pWait(), 1e-15);
    EXPECT_NEAR(ac->waitPercentile(0.99), mm->waitPercentile(0.99), 1e-12);
    for (double t : {0.05, 0.3, 1.0}) {
      EXPECT_NEAR(ac->responseTail(t), mm->responseTail(t), 1e-9) << n << " " << t;
    }
    EXPECT_NEAR(ac->responsePercentile(0.99), mm->responsePercentile(0.99),
                1e-7 * mm->responsePercentile(0.99));
  }
}

TEST(AllenCunneen, KingmanAtOneServer) {
  // E[W] ≈ ρ/(1−ρ)·(ca² + cs²)/2·S.
  const double s = 0.01, rho = 0.9;
  for (auto [ca2, cs2] : {std::pair{1.0, 0.0}, {0.5, 2.0}, {2.0, 3.0}}) {
    auto q = AllenCunneenQueue::make(rho / s, s, 1, ca2, cs2);
    ASSERT_TRUE(q.isOk());
    EXPECT_NEAR(q->meanWait(), rho / (1 - rho) * (ca2 + cs2) / 2 * s, 1e-12);
  }
}

TEST(AllenCunneen, ConstantServiceAddsServiceToTheWait) {
  auto q = AllenCunneenQueue::make(900, 0.01, 10, 1, 0);
  ASSERT_TRUE(q.isOk());
  EXPECT_NEAR(q->responsePercentile(0.99), 0.01 + q->waitPercentile(0.99), 1e-15);
  EXPECT_EQ(AllenCunneenQueue::servicePercentile(0.01, 0, 0.99), 0.01);
  // No variability at all: no wait.
  auto dd = AllenCunneenQueue::make(900, 0.01, 10, 0, 0);
  EXPECT_EQ(dd->meanWait(), 0);
  EXPECT_EQ(dd->responsePercentile(0.99), 0.01);
}

TEST(AllenCunneen, MoreVariabilityLongerTails) {
  double prev = 0;
  for (double cs2 : {0.25, 0.5, 1.0, 2.0, 4.0}) {
    auto q = AllenCunneenQueue::make(900, 0.01, 10, 1, cs2);
    ASSERT_TRUE(q.isOk());
    const double t = q->responsePercentile(0.99);
    EXPECT_TRUE(std::isfinite(t));
    EXPECT_GT(t, prev) << cs2;
    EXPECT_NEAR(q->responseTail(t), 0.01, 1e-9);
    prev = t;
  }
}

TEST(AllenCunneen, RejectsNegativeCoefficients) {
  EXPECT_FALSE(AllenCunneenQueue::make(1, 0.1, 1, -1, 1).isOk());
  EXPECT_FALSE(AllenCunneenQueue::make(1, 0.1, 1, 1, NAN).isOk());
}

}  // namespace
}  // namespace surge::planner
