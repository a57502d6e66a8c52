// planner/mdc: the exact M/D/N queue — Poisson arrivals at rate λ, constant service time D,
// N servers, one shared FCFS queue; a = λD, ρ = a/N < 1.
//
// Model (Crommelin 1932; Tijms, "A First Course in Stochastic Models", §9): the number of waiting
// requests X at any instant has the stationary law of X' = max(X + Pois(a) − N, 0). For a request
// arriving at τ and 0 ≤ u < D, j ≥ 0:  P(W > jD + u) = P(X + Pois(λ(D − u)) ≥ (j+1)N)
// (the earlier arrivals still present at τ+u are those waiting at τ+u−D plus those arriving in
// (τ+u−D, τ); each D afterwards removes N of them). E[W] = E[X]/λ, and T = W + D exactly.
//
// Solver (no roots, no factorials, no unstable recursions): X is the supremum of the random walk
// with steps Pois(a) − N, so E[z^X] = H(1)/H(z), where 1 − z^{−N}e^{a(z−1)} = [Π over its N zeros
// w in the unit disk of (1 − w/z)] · H(z) is its Wiener–Hopf factorisation and H has no zeros
// in |z| < z0 (z0 > 1 the real root of z^N = e^{a(z−1)}). log H is the non-negative-power part of
// the Laurent series of log(1 − z^{−N}e^{a(z−1)}) on the circle |z| = r = √z0, where that
// function never vanishes and has no winding (|z^{−N}e^{a(z−1)}| < 1 there): one FFT of samples of
// the log gives the coefficients, a second gives E[z^X] on the unit circle, a third the pmf of X.
// Aliasing is bounded by N·r^{−M}: the FFT length M is the power of two ≥ (45 + ln N)/ln r, about
// 90/(1−ρ) — it grows with 1/(1−ρ), not with N. Probabilities are accurate to ~1e-14 absolute.
// Limit: ρ ≤ kMaxUtilization (M ≤ 2^20); above it solve() returns OutOfRange.
//
// Complexity: solve O(M log M + √a); waitTail O(√a); percentiles O(j + 60·√a) for a wait
// percentile in [jD, (j+1)D). Thread-safety: MdnQueue is an immutable value.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace surge::planner {

class MdnQueue {
 public:
  static constexpr double kMaxUtilization = 0.9999;

  // InvalidArgument for non-positive inputs; FailedPrecondition when not strictly stable
  // (erlang.h strictlyStable); OutOfRange when ρ > kMaxUtilization.
  static StatusOr<MdnQueue> solve(double arrival_rate, double service_time, int64_t servers);

  int64_t servers() const { return n_; }
  double offeredLoad() const { return a_; }
  double utilization() const { return a_ / static_cast<double>(n_); }
  double pWait() const;                                // P(W > 0)
  double meanWaitingCount() const { return mean_x_; }  // E[X] = Lq
  double meanWait() const { return mean_x_ / lambda_; }
  double meanResponse() const { return meanWait() + d_; }
  double waitTail(double t) const;  // P(W > t)
  double waitPercentile(double p) const;
  double responsePercentile(double p) const { return waitPercentile(p) + d_; }

  // P(X = j) for j < size (0 beyond), and the FFT length used.
  const std::vector<double>& waitingCountPmf() const { return pmf_; }
  size_t fftSize() const { return fft_size_; }

 private:
  MdnQueue() = default;
  double atLeastX(int64_t j) const;                // P(X ≥ j)
  double tailOfSum(double mean, int64_t m) const;  // P(X + Pois(mean) ≥ m), m ≥ 1

  double lambda_ = 0, d_ = 0, a_ = 0, mean_x_ = 0;
  int64_t n_ = 0;
  size_t fft_size_ = 0;
  std::vector<double> pmf_;
  std::vector<double> at_least_;  // at_least_[j] = P(X ≥ j), size pmf_.size() + 1
};

}  // namespace surge::planner
