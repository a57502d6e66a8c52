#include "sim/service.h"

#include <cmath>
#include <numbers>

namespace surge::sim {

std::string_view serviceKindName(ServiceModel::Kind kind) {
  switch (kind) {
    case ServiceModel::Kind::kExponential:
      return "exponential";
    case ServiceModel::Kind::kDeterministic:
      return "deterministic";
    case ServiceModel::Kind::kLognormal:
      return "lognormal";
    case ServiceModel::Kind::kBatchCurve:
      return "batch_curve";
    case ServiceModel::Kind::kPercentiles:
      return "percentiles";
  }
  return "?";
}

double ServiceModel::meanSeconds(int64_t rows) const {
  if (kind == Kind::kBatchCurve) {
    return base + per_item * static_cast<double>(rows) + jitter / 2;
  }
  if (kind == Kind::kPercentiles) {
    double m = 0;
    for (size_t i = 1; i < quantiles.size(); ++i) {
      m += (quantiles[i].first - quantiles[i - 1].first) *
           (quantiles[i].second + quantiles[i - 1].second) / 2;
    }
    return m;
  }
  return mean;
}

int64_t ServiceModel::sampleNanos(int64_t rows, Random& random) const {
  double s = 0;
  switch (kind) {
    case Kind::kExponential:
      s = -mean * std::log1p(-random.uniformDouble());
      break;
    case Kind::kDeterministic:
      s = mean;
      break;
    case Kind::kLognormal: {
      double sigma2 = std::log1p(cv * cv);
      double mu = std::log(mean) - sigma2 / 2;
      double u1 = 1 - random.uniformDouble();  // (0, 1]
      double u2 = random.uniformDouble();
      double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
      s = std::exp(mu + std::sqrt(sigma2) * z);
      break;
    }
    case Kind::kBatchCurve:
      s = base + per_item * static_cast<double>(rows);
      if (jitter > 0) s += random.uniformDouble() * jitter;
      break;
    case Kind::kPercentiles: {
      const double u = random.uniformDouble();
      size_t i = 1;
      while (i + 1 < quantiles.size() && quantiles[i].first <= u) ++i;
      const auto& [q0, v0] = quantiles[i - 1];
      const auto& [q1, v1] = quantiles[i];
      s = q1 > q0 ? v0 + (v1 - v0) * (u - q0) / (q1 - q0) : v1;
      break;
    }
  }
  auto ns = static_cast<int64_t>(std::llround(s * 1e9));
  return ns > 0 ? ns : 1;
}

}  // namespace surge::sim
