// planner/erlang: M/M/N — Poisson arrivals at rate λ, exponential service of mean S (μ = 1/S),
// N identical servers, ONE shared FCFS queue (an ideal central dispatcher). A = λS Erlangs,
// ρ = A/N. Percentiles are over arriving requests.
//   Erlang B by the recursion B_0 = 1, B_n = A·B_{n−1}/(n + A·B_{n−1}) (never factorials);
//   Erlang C = N·B/(N − A(1 − B)) = P(wait > 0); θ = Nμ − λ; E[W] = C/θ;
//   P(W > t) = C·e^{−θt};  response T = W + own service:
//   P(T > t) = e^{−μt}[1 + C(1 − e^{−(N−1−A)μt})/(N−1−A)], evaluated through
//   g(y) = −expm1(−y)/y so that no e^{+|d|x} is ever formed (the naive form overflows to inf·0 at
//   N = 1). Percentiles by bisection to 1e-12 relative on brackets that provably contain them.
// Sources: A. K. Erlang (1917); Kleinrock, Queueing Systems vol. 1 §3.5; the response-time tail is
// the convolution of the Erlang-C wait with an exponential (hypoexponential when C > 0).
// Complexity: erlangB/erlangC O(N); tails O(1); percentiles O(60) tail evaluations.
// Thread-safety: pure functions; MmnQueue is an immutable value.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace surge::planner {

// Erlang B blocking probability of N servers offered A Erlangs (N ≥ 0, A ≥ 0).
double erlangB(int64_t servers, double offered_load);
// Erlang C probability of waiting; 1 when A ≥ N (unstable).
double erlangC(int64_t servers, double offered_load);

// Whether N servers are strictly stable for A Erlangs. A utilisation within 1e-12 of 1 counts as
// saturated: A is usually a product of decimals (6000 × 0.005), and "exactly 1" must not pass.
bool strictlyStable(int64_t servers, double offered_load);
// floor(A/N-per-replica) + 1 under the same rule: the fewest replicas of `slots` servers each that
// are strictly stable (A = 25, 1 slot → 26, never the ceil's 25).
int64_t minStableReplicas(double offered_load, int64_t slots);

class MmnQueue {
 public:
  // FailedPrecondition when not strictly stable; InvalidArgument for non-positive inputs.
  static StatusOr<MmnQueue> make(double arrival_rate, double service_time, int64_t servers);

  int64_t servers() const { return n_; }
  double offeredLoad() const { return a_; }
  double utilization() const { return a_ / static_cast<double>(n_); }
  double pWait() const { return c_; }
  double meanWait() const { return c_ / theta_; }
  double meanResponse() const { return meanWait() + s_; }
  double meanQueueLength() const { return lambda_ * meanWait(); }
  double waitTail(double t) const;      // P(W > t)
  double responseTail(double t) const;  // P(T > t)
  double waitPercentile(double p) const;
  double responsePercentile(double p) const;

 private:
  MmnQueue(double lambda, double s, int64_t n);
  double lambda_, s_, a_, theta_, c_;
  int64_t n_;
};

}  // namespace surge::planner
