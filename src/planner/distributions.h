// planner/distributions: the few distributions the queueing models need, computed without
// factorials and without overflow.
//  - PmfWindow: a discrete pmf kept only where it is ≥ 1e-30 of its mode, renormalised to 1,
//    with exact-ish tail sums (summed from the small end, so tiny tails keep their digits).
//    poissonWindow(mean) and binomialWindow(n, p) walk outwards from the mode with the ratio
//    recurrences (no lgamma cancellation at large means): O(√mean) entries.
//  - regularizedGammaQ(k, x) = Γ(k, x)/Γ(k): the series for x < k+1, the Legendre continued
//    fraction (modified Lentz) otherwise; ~1e-15 relative. gammaQuantile solves Q = q by bisection.
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <vector>

namespace surge::planner {

class PmfWindow {
 public:
  PmfWindow() = default;
  // `weights` for the values lo, lo+1, ...: any positive scale; normalised here.
  PmfWindow(int64_t lo, std::vector<double> weights);

  int64_t lo() const { return lo_; }
  int64_t hi() const { return lo_ + static_cast<int64_t>(p_.size()) - 1; }
  double pmf(int64_t k) const;
  // P(K ≥ k) and P(K < k); each accurate in its own small tail.
  double atLeast(int64_t k) const;
  double below(int64_t k) const;

 private:
  int64_t lo_ = 0;
  std::vector<double> p_;
  std::vector<double> upper_;  // upper_[i] = Σ_{j ≥ i} p_[j]
  std::vector<double> lower_;  // lower_[i] = Σ_{j < i} p_[j]
};

PmfWindow poissonWindow(double mean);                      // mean ≥ 0
PmfWindow binomialWindow(int64_t n, double success_prob);  // n ≥ 0, 0 < p ≤ 1

// Regularised upper incomplete gamma Q(k, x) = P(Gamma(k, 1) > x), k > 0.
double regularizedGammaQ(double k, double x);
// The x with Q(k, x) = q, 0 < q < 1, to 1e-13 relative.
double gammaQuantileUpper(double k, double q);

}  // namespace surge::planner
