#include "planner/mdc.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <string>

#include "planner/distributions.h"
#include "planner/erlang.h"
#include "planner/fft.h"

namespace surge::planner {
namespace {

using Complex = std::complex<double>;
constexpr size_t kMaxFft = size_t{1} << 20;

// expm1(s) − s without cancellation for small s.
double expm1MinusX(double s) {
  if (std::fabs(s) < 0.1) {
    double term = s * s / 2, sum = term;
    for (int k = 3; k < 30; ++k) {
      term *= s / k;
      sum += term;
      if (std::fabs(term) < 1e-18 * std::fabs(sum)) break;
    }
    return sum;
  }
  return std::expm1(s) - s;
}

// s = ln z0 > 0: the root of a·(e^s − 1) = N·s, found by Newton from the right (f is convex).
double lnZ0(double a, double n) {
  auto f = [&](double s) { return (a - n) * s + a * expm1MinusX(s); };
  constexpr double kCap = 700;  // e^700 is still finite; beyond it waiting is impossible anyway
  double s = 1;
  while (f(s) <= 0) {
    s *= 2;
    if (s >= kCap) return kCap;
  }
  for (int i = 0; i < 500; ++i) {
    const double fp = a * std::exp(s) - n;
    const double next = s - f(s) / fp;
    if (!(next < s) || s - next <= 1e-15 * s) break;
    s = next;
  }
  return s;
}

// log(1 − φ) for φ = e^{u + iv}, |φ| < 1 (so the principal branch is continuous).
Complex logOneMinus(double u, double v) {
  if (u < -745) return {0, 0};
  if (u < -0.6931471805599453) {  // |φ| < 1/2: no cancellation in 1 − φ
    const double e = std::exp(u);
    return {0.5 * std::log1p(e * e - 2 * e * std::cos(v)),
            std::atan2(-e * std::sin(v), 1 - e * std::cos(v))};
  }
  // 1 − e^u cos v = 2 sin²(v/2) − expm1(u) cos v, accurate when φ ≈ 1.
  const double sh = std::sin(0.5 * v);
  const double re = 2 * sh * sh - std::expm1(u) * std::cos(v);
  const double im = -std::exp(u) * std::sin(v);
  return {std::log(std::hypot(re, im)), std::atan2(im, re)};
}

}  // namespace

StatusOr<MdnQueue> MdnQueue::solve(double arrival_rate, double service_time, int64_t servers) {
  if (!(arrival_rate > 0 && std::isfinite(arrival_rate)) ||
      !(service_time > 0 && std::isfinite(service_time)) || servers < 1) {
    return invalidArgument("M/D/N needs arrival rate > 0, service time > 0 and servers ≥ 1");
  }
  const double a = arrival_rate * service_time;
  if (!strictlyStable(servers, a)) {
    return failedPrecondition("unstable: offered load " + std::to_string(a) + " Erlangs on " +
                              std::to_string(servers) + " servers");
  }
  const double n = static_cast<double>(servers);
  if (a / n > kMaxUtilization) {
    return Status(StatusCode::kOutOfRange,
                  "utilization " + std::to_string(a / n) +
                      " is above 0.9999, the limit of the exact M/D/c solver");
  }

  MdnQueue q;
  q.lambda_ = arrival_rate;
  q.d_ = service_time;
  q.a_ = a;
  q.n_ = servers;

  const double s = lnZ0(a, n);
  const double ell = std::min(0.5 * s, 50.0);  // ln r
  const double needed = (45 + std::log(n)) / ell;
  size_t m = 64;
  while (static_cast<double>(m) < needed && m < kMaxFft) m <<= 1;
  if (static_cast<double>(m) < needed) {
    return Status(StatusCode::kOutOfRange, "utilization too close to 1 for the exact M/D/c solver");
  }
  q.fft_size_ = m;
  const double md = static_cast<double>(m);

  // 1. Samples of log(1 − φ(z)) on |z| = r, φ(z) = z^{−N} e^{a(z−1)} = e^{u+iv}.
  const double r = std::exp(ell);
  const double u0 = (a - n) * ell + a * expm1MinusX(ell);  // ln φ(r) < 0
  const uint64_t n_mod = static_cast<uint64_t>(servers) % m;
  std::vector<Complex> buf(m);
  for (size_t k = 0; k < m; ++k) {
    const double kk = k <= m / 2 ? static_cast<double>(k) : static_cast<double>(k) - md;
    const double theta = 2 * std::numbers::pi * kk / md;
    const double sh = std::sin(0.5 * theta);
    const double u = u0 - 2 * a * r * sh * sh;  // a(r cos θ − 1) − N ln r
    if (u < -745) {  // |φ| underflows: log(1 − φ) = 0 (most samples when a is large)
      buf[k] = 0;
      continue;
    }
    // N·θ mod 2π, exactly from integers.
    const uint64_t ph = (n_mod * k) % m;
    const double phase = 2 * std::numbers::pi *
                         (ph <= m / 2 ? static_cast<double>(ph) : static_cast<double>(ph) - md) /
                         md;
    const double v = a * r * std::sin(theta) - phase;
    buf[k] = logOneMinus(u, v);
  }
  // 2. Laurent coefficients: index j < M/2 is the power j (scaled by r^j).
  fft(buf, /*inverse=*/false);
  std::vector<double> c(m / 2, 0.0);
  double sum_c = 0, mean = 0;
  for (size_t j = 1; j < m / 2; ++j) {
    c[j] = buf[j].real() / md * std::exp(-ell * static_cast<double>(j));
    sum_c += c[j];
    mean -= static_cast<double>(j) * c[j];
  }
  q.mean_x_ = std::max(0.0, mean);
  // 3. E[z^X] = exp(Σ c_j (1 − z^j)) on the unit circle, then its coefficients.
  std::fill(buf.begin(), buf.end(), Complex(0, 0));
  for (size_t j = 1; j < m / 2; ++j) buf[j] = c[j];
  fft(buf, /*inverse=*/true);
  for (size_t k = 0; k < m; ++k) {
    const Complex e = Complex(sum_c, 0) - buf[k];
    buf[k] = std::exp(e.real()) * Complex(std::cos(e.imag()), std::sin(e.imag()));
  }
  fft(buf, /*inverse=*/false);
  q.pmf_.resize(m);
  for (size_t j = 0; j < m; ++j) {
    const double x = buf[j].real() / md;
    q.pmf_[j] = x < 1e-16 ? 0.0 : x;  // below the rounding noise floor
  }
  while (q.pmf_.size() > 1 && q.pmf_.back() == 0) q.pmf_.pop_back();
  q.at_least_.assign(q.pmf_.size() + 1, 0.0);
  for (size_t j = q.pmf_.size(); j-- > 0;) q.at_least_[j] = q.at_least_[j + 1] + q.pmf_[j];
  // Normalise away the rounding of the last FFT (Σ = 1 ± 1e-15).
  const double total = q.at_least_[0];
  for (double& x : q.pmf_) x /= total;
  for (double& x : q.at_least_) x /= total;
  return q;
}

double MdnQueue::atLeastX(int64_t j) const {
  if (j <= 0) return 1;
  if (j >= static_cast<int64_t>(pmf_.size())) return 0;
  return at_least_[static_cast<size_t>(j)];
}

double MdnQueue::tailOfSum(double mean, int64_t m) const {
  // Σ_x P(X = x)·P(Pois ≥ m − x): x ≥ m contributes fully; m − x ≤ lo counts as certain.
  const PmfWindow w = poissonWindow(mean);
  double p = atLeastX(m);
  const int64_t lo = w.lo(), hi = w.hi();
  // x in [max(0, m − lo), m − 1]: P(Pois ≥ m − x) = 1 (m − x ≤ lo).
  const int64_t certain_from = std::max<int64_t>(0, m - lo);
  if (certain_from <= m - 1) p += atLeastX(certain_from) - atLeastX(m);
  const int64_t x_lo = std::max<int64_t>(0, m - hi);
  const int64_t x_hi = std::min<int64_t>(certain_from - 1, static_cast<int64_t>(pmf_.size()) - 1);
  for (int64_t x = x_lo; x <= x_hi; ++x) {
    p += pmf_[static_cast<size_t>(x)] * w.atLeast(m - x);
  }
  return std::min(1.0, p);
}

double MdnQueue::pWait() const { return tailOfSum(a_, n_); }

double MdnQueue::waitTail(double t) const {
  if (t < 0) return 1;
  const double jd = std::floor(t / d_);
  // Far beyond the pmf: (j+1)N exceeds every value X + Pois(≤ a < N) can take (also keeps the
  // index arithmetic below in range).
  if (jd > (static_cast<double>(pmf_.size()) + 1e6) / static_cast<double>(n_) + 3) return 0;
  const int64_t j = static_cast<int64_t>(jd);
  const double u = std::clamp(t - jd * d_, 0.0, d_);
  return tailOfSum(a_ * (1 - u / d_), (j + 1) * n_);
}

double MdnQueue::waitPercentile(double p) const {
  const double q = 1 - p;
  if (pWait() <= q * (1 + 1e-12)) return 0;
  // P(W > jD) = P(X ≥ jN) for j ≥ 1: find the interval [jD, (j+1)D) holding the percentile.
  int64_t j = 0;
  while (atLeastX((j + 1) * n_) > q) ++j;
  const int64_t m = (j + 1) * n_;
  const double base = static_cast<double>(j) * d_;
  double lo = 0, hi = d_;  // tail(base + lo) > q ≥ tail(base + hi)
  for (int i = 0; i < 200 && hi - lo > 1e-12 * (base + hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    if (tailOfSum(a_ * (1 - mid / d_), m) > q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return base + 0.5 * (lo + hi);
}

}  // namespace surge::planner
