#include "autoscale/predict/forecaster.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "autoscale/predict/least_squares.h"

namespace surge::autoscale {
namespace {

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Bucket {
  int64_t key = 0;   // floor(t / bucket_seconds)
  int64_t time = 0;  // mean sample time
  double rps = 0;    // mean rate
};

std::vector<Bucket> bucketize(const std::vector<RpsSample>& samples, int64_t width) {
  struct Acc {
    double sum = 0;
    long double time_sum = 0;
    size_t n = 0;
  };
  std::map<int64_t, Acc> acc;
  for (const RpsSample& s : samples) {
    Acc& a = acc[floorDiv(s.unix_seconds, width)];
    a.sum += s.rps;
    a.time_sum += static_cast<long double>(s.unix_seconds);
    ++a.n;
  }
  std::vector<Bucket> out;
  out.reserve(acc.size());
  for (const auto& [key, a] : acc) {
    out.push_back({key, static_cast<int64_t>(std::llround(a.time_sum / a.n)), a.sum / a.n});
  }
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + mid)) / 2;
  return m;
}

double robustSigma(const std::vector<double>& r) {
  const double med = median(r);
  std::vector<double> dev(r.size());
  for (size_t i = 0; i < r.size(); ++i) dev[i] = std::abs(r[i] - med);
  return 1.4826 * median(std::move(dev));
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

}  // namespace

Status SeasonalForecaster::fit(const std::vector<RpsSample>& samples) {
  fitted_ = false;
  flat_ = false;
  coefficients_.clear();
  spec_ = FeatureSpec{};
  sigma_ = phi_ = last_residual_ = 0;
  if (options_.bucket_seconds <= 0 || options_.day_harmonics < 1 || options_.week_harmonics < 1 ||
      options_.weekend_harmonics < 0 || options_.day_harmonics > 12 ||
      options_.week_harmonics > 12 || options_.weekend_harmonics > 12 ||
      !(options_.ridge >= 0) || !(options_.huber_k > 0) || !(options_.residual_clip > 0)) {
    return invalidArgument("forecaster: bad options (bucket_seconds > 0, harmonics 1..12, "
                           "ridge >= 0, huber_k > 0 and residual_clip > 0 required)");
  }
  if (samples.empty()) return invalidArgument("forecaster: no history to fit (0 samples)");
  for (const RpsSample& s : samples) {
    if (!std::isfinite(s.rps) || s.rps < 0) {
      return invalidArgument("forecaster: sample at " + std::to_string(s.unix_seconds) +
                             " has rps " + fmt("%g", s.rps) + " (must be a finite number >= 0)");
    }
  }
  const std::vector<Bucket> buckets = bucketize(samples, options_.bucket_seconds);
  double sum = 0;
  for (const RpsSample& s : samples) sum += s.rps;
  mean_ = sum / static_cast<double>(samples.size());
  t0_ = buckets.front().time;
  last_time_ = buckets.back().time;
  const int64_t coverage =
      (buckets.back().key - buckets.front().key + 1) * options_.bucket_seconds;
  const double days = static_cast<double>(coverage) / kSecondsPerDay;

  auto fallBack = [&](const std::string& why) {
    flat_ = true;
    fitted_ = true;
    last_residual_ = 0;
    summary_ = "flat mean " + fmt("%.6g", mean_) + " rps over " + std::to_string(samples.size()) +
               " samples (" + why + ")";
    return Status::ok();
  };
  if (coverage < options_.min_daily_seconds) {
    return fallBack("history covers " + fmt("%.3g", days * 24) + " h; daily seasonality needs " +
                    fmt("%.3g", options_.min_daily_seconds / 3600.0) + " h");
  }

  bool has_weekend = false, has_weekday = false;
  for (const Bucket& b : buckets) (weekdayOf(b.time) >= 5 ? has_weekend : has_weekday) = true;
  spec_.t0 = t0_;
  spec_.day_harmonics = options_.day_harmonics;
  if (coverage >= options_.min_weekly_seconds) {
    spec_.week_harmonics = options_.week_harmonics;
    spec_.weekend = has_weekend && has_weekday;
    spec_.weekend_harmonics = options_.weekend_harmonics;
  }
  spec_.trend = coverage >= options_.min_trend_seconds;
  const size_t p = featureCount(spec_);
  if (buckets.size() < 2 * p) {
    return fallBack(std::to_string(buckets.size()) + " buckets of " +
                    std::to_string(options_.bucket_seconds) + " s are too few for " +
                    std::to_string(p) + " features");
  }

  const size_t n = buckets.size();
  DenseMatrix x(n, p);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    computeFeatures(spec_, buckets[i].time, &x.data[i * p]);
    y[i] = buckets[i].rps;
  }
  std::vector<double> penalty(p, options_.ridge * static_cast<double>(n));
  penalty[0] = 0;  // the intercept is not shrunk
  std::vector<double> weights(n, 1.0);
  std::vector<double> residuals(n);
  std::vector<double> beta;
  size_t downweighted = 0;
  int iterations = 0;
  for (; iterations < std::max(1, options_.max_irls_iterations); ++iterations) {
    auto solved = solveRidgeLeastSquares(x, y, weights, penalty);
    if (!solved.isOk()) {
      return fallBack("regression failed: " + solved.status().message());
    }
    double change = 0, scale = 0;
    if (!beta.empty()) {
      for (size_t j = 0; j < p; ++j) {
        change = std::max(change, std::abs((*solved)[j] - beta[j]));
        scale = std::max(scale, std::abs((*solved)[j]));
      }
    }
    beta = std::move(solved).value();
    for (size_t i = 0; i < n; ++i) {
      double f = 0;
      for (size_t j = 0; j < p; ++j) f += x.at(i, j) * beta[j];
      residuals[i] = y[i] - f;
    }
    sigma_ = robustSigma(residuals);
    if (iterations > 0 && change <= 1e-7 * (1 + scale)) break;
    if (!(sigma_ > 1e-12 * (1 + std::abs(mean_)))) break;  // (near) exact fit: nothing to robustify
    const double c = options_.huber_k * sigma_;
    downweighted = 0;
    for (size_t i = 0; i < n; ++i) {
      const double a = std::abs(residuals[i]);
      weights[i] = a <= c ? 1.0 : c / a;
      if (a > c) ++downweighted;
    }
  }
  coefficients_ = beta;

  // Short-term correction: lag-1 autocorrelation of clipped residuals of adjacent buckets.
  const double clip = options_.residual_clip * sigma_;
  auto clipped = [&](double r) { return clip > 0 ? std::clamp(r, -clip, clip) : 0.0; };
  double num = 0, den = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double a = clipped(residuals[i]);
    den += a * a;
    if (buckets[i + 1].key == buckets[i].key + 1) num += a * clipped(residuals[i + 1]);
  }
  phi_ = options_.residual_correction && den > 0 ? std::clamp(num / den, 0.0, 0.995) : 0.0;
  last_residual_ = clipped(residuals[n - 1]);
  fitted_ = true;

  std::string tier = spec_.week_harmonics > 0 ? "daily+weekly" : "daily";
  summary_ = tier + " seasonal regression on " + std::to_string(n) + " buckets of " +
             std::to_string(options_.bucket_seconds) + " s (" + fmt("%.3g", days) + " days): " +
             std::to_string(p) + " features" + (spec_.trend ? " incl. trend" : ", no trend") +
             ", ridge " + fmt("%g", options_.ridge) + ", Huber k=" + fmt("%g", options_.huber_k) +
             " (" + std::to_string(downweighted) + " buckets down-weighted, " +
             std::to_string(iterations + 1) + " IRLS passes), robust sigma " +
             fmt("%.4g", sigma_) + " rps, residual phi " + fmt("%.3f", phi_) + "/bucket, mean " +
             fmt("%.6g", mean_) + " rps";
  return Status::ok();
}

double SeasonalForecaster::seasonal(int64_t unix_seconds) const {
  if (!fitted_ || flat_) return mean_;
  double buf[64];
  std::vector<double> heap;
  double* f = buf;
  const size_t p = coefficients_.size();
  if (p > 64) {
    heap.resize(p);
    f = heap.data();
  }
  computeFeatures(spec_, unix_seconds, f);
  double v = 0;
  for (size_t j = 0; j < p; ++j) v += f[j] * coefficients_[j];
  return v;
}

double SeasonalForecaster::correctedForecast(int64_t at, int64_t observed_at,
                                             double observed_residual) const {
  double v = seasonal(at);
  if (fitted_ && !flat_ && phi_ > 0 && at > observed_at && std::isfinite(observed_residual)) {
    const double clip = options_.residual_clip * sigma_;
    const double r = std::clamp(observed_residual, -clip, clip);
    const double lead = static_cast<double>(at - observed_at) / options_.bucket_seconds;
    v += r * std::pow(phi_, lead);
  }
  if (!std::isfinite(v)) return 0;
  return std::max(0.0, v);
}

double SeasonalForecaster::forecast(int64_t unix_seconds) const {
  return correctedForecast(unix_seconds, last_time_, last_residual_);
}

double SeasonalForecaster::forecastAfter(int64_t at, const std::vector<RpsSample>& recent) const {
  if (recent.empty()) return forecast(at);
  int64_t newest = recent.front().unix_seconds;
  for (const RpsSample& s : recent) newest = std::max(newest, s.unix_seconds);
  double rsum = 0;
  long double tsum = 0;
  size_t count = 0;
  for (const RpsSample& s : recent) {
    if (s.unix_seconds > newest - options_.bucket_seconds && std::isfinite(s.rps)) {
      rsum += s.rps - seasonal(s.unix_seconds);
      tsum += static_cast<long double>(s.unix_seconds);
      ++count;
    }
  }
  if (count == 0) return forecast(at);
  return correctedForecast(at, static_cast<int64_t>(std::llround(tsum / count)), rsum / count);
}

std::string SeasonalForecaster::summary() const {
  return fitted_ ? summary_ : "not fitted";
}

std::vector<std::string> SeasonalForecaster::featureNames() const {
  return autoscale::featureNames(spec_);
}

int32_t predictiveReplicas(double forecast_rps, double rps_per_replica, int32_t min_replicas) {
  const int32_t floor_replicas = std::max<int32_t>(0, min_replicas);
  if (!(rps_per_replica > 0) || !std::isfinite(rps_per_replica) || std::isnan(forecast_rps)) {
    return floor_replicas;
  }
  if (forecast_rps <= 0) return floor_replicas;
  const double r = std::ceil(forecast_rps / rps_per_replica);
  const double cap = static_cast<double>(std::numeric_limits<int32_t>::max());
  const int32_t replicas = r >= cap ? std::numeric_limits<int32_t>::max() : static_cast<int32_t>(r);
  return std::max(replicas, floor_replicas);
}

}  // namespace surge::autoscale
