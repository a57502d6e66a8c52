#include "planner/classic_formula.h"

#include <cmath>
#include <string>

#include "planner/cost.h"
#include "planner/exact.h"

namespace surge::planner {
namespace {

Status outOfRange(const char* field, const std::string& expected, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return invalidArgument(std::string(field) + ": must be " + expected + ", found " + buf);
}

}  // namespace

StatusOr<ClassicResult> classicFormula(const ClassicInputs& in) {
  if (!(std::isfinite(in.peak_rps) && in.peak_rps > 0)) {
    return outOfRange("peak_rps", "a number > 0", in.peak_rps);
  }
  if (!(std::isfinite(in.instance_rps) && in.instance_rps > 0)) {
    return outOfRange("instance_rps", "a number > 0", in.instance_rps);
  }
  if (!(in.failure_rate >= 0 && in.failure_rate <= 1)) {
    return outOfRange("failure_rate", "between 0 and 1", in.failure_rate);
  }
  if (!(std::isfinite(in.spike_headroom) && in.spike_headroom >= 0)) {
    return outOfRange("spike_headroom", "a number ≥ 0", in.spike_headroom);
  }
  if (in.redundancy < 0 || in.redundancy > kMaxReplicas) {
    return outOfRange("redundancy", "an integer between 0 and 10000000",
                      static_cast<double>(in.redundancy));
  }
  if (!(std::isfinite(in.price_per_hour) && in.price_per_hour >= 0)) {
    return outOfRange("price_per_hour", "a number ≥ 0", in.price_per_hour);
  }

  // Exact: base × (1 + headroom + failure) + redundancy, on the decimals as written.
  const Rational base =
      Rational::fromDouble(in.peak_rps) * Rational::fromDouble(in.instance_rps).inverse();
  const Rational headroom = base * Rational::fromDouble(in.spike_headroom);
  const Rational failure = base * Rational::fromDouble(in.failure_rate);
  const Rational sum =
      base + headroom + failure + Rational::integer(static_cast<uint64_t>(in.redundancy));
  auto total = sum.ceil(static_cast<uint64_t>(kMaxReplicas));
  if (!total.isOk()) {
    return Status(StatusCode::kOutOfRange, "the classic formula needs more than " +
                                               std::to_string(kMaxReplicas) +
                                               " replicas (peak_rps / instance_rps is too large)");
  }

  ClassicResult r;
  r.base_replicas = base.toDouble();
  r.spike_headroom_replicas = headroom.toDouble();
  r.redundancy_replicas = in.redundancy;
  r.failure_buffer_replicas = failure.toDouble();
  r.total_replicas = static_cast<int64_t>(*total);
  r.monthly_cost = monthlyCost(r.total_replicas, in.price_per_hour);
  r.cost_per_million_requests = costPerMillionRequests(r.monthly_cost, in.peak_rps);
  return r;
}

}  // namespace surge::planner
