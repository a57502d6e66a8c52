#include "planner/allen_cunneen.h"

#include <cmath>
#include <functional>

#include "planner/distributions.h"
#include "planner/erlang.h"

namespace surge::planner {
namespace {

double simpson(const std::function<double(double)>& f, double a, double b, double fa, double fm,
               double fb, double whole, double tol, int depth) {
  const double m = 0.5 * (a + b);
  const double lm = 0.5 * (a + m), rm = 0.5 * (m + b);
  const double flm = f(lm), frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm);
  const double right = (b - m) / 6 * (fm + 4 * frm + fb);
  const double delta = left + right - whole;
  if (depth <= 0 || std::fabs(delta) <= 15 * tol) return left + right + delta / 15;
  return simpson(f, a, m, fa, flm, fm, left, tol / 2, depth - 1) +
         simpson(f, m, b, fm, frm, fb, right, tol / 2, depth - 1);
}

double integrate(const std::function<double(double)>& f, double a, double b, double tol) {
  const double fa = f(a), fb = f(b), fm = f(0.5 * (a + b));
  const double whole = (b - a) / 6 * (fa + 4 * fm + fb);
  return simpson(f, a, b, fa, fm, fb, whole, tol, 40);
}

}  // namespace

StatusOr<AllenCunneenQueue> AllenCunneenQueue::make(double arrival_rate, double service_time,
                                                    int64_t servers, double ca2, double cs2) {
  if (!(ca2 >= 0 && std::isfinite(ca2)) || !(cs2 >= 0 && std::isfinite(cs2))) {
    return invalidArgument("Allen-Cunneen needs ca2 ≥ 0 and cs2 ≥ 0");
  }
  ASSIGN_OR_RETURN(MmnQueue mm, MmnQueue::make(arrival_rate, service_time, servers));
  AllenCunneenQueue q;
  q.lambda_ = arrival_rate;
  q.s_ = service_time;
  q.a_ = mm.offeredLoad();
  q.n_ = servers;
  q.ca2_ = ca2;
  q.cs2_ = cs2;
  q.c_ = mm.pWait();
  q.mean_wait_ = mm.meanWait() * (ca2 + cs2) / 2;
  // θ' = C/E[W]: the M/M/N rate θ scaled by 2/(ca² + cs²); no wait at all when both are 0.
  const double theta = (static_cast<double>(servers) - q.a_) / service_time;
  q.theta_w_ = ca2 + cs2 > 0 ? 2 * theta / (ca2 + cs2) : INFINITY;
  return q;
}

double AllenCunneenQueue::serviceTail(double t) const {
  if (t < 0) return 1;
  if (cs2_ == 0) return t < s_ ? 1 : 0;
  const double k = 1 / cs2_;
  return regularizedGammaQ(k, t * k / s_);
}

double AllenCunneenQueue::waitTail(double t) const {
  if (t < 0) return 1;
  if (std::isinf(theta_w_)) return 0;
  return c_ * std::exp(-theta_w_ * t);
}

double AllenCunneenQueue::responseTail(double t) const {
  if (t <= 0) return 1;
  if (std::isinf(theta_w_)) return serviceTail(t);
  if (cs2_ == 0) return t < s_ ? 1 : c_ * std::exp(-theta_w_ * (t - s_));
  // P(T > t) = (1 − C)·P(S > t) + C·[e^{−θ't} + ∫_0^t θ' e^{−θ'w} P(S > t − w) dw].
  auto integrand = [&](double w) {
    return theta_w_ * std::exp(-theta_w_ * w) * serviceTail(t - w);
  };
  const double integral = integrate(integrand, 0, t, 1e-12);
  return (1 - c_) * serviceTail(t) + c_ * (std::exp(-theta_w_ * t) + integral);
}

double AllenCunneenQueue::waitPercentile(double p) const {
  if (std::isinf(theta_w_)) return 0;
  const double r = std::log(c_ / (1 - p));
  return r <= 1e-12 ? 0 : r / theta_w_;
}

double AllenCunneenQueue::servicePercentile(double service_time, double cs2, double p) {
  if (cs2 == 0) return service_time;
  const double k = 1 / cs2;
  return gammaQuantileUpper(k, 1 - p) * service_time / k;
}

double AllenCunneenQueue::responsePercentile(double p) const {
  const double q = 1 - p;
  if (std::isinf(theta_w_)) return servicePercentile(s_, cs2_, p);
  if (cs2_ == 0) return s_ + waitPercentile(p);
  // Same bracket as M/M/N: own service alone, and the p'-wait + p'-service with p' = (1+p)/2.
  const double p2 = 0.5 * (1 + p);
  double lo = servicePercentile(s_, cs2_, p);
  double hi = waitPercentile(p2) + servicePercentile(s_, cs2_, p2);
  if (hi < lo) hi = lo;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (responseTail(mid) > q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

}  // namespace surge::planner
