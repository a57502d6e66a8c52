#include "planner/erlang.h"

#include <gtest/gtest.h>

#include <cmath>

#include "planner/littles_law.h"

namespace surge::planner {
namespace {

// Erlang C from its textbook closed form (factorials), for small N only.
double erlangCClosedForm(int n, double a) {
  double sum = 0, term = 1;  // a^k/k!
  for (int k = 0; k < n; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double top = term * n / (n - a);  // a^N/N! · N/(N−A)
  return top / (sum + top);
}

TEST(Erlang, KnownValues) {
  EXPECT_NEAR(erlangC(3, 2), 4.0 / 9.0, 1e-15);
  EXPECT_NEAR(erlangC(2, 1), 1.0 / 3.0, 1e-15);  // M/M/2 at ρ = 1/2: 2ρ²/(1+ρ)
  EXPECT_NEAR(erlangC(1, 0.7), 0.7, 1e-15);      // M/M/1: P(wait) = ρ
  EXPECT_NEAR(erlangB(1, 1), 0.5, 1e-15);
  EXPECT_NEAR(erlangB(2, 1), 0.2, 1e-15);  // (1/2)/(1 + 1 + 1/2)
  EXPECT_EQ(erlangC(5, 5), 1.0);           // A ≥ N: always wait
  EXPECT_EQ(erlangC(5, 7), 1.0);
  // Call-centre textbook values: 10 Erlangs on 12 agents wait with probability 0.4494,
  // 4 Erlangs on 5 agents with 0.5541.
  EXPECT_NEAR(erlangC(12, 10), 0.449388, 1e-6);
  EXPECT_NEAR(erlangC(5, 4), 0.554113, 1e-6);
}

TEST(Erlang, MatchesClosedFormForSmallN) {
  for (int n = 1; n <= 30; ++n) {
    for (double rho : {0.05, 0.3, 0.7, 0.95}) {
      const double a = rho * n;
      EXPECT_NEAR(erlangC(n, a), erlangCClosedForm(n, a), 1e-12) << n << " " << rho;
    }
  }
}

TEST(Erlang, MM1ClosedForms) {
  const double lambda = 80, s = 0.01;  // μ = 100, ρ = 0.8
  auto q = MmnQueue::make(lambda, s, 1);
  ASSERT_TRUE(q.isOk());
  EXPECT_NEAR(q->pWait(), 0.8, 1e-14);
  EXPECT_NEAR(q->meanWait(), 0.8 / (100 - 80), 1e-14);
  EXPECT_NEAR(q->meanResponse(), 1.0 / (100 - 80), 1e-14);
  // T ~ Exp(μ − λ): p99 = ln(100)/(μ − λ); W: ρ·e^{−(μ−λ)t} = 0.01.
  EXPECT_NEAR(q->responsePercentile(0.99), std::log(100) / 20, 1e-9 * std::log(100) / 20);
  EXPECT_NEAR(q->waitPercentile(0.99), std::log(80) / 20, 1e-12);
  EXPECT_NEAR(q->responseTail(0.1), std::exp(-2.0), 1e-14);
}

TEST(Erlang, ResponseTailAgreesWithNumericConvolution) {
  // P(T > t) = (1−C)e^{−μt} + C·P(Exp(θ) + Exp(μ) > t), integrated numerically.
  for (auto [n, a] : {std::pair{1, 0.9}, {3, 2.0}, {4, 2.5}, {10, 9.5}, {50, 30.0}}) {
    auto q = MmnQueue::make(a, 1.0, n);
    ASSERT_TRUE(q.isOk());
    const double c = q->pWait(), theta = n - a;
    for (double t : {0.1, 1.0, 3.0, 10.0}) {
      double integral = 0;  // ∫_0^t θe^{−θw} e^{−(t−w)} dw
      const int steps = 200000;
      for (int i = 0; i < steps; ++i) {
        const double w = (i + 0.5) * t / steps;
        integral += theta * std::exp(-theta * w) * std::exp(-(t - w)) * t / steps;
      }
      const double expected = (1 - c) * std::exp(-t) + c * (std::exp(-theta * t) + integral);
      EXPECT_NEAR(q->responseTail(t), expected, 1e-9) << n << " " << a << " " << t;
    }
  }
}

TEST(Erlang, ResponseTailContinuousAcrossDZero) {
  // N − 1 − A = 0 uses the limit 1 + C·μt; neighbours on both sides must agree.
  auto at = [](double a, double t) { return MmnQueue::make(a, 1.0, 3)->responseTail(t); };
  for (double t : {0.5, 2.0, 8.0}) {
    EXPECT_NEAR(at(2.0, t), at(2.0 - 1e-9, t), 1e-8);
    EXPECT_NEAR(at(2.0, t), at(2.0 + 1e-9, t), 1e-8);
  }
}

TEST(Erlang, PercentilesInvertTheTails) {
  for (auto [n, rho] : {std::pair{1, 0.5}, {8, 0.9}, {200, 0.98}, {2000, 0.999}}) {
    auto q = MmnQueue::make(rho * n, 0.02, n);
    ASSERT_TRUE(q.isOk());
    for (double p : {0.5, 0.9, 0.99, 0.999}) {
      const double t = q->responsePercentile(p);
      EXPECT_NEAR(q->responseTail(t), 1 - p, 1e-9 * (1 - p)) << n << " " << rho << " " << p;
      const double w = q->waitPercentile(p);
      if (w > 0) {
        EXPECT_NEAR(q->waitTail(w), 1 - p, 1e-12);
      } else {
        EXPECT_LE(q->pWait(), (1 - p) * (1 + 1e-12));
      }
    }
  }
}

TEST(Erlang, WaitPercentileZeroAtTheBoundary) {
  // 1 − 0.9 is 0.09999999999999998 in double; C = 0.1 must still give a zero wait percentile.
  auto q = MmnQueue::make(0.1, 1.0, 1);  // M/M/1, C = ρ = 0.1
  ASSERT_TRUE(q.isOk());
  EXPECT_EQ(q->waitPercentile(0.9), 0.0);
}

TEST(Erlang, FiniteEverywhere) {
  // N = 1..5000 at utilisations up to 0.999: no NaN, no inf, ordered.
  for (int n = 1; n <= 5000; n += (n < 100 ? 1 : 37)) {
    for (double rho : {0.1, 0.5, 0.9, 0.99, 0.999}) {
      auto q = MmnQueue::make(rho * n, 0.05, n);
      ASSERT_TRUE(q.isOk()) << n << " " << rho;
      const double c = q->pWait(), w = q->waitPercentile(0.99), t = q->responsePercentile(0.99);
      ASSERT_TRUE(std::isfinite(c) && c >= 0 && c <= 1) << n << " " << rho;
      ASSERT_TRUE(std::isfinite(w) && w >= 0) << n << " " << rho;
      ASSERT_TRUE(std::isfinite(t)) << n << " " << rho;
      ASSERT_GE(t, 0.05 * std::log(100) * (1 - 1e-12)) << n << " " << rho;
      // The bisection bracket: T_p ≤ W_{p'} + S·ln(1/(1−p')), p' = (1+p)/2.
      ASSERT_LE(t, q->waitPercentile(0.995) + 0.05 * std::log(200) + 1e-12) << n << " " << rho;
      ASSERT_TRUE(std::isfinite(q->responseTail(100.0))) << n << " " << rho;
    }
  }
}

TEST(Erlang, MoreServersLowerPercentiles) {
  const double lambda = 900, s = 0.01;  // A = 9
  double prev = INFINITY;
  for (int n = 10; n <= 30; ++n) {
    const double t = MmnQueue::make(lambda, s, n)->responsePercentile(0.99);
    EXPECT_LT(t, prev) << n;
    prev = t;
  }
}

TEST(Erlang, StabilityIsStrict) {
  EXPECT_FALSE(strictlyStable(25, 25.0));
  EXPECT_TRUE(strictlyStable(26, 25.0));
  EXPECT_EQ(minStableReplicas(25.0, 1), 26);  // floor + 1, never ceil
  EXPECT_EQ(minStableReplicas(24.5, 1), 25);
  EXPECT_EQ(minStableReplicas(6000 * 0.005, 1), 31);
  EXPECT_EQ(minStableReplicas(30, 4), 8);  // 30/4 = 7.5 → 8
  EXPECT_EQ(minStableReplicas(32, 4), 9);  // 32/4 = 8 exactly → 9
  EXPECT_EQ(minStableReplicas(0.001, 1), 1);
  EXPECT_EQ(MmnQueue::make(5000, 0.005, 25).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MmnQueue::make(0, 0.005, 25).status().code(), StatusCode::kInvalidArgument);
}

TEST(LittlesLaw, WorkedExample) {
  EXPECT_DOUBLE_EQ(concurrency(1000, 0.05), 50);  // 1000 rps × 50 ms = 50
  EXPECT_EQ(minStableReplicasFor(5000, 0.005, 1), 26);
  EXPECT_EQ(minStableReplicasFor(1000, 0.05, 10), 6);  // 50 concurrent / 10 per server → 5 + 1
}

}  // namespace
}  // namespace surge::planner
