#include "planner/mdc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "planner/erlang.h"

namespace surge::planner {
namespace {

double poissonPmf(double mean, int64_t k) {
  return std::exp(-mean + static_cast<double>(k) * std::log(mean) - std::lgamma(k + 1.0));
}

// Spitzer's identity for the supremum of the walk with steps Pois(a) − N (independent of the FFT
// solver): P(X = 0) = exp(−Σ_n P(S_n > 0)/n), E[X] = Σ_n E[S_n⁺]/n, S_n = Pois(na) − nN.
struct Spitzer {
  double p0, mean;
};
Spitzer spitzer(double a, int n_servers) {
  double log_p0 = 0, mean = 0;
  for (int n = 1; n < 20000; ++n) {
    const double m = n * a;
    const int64_t k0 = static_cast<int64_t>(n) * n_servers;
    double tail = 0, excess = 0;
    for (int64_t k = k0 + 1; k < k0 + 100000; ++k) {
      const double p = poissonPmf(m, k);
      tail += p;
      excess += p * static_cast<double>(k - k0);
      if (p < 1e-20 && static_cast<double>(k) > m) break;
    }
    log_p0 -= tail / n;
    mean += excess / n;
    if (tail < 1e-18) break;
  }
  return {std::exp(log_p0), mean};
}

TEST(Mdc, MD1PollaczekKhinchine) {
  for (double rho : {0.1, 0.5, 0.8, 0.9, 0.99, 0.999}) {
    const double d = 0.02;
    auto q = MdnQueue::solve(rho / d, d, 1);
    ASSERT_TRUE(q.isOk()) << q.status().toString();
    EXPECT_NEAR(q->pWait(), rho, 1e-12) << rho;
    const double pk = rho * d / (2 * (1 - rho));  // E[W] = ρD/(2(1−ρ))
    EXPECT_NEAR(q->meanWait(), pk, 1e-9 * pk) << rho;
    EXPECT_NEAR(q->meanResponse(), pk + d, 1e-9 * (pk + d));
  }
}

TEST(Mdc, MD1WaitingTimeDistributionOfErlang) {
  // Erlang (1909): P(W ≤ t) = (1−ρ) Σ_{k=0}^{⌊t/D⌋} [λ(kD − t)]^k / k! · e^{−λ(kD − t)}.
  for (double rho : {0.5, 0.8}) {
    const double d = 1, lambda = rho;
    auto q = MdnQueue::solve(lambda, d, 1);
    ASSERT_TRUE(q.isOk());
    for (double t : {0.0, 0.3, 1.0, 1.7, 2.5, 4.2}) {
      double cdf = 0;
      for (int k = 0; k <= static_cast<int>(std::floor(t / d)); ++k) {
        const double x = lambda * (k * d - t);
        cdf += std::pow(x, k) / std::tgamma(k + 1) * std::exp(-x);
      }
      cdf *= 1 - rho;
      EXPECT_NEAR(q->waitTail(t), 1 - cdf, 1e-11) << rho << " " << t;
    }
  }
}

TEST(Mdc, AgreesWithSpitzerSeries) {
  for (int n : {2, 3, 5, 10}) {
    for (double rho : {0.5, 0.8}) {
      const double a = rho * n;
      auto q = MdnQueue::solve(a, 1.0, n);
      ASSERT_TRUE(q.isOk());
      const Spitzer s = spitzer(a, n);
      EXPECT_NEAR(q->waitingCountPmf()[0], s.p0, 1e-10) << n << " " << rho;
      EXPECT_NEAR(q->meanWaitingCount(), s.mean, 1e-9 * s.mean + 1e-13) << n << " " << rho;
      EXPECT_NEAR(q->meanWait(), s.mean / a, 1e-9 * s.mean / a + 1e-13);
    }
  }
}

TEST(Mdc, AgreesWithTheEmbeddedChainIteratedDirectly) {
  // X' = max(X + Pois(a) − N, 0) on [0, 200), iterated to convergence (ρ = 0.7: fast mixing).
  const int n = 3;
  const double a = 2.1;
  const int size = 200;
  std::vector<double> pois(size);
  for (int k = 0; k < size; ++k) pois[k] = poissonPmf(a, k);
  std::vector<double> pi(size, 0.0);
  pi[0] = 1;
  for (int it = 0; it < 1500; ++it) {
    std::vector<double> next(size, 0.0);
    for (int x = 0; x < size; ++x) {
      if (pi[x] == 0) continue;
      for (int k = 0; k < size && x + k < size + n; ++k) {
        const int y = std::max(x + k - n, 0);
        if (y < size) next[y] += pi[x] * pois[k];
      }
    }
    pi = next;
  }
  auto q = MdnQueue::solve(a, 1.0, n);
  ASSERT_TRUE(q.isOk());
  const auto& pmf = q->waitingCountPmf();
  for (int x = 0; x < 40; ++x) {
    const double got = x < static_cast<int>(pmf.size()) ? pmf[x] : 0.0;
    EXPECT_NEAR(got, pi[x], 1e-12) << x;
  }
}

TEST(Mdc, AgreesWithCosmetatosAndWaitsLessThanExponentialService) {
  // Constant service halves the M/M/1 wait exactly; with N servers the ratio of mean waits
  // M/D/N : M/M/N follows Cosmetatos' (1975) interpolation 1/2·(1 + (1−ρ)(N−1)(√(4+5N) − 2)/
  // (16ρN)), known to be within ~1% in heavy traffic (and a few % at N = 100, ρ = 0.7).
  for (int n : {1, 2, 10, 100}) {
    for (double rho : {0.7, 0.9, 0.99}) {
      auto md = MdnQueue::solve(rho * n, 1.0, n);
      auto mm = MmnQueue::make(rho * n, 1.0, n);
      ASSERT_TRUE(md.isOk() && mm.isOk());
      const double ratio = md->meanWait() / mm->meanWait();
      const double cosmetatos =
          0.5 * (1 + (1 - rho) * (n - 1) * (std::sqrt(4 + 5.0 * n) - 2) / (16 * rho * n));
      EXPECT_GE(ratio, 0.5 - 1e-9) << n << " " << rho;
      EXPECT_LT(ratio, 1.0) << n << " " << rho;
      EXPECT_NEAR(ratio / cosmetatos, 1.0, n == 100 && rho == 0.7 ? 0.06 : 0.01) << n << " " << rho;
      if (n == 1) {
        EXPECT_NEAR(md->pWait(), mm->pWait(), 1e-12);  // P(wait) = ρ for any M/G/1
      } else {
        EXPECT_LT(md->pWait(), mm->pWait()) << n << " " << rho;
      }
    }
  }
}

TEST(Mdc, FiniteFromOneToThousandsOfServers) {
  for (int n : {1, 2, 3, 7, 20, 64, 100, 333, 1000, 2000, 5000}) {
    for (double rho : {0.05, 0.5, 0.9, 0.99, 0.999}) {
      auto q = MdnQueue::solve(rho * n / 0.01, 0.01, n);
      ASSERT_TRUE(q.isOk()) << n << " " << rho << " " << q.status().toString();
      EXPECT_LE(q->fftSize(), size_t{1} << 17);
      const double pw = q->pWait(), w = q->waitPercentile(0.99), ew = q->meanWait();
      ASSERT_TRUE(std::isfinite(pw) && pw >= 0 && pw <= 1) << n << " " << rho;
      ASSERT_TRUE(std::isfinite(w) && w >= 0) << n << " " << rho;
      ASSERT_TRUE(std::isfinite(ew) && ew >= 0) << n << " " << rho;
      EXPECT_EQ(q->responsePercentile(0.99), w + 0.01);
      double total = 0;
      for (double x : q->waitingCountPmf()) {
        ASSERT_TRUE(std::isfinite(x) && x >= 0);
        total += x;
      }
      EXPECT_NEAR(total, 1.0, 1e-12);
    }
  }
}

TEST(Mdc, PercentileInvertsTheTailAndTheTailIsContinuous) {
  for (auto [n, rho] : {std::pair{1, 0.9}, {4, 0.95}, {50, 0.99}, {1000, 0.999}}) {
    auto q = MdnQueue::solve(rho * n, 1.0, n);
    ASSERT_TRUE(q.isOk());
    for (double p : {0.9, 0.99, 0.999}) {
      const double w = q->waitPercentile(p);
      if (w == 0) {
        EXPECT_LE(q->pWait(), 1 - p);
        continue;
      }
      EXPECT_NEAR(q->waitTail(w), 1 - p, 1e-10) << n << " " << rho << " " << p;
      EXPECT_GT(q->waitTail(w * (1 - 1e-6)), 1 - p);
    }
    // Across lattice points jD the tail is continuous (stationarity of X).
    for (int j = 1; j <= 3; ++j) {
      EXPECT_NEAR(q->waitTail(j - 1e-12), q->waitTail(j), 1e-10) << n << " " << j;
    }
    EXPECT_EQ(q->waitTail(-1), 1.0);
    EXPECT_NEAR(q->waitTail(0), q->pWait(), 1e-15);
  }
}

TEST(Mdc, MoreServersLowerPercentiles) {
  double prev = INFINITY;
  for (int n = 10; n <= 25; ++n) {
    auto q = MdnQueue::solve(900, 0.01, n);  // A = 9
    ASSERT_TRUE(q.isOk());
    const double w = q->responsePercentile(0.99);
    EXPECT_LE(w, prev) << n;
    prev = w;
  }
}

TEST(Mdc, RefusesUnstableAndTooCloseToSaturation) {
  EXPECT_EQ(MdnQueue::solve(10, 1, 10).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MdnQueue::solve(0.99995, 1, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(MdnQueue::solve(-1, 1, 1).status().code(), StatusCode::kInvalidArgument);
  auto edge = MdnQueue::solve(0.9999, 1, 1);
  ASSERT_TRUE(edge.isOk());
  EXPECT_NEAR(edge->meanWait(), 0.9999 / (2 * 1e-4), 1e-6 * 0.9999 / (2 * 1e-4));
}

TEST(Mdc, VeryLightLoadHasNoWait) {
  auto q = MdnQueue::solve(1e-6, 1, 4);
  ASSERT_TRUE(q.isOk());
  EXPECT_LT(q->pWait(), 1e-20);
  EXPECT_EQ(q->waitPercentile(0.999), 0.0);
}

}  // namespace
}  // namespace surge::planner
