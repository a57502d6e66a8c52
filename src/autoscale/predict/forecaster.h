// Predictive scaling's model: a least-squares regression of the request rate on daily and weekly
// seasonality and a trend (at least the seed's features: hour, weekday, weekend flag, sin/cos of
// the hour), fitted on the recorded history, evaluated at now + horizon. Implemented in
// predict/*.cc. Times are Unix seconds (UTC): seasonality needs the wall clock.
// Thread-safety: a fitted forecaster is immutable; fit() is not concurrent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

class SeasonalForecaster {
 public:
  // Fits on the samples. Fails with a clear message when there are too few (under a day covers
  // less than the features need: then fall back to a flat mean and say so in summary()).
  Status fit(const std::vector<RpsSample>& samples);
  double forecast(int64_t unix_seconds) const;  // ≥ 0
  std::string summary() const;                  // the model in one line, for logs and explain
  bool fitted() const { return fitted_; }

 private:
  bool fitted_ = false;
  std::vector<double> coefficients_;
  double mean_ = 0;
  int64_t t0_ = 0;
  std::string summary_;
};

// ceil(forecast / rps_per_replica), at least min_replicas.
int32_t predictiveReplicas(double forecast_rps, double rps_per_replica, int32_t min_replicas);

}  // namespace surge::autoscale
