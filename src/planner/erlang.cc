#include "planner/erlang.h"

#include <cmath>
#include <string>

namespace surge::planner {
namespace {

// g(y) = (1 − e^{−y})/y, g(0) = 1, for y ≥ 0.
double g(double y) { return y < 1e-300 ? 1.0 : -std::expm1(-y) / y; }

}  // namespace

double erlangB(int64_t servers, double offered_load) {
  double b = 1.0;
  for (int64_t n = 1; n <= servers; ++n) {
    const double ab = offered_load * b;
    b = ab / (static_cast<double>(n) + ab);
  }
  return b;
}

double erlangC(int64_t servers, double offered_load) {
  const double n = static_cast<double>(servers);
  if (!(offered_load < n)) return 1.0;
  const double b = erlangB(servers, offered_load);
  return n * b / (n - offered_load * (1 - b));
}

bool strictlyStable(int64_t servers, double offered_load) {
  return servers > 0 && offered_load < static_cast<double>(servers) * (1 - 1e-12);
}

int64_t minStableReplicas(double offered_load, int64_t slots) {
  // Smallest c with strictlyStable(c·slots, A).
  double per = offered_load / static_cast<double>(slots);
  int64_t c = static_cast<int64_t>(std::floor(per)) + 1;
  while (c > 1 && strictlyStable((c - 1) * slots, offered_load)) --c;
  while (!strictlyStable(c * slots, offered_load)) ++c;
  return c;
}

MmnQueue::MmnQueue(double lambda, double s, int64_t n)
    : lambda_(lambda), s_(s), a_(lambda * s), n_(n) {
  theta_ = (static_cast<double>(n_) - a_) / s_;
  c_ = erlangC(n_, a_);
}

StatusOr<MmnQueue> MmnQueue::make(double arrival_rate, double service_time, int64_t servers) {
  if (!(arrival_rate > 0 && std::isfinite(arrival_rate)) ||
      !(service_time > 0 && std::isfinite(service_time)) || servers < 1) {
    return invalidArgument("M/M/N needs arrival rate > 0, service time > 0 and servers ≥ 1");
  }
  if (!strictlyStable(servers, arrival_rate * service_time)) {
    return failedPrecondition("unstable: offered load " +
                              std::to_string(arrival_rate * service_time) + " Erlangs on " +
                              std::to_string(servers) + " servers");
  }
  return MmnQueue(arrival_rate, service_time, servers);
}

double MmnQueue::waitTail(double t) const {
  if (t < 0) return 1;
  return c_ * std::exp(-theta_ * t);
}

double MmnQueue::responseTail(double t) const {
  if (t <= 0) return 1;
  const double x = t / s_;                            // μt
  const double d = static_cast<double>(n_) - 1 - a_;  // N − 1 − A
  if (d >= 0) return std::exp(-x) * (1 + c_ * x * g(d * x));
  return std::exp(-x) + c_ * x * std::exp(-(static_cast<double>(n_) - a_) * x) * g(-d * x);
}

double MmnQueue::waitPercentile(double p) const {
  const double q = 1 - p;
  const double r = std::log(c_ / q);  // ≤ 0 (up to rounding) → no wait at the percentile
  if (r <= 1e-12) return 0;
  return r / theta_;
}

double MmnQueue::responsePercentile(double p) const {
  const double q = 1 - p;
  // T ≥ own service ⇒ t_p ≥ S·ln(1/q);  P(W > w_{p'}) ≤ 1−p' and P(S > S ln(1/(1−p'))) = 1−p'
  // with p' = (1+p)/2 ⇒ P(T > sum) ≤ 2(1−p') = q.
  const double p2 = 0.5 * (1 + p);
  double lo = s_ * std::log(1 / q);
  double hi = waitPercentile(p2) + s_ * std::log(1 / (1 - p2));
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
