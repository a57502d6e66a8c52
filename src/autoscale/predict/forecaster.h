// Predictive scaling's model: a least-squares regression of the request rate on daily and weekly
// seasonality and a trend (at least the classic features: hour, weekday, weekend flag, sin/cos of
// the hour), fitted on the recorded history, evaluated at now + horizon. Implemented in
// predict/*.cc. Times are Unix seconds (UTC): seasonality needs the wall clock.
// fit(): samples → 5-minute bucket means → features (features.h) → ridge least squares by
// Householder QR (least_squares.h) inside Huber IRLS (robust to spikes; Huber 1964, scale
// 1.4826 · MAD) → the lag-1 autocorrelation of the residuals for a short-term correction that
// decays with the lead time. Tiers by history length: < 1 day flat mean, < 7 days daily terms
// only, < 14 days no trend. Complexity: fit O(buckets · features^2 · IRLS passes) (28 days of
// 15 s samples: ~0.1 s); forecast O(features). docs/design/predictive.md has the decisions.
// Thread-safety: a fitted forecaster is immutable; fit() is not concurrent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autoscale/predict/features.h"
#include "common/status.h"

namespace surge::autoscale {

struct RpsSample {
  int64_t unix_seconds = 0;
  double rps = 0;
};

// The history file: CSV "timestamp,rps" (header optional; timestamp = Unix seconds or RFC 3339).
// Errors name file, line and field.
StatusOr<std::vector<RpsSample>> loadRpsHistory(const std::string& path);
// Appends one line (creates the file with a header when missing).
Status appendRpsHistory(const std::string& path, const RpsSample& sample);

// Model knobs; the defaults are what docs/predictive.md measures.
struct ForecasterOptions {
  int64_t bucket_seconds = 300;  // samples are averaged into buckets before fitting
  int day_harmonics = 3;
  int week_harmonics = 3;
  int weekend_harmonics = 2;     // weekend × hour-of-day terms
  double ridge = 1e-4;           // penalty per bucket on every coefficient but the intercept
  double huber_k = 1.345;        // Huber threshold in robust sigmas (1.4826 · MAD)
  int max_irls_iterations = 30;
  int64_t min_daily_seconds = kSecondsPerDay;       // less history: flat mean
  int64_t min_weekly_seconds = 7 * kSecondsPerDay;  // less: daily terms only
  int64_t min_trend_seconds = 14 * kSecondsPerDay;  // less: no trend
  // Short-term correction: the last bucket's residual (clipped at residual_clip sigmas) decays
  // as phi^(lead / bucket), phi = the lag-1 autocorrelation of the fitted residuals.
  bool residual_correction = true;
  double residual_clip = 3.0;
};

// The interface every forecaster implements (the baselines and the combination:
// combined_forecaster.h). Times are Unix seconds.
class Forecaster {
 public:
  virtual ~Forecaster() = default;
  virtual Status fit(const std::vector<RpsSample>& samples) = 0;
  virtual double forecast(int64_t unix_seconds) const = 0;  // ≥ 0
  virtual std::string summary() const = 0;
};

class SeasonalForecaster : public Forecaster {
 public:
  SeasonalForecaster() = default;
  explicit SeasonalForecaster(const ForecasterOptions& options) : options_(options) {}

  // Fits on the samples. Fails with a clear message when there are too few (under a day covers
  // less than the features need: then fall back to a flat mean and say so in summary()).
  Status fit(const std::vector<RpsSample>& samples) override;
  double forecast(int64_t unix_seconds) const override;  // ≥ 0
  std::string summary() const override;  // the model in one line, for logs and explain
  bool fitted() const { return fitted_; }

  // The regression alone (no short-term correction, not clamped); the flat mean when flat.
  double seasonal(int64_t unix_seconds) const;
  // seasonal(at) plus a residual observed at `observed_at` decayed to `at`, clamped at ≥ 0.
  // forecast(t) is correctedForecast(t, end of the fitted history, its last residual).
  double correctedForecast(int64_t at, int64_t observed_at, double observed_residual) const;
  // forecast at `at` with the short-term correction taken from `recent` (the samples of the
  // last bucket before the newest one are averaged) instead of the fitted history's tail.
  double forecastAfter(int64_t at, const std::vector<RpsSample>& recent) const;

  bool flat() const { return flat_; }  // fell back to the flat mean
  const FeatureSpec& featureSpec() const { return spec_; }
  const std::vector<double>& coefficients() const { return coefficients_; }
  std::vector<std::string> featureNames() const;
  double residualSigma() const { return sigma_; }  // robust (1.4826 · MAD), per bucket
  double residualPhi() const { return phi_; }      // per bucket
  double mean() const { return mean_; }
  const ForecasterOptions& options() const { return options_; }

 private:
  ForecasterOptions options_;
  bool fitted_ = false;
  bool flat_ = false;
  FeatureSpec spec_;
  std::vector<double> coefficients_;
  double mean_ = 0;
  int64_t t0_ = 0;
  double sigma_ = 0;
  double phi_ = 0;
  int64_t last_time_ = 0;  // the last bucket's mean sample time
  double last_residual_ = 0;
  std::string summary_;
};

// ceil(forecast / rps_per_replica), at least min_replicas.
int32_t predictiveReplicas(double forecast_rps, double rps_per_replica, int32_t min_replicas);

}  // namespace surge::autoscale
