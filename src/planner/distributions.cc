#include "planner/distributions.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/status.h"

namespace surge::planner {
namespace {

constexpr double kCutoff = 1e-30;  // relative to the mode

}  // namespace

PmfWindow::PmfWindow(int64_t lo, std::vector<double> weights) : lo_(lo), p_(std::move(weights)) {
  SURGE_CHECK(!p_.empty());
  double total = 0;
  for (double w : p_) total += w;
  for (double& w : p_) w /= total;
  const size_t n = p_.size();
  upper_.assign(n + 1, 0.0);
  for (size_t i = n; i-- > 0;) upper_[i] = upper_[i + 1] + p_[i];
  lower_.assign(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) lower_[i + 1] = lower_[i] + p_[i];
}

double PmfWindow::pmf(int64_t k) const {
  if (k < lo_ || k > hi()) return 0;
  return p_[static_cast<size_t>(k - lo_)];
}

double PmfWindow::atLeast(int64_t k) const {
  if (k <= lo_) return 1;
  if (k > hi()) return 0;
  const size_t i = static_cast<size_t>(k - lo_);
  return upper_[i] <= 0.5 ? upper_[i] : 1 - lower_[i];
}

double PmfWindow::below(int64_t k) const {
  if (k <= lo_) return 0;
  if (k > hi()) return 1;
  const size_t i = static_cast<size_t>(k - lo_);
  return lower_[i] <= 0.5 ? lower_[i] : 1 - upper_[i];
}

PmfWindow poissonWindow(double mean) {
  SURGE_CHECK(mean >= 0 && std::isfinite(mean));
  if (mean == 0) return PmfWindow(0, {1.0});
  const int64_t mode = static_cast<int64_t>(std::floor(mean));
  std::vector<double> up{1.0};  // relative to the mode
  for (int64_t i = mode;; ++i) {
    double next = up.back() * mean / static_cast<double>(i + 1);
    if (next<kCutoff&& static_cast<double>(i + 1)> mean) break;
    up.push_back(next);
  }
  std::vector<double> down;  // mode-1, mode-2, ...
  double cur = 1.0;
  for (int64_t i = mode; i > 0; --i) {
    cur *= static_cast<double>(i) / mean;
    if (cur < kCutoff) break;
    down.push_back(cur);
  }
  std::vector<double> w(down.rbegin(), down.rend());
  w.insert(w.end(), up.begin(), up.end());
  return PmfWindow(mode - static_cast<int64_t>(down.size()), std::move(w));
}

PmfWindow binomialWindow(int64_t n, double p) {
  SURGE_CHECK(n >= 0 && p > 0 && p <= 1);
  if (p == 1 || n == 0) return PmfWindow(p == 1 ? n : 0, {1.0});
  const double odds = p / (1 - p);
  int64_t mode = static_cast<int64_t>(std::floor(static_cast<double>(n + 1) * p));
  mode = std::clamp<int64_t>(mode, 0, n);
  std::vector<double> up{1.0};
  for (int64_t i = mode; i < n; ++i) {
    double next = up.back() * static_cast<double>(n - i) / static_cast<double>(i + 1) * odds;
    if (next < kCutoff) break;
    up.push_back(next);
  }
  std::vector<double> down;
  double cur = 1.0;
  for (int64_t i = mode; i > 0; --i) {
    cur *= static_cast<double>(i) / static_cast<double>(n - i + 1) / odds;
    if (cur < kCutoff) break;
    down.push_back(cur);
  }
  std::vector<double> w(down.rbegin(), down.rend());
  w.insert(w.end(), up.begin(), up.end());
  return PmfWindow(mode - static_cast<int64_t>(down.size()), std::move(w));
}

double regularizedGammaQ(double k, double x) {
  SURGE_CHECK(k > 0);
  if (!(x > 0)) return 1;
  if (std::isinf(x)) return 0;
  const double log_prefactor = -x + k * std::log(x) - std::lgamma(k);
  constexpr double kEps = 1e-17;
  if (x < k + 1) {
    // P(k, x) = e^{-x} x^k / Γ(k) · Σ x^n / (k (k+1) ... (k+n)).
    double term = 1.0 / k, sum = term;
    for (int n = 1; n < 100000; ++n) {
      term *= x / (k + n);
      sum += term;
      if (term < sum * kEps) break;
    }
    return std::max(0.0, 1.0 - sum * std::exp(log_prefactor));
  }
  // Q(k, x) = e^{-x} x^k / Γ(k) · 1/(x+1-k- 1(1-k)/(x+3-k- 2(2-k)/(x+5-k- ...))), Lentz.
  constexpr double kTiny = std::numeric_limits<double>::min() / kEps;
  double b = x + 1 - k;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - k);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps * 10) break;
  }
  return std::min(1.0, std::exp(log_prefactor) * h);
}

double gammaQuantileUpper(double k, double q) {
  SURGE_CHECK(k > 0 && q > 0 && q < 1);
  double lo = 0, hi = std::max(1.0, k);
  while (regularizedGammaQ(k, hi) > q) {
    lo = hi;
    hi *= 2;
  }
  for (int i = 0; i < 300 && hi - lo > 1e-14 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (regularizedGammaQ(k, mid) > q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

}  // namespace surge::planner
