// planner/allen_cunneen: G/G/N by the Allen–Cunneen approximation (Allen, "Probability,
// Statistics and Queueing Theory", 1978):  E[W] ≈ E[W_{M/M/N}]·(ca² + cs²)/2, with ca², cs² the
// squared coefficients of variation of inter-arrival and service times (equals Kingman's formula
// at N = 1, and M/M/N exactly at ca² = cs² = 1). It is a MEAN only.
//
// Percentiles here are a HEURISTIC (labelled so wherever shown): the wait is taken to be 0 with
// probability 1 − C and exponential otherwise, with C the Erlang C probability and the mean
// matching Allen–Cunneen (rate θ' = C/E[W] = 2θ/(ca² + cs²)); the service time is taken to be
// gamma with mean S and squared CV cs² (constant when cs² = 0); the response time is their sum:
//   P(T > t) = P(S > t) + C·E[e^{−θ'(t−S)}; S ≤ t],
// integrated numerically (adaptive Simpson over the wait). With ca² = cs² = 1 this is exactly
// the M/M/N response-time tail; with cs² = 0 it is S + the exponential wait.
// Complexity: tails O(hundreds of incomplete-gamma evaluations); percentiles × 60.
// Thread-safety: AllenCunneenQueue is an immutable value.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace surge::planner {

class AllenCunneenQueue {
 public:
  // ca2, cs2 ≥ 0. Errors as MmnQueue::make.
  static StatusOr<AllenCunneenQueue> make(double arrival_rate, double service_time, int64_t servers,
                                          double ca2, double cs2);

  int64_t servers() const { return n_; }
  double offeredLoad() const { return a_; }
  double utilization() const { return a_ / static_cast<double>(n_); }
  double pWait() const { return c_; }  // Erlang C (the approximation's own P(wait))
  double meanWait() const { return mean_wait_; }
  double meanResponse() const { return mean_wait_ + s_; }

  // Heuristic tails and percentiles (see above).
  double waitTail(double t) const;
  double responseTail(double t) const;
  double waitPercentile(double p) const;
  double responsePercentile(double p) const;

  // The p-percentile of the service time alone under the gamma model (S when cs² = 0): no
  // number of servers brings the response percentile below it.
  static double servicePercentile(double service_time, double cs2, double p);

 private:
  AllenCunneenQueue() = default;
  double serviceTail(double t) const;  // P(S > t)

  double lambda_ = 0, s_ = 0, a_ = 0, ca2_ = 1, cs2_ = 1, c_ = 0, mean_wait_ = 0, theta_w_ = 0;
  int64_t n_ = 0;
};

}  // namespace surge::planner
