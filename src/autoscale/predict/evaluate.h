// Hold-out evaluation of the forecaster (`surge predict evaluate`, docs/predictive.md): fit on
// the samples before the last `holdout_seconds` (the trace ends one sampling step after its last
// sample, so 7 days of 15 s samples ending at 23:59:45 are held out from 00:00:00), then forecast every held-out sample at its time
// t using only what is known at t - horizon: the regression fitted at the split, plus the
// short-term correction from the last complete bucket that ended by t - horizon. Scores MAPE
// against the seasonal-naive baseline "the same time one period (a week) earlier", on the same
// samples: those with actual > 0 and a sample exactly one period earlier. Also scores per bucket
// (the bucket's mean rate, what a replica count is sized for).
// Complexity O(n log n + n · features). Thread-safety: pure function.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "autoscale/predict/combined_forecaster.h"
#include "autoscale/predict/forecaster.h"
#include "common/status.h"

namespace surge::autoscale {

struct EvaluationOptions {
  int64_t holdout_seconds = 7 * kSecondsPerDay;
  int64_t horizon_seconds = 600;
  int64_t naive_period_seconds = kSecondsPerWeek;
  ForecasterOptions forecaster;
};

struct ErrorStats {
  size_t scored = 0;
  double mape = 0;  // mean |forecast - actual| / actual, as a fraction
};

struct EvaluationResult {
  int64_t split_unix_seconds = 0;  // the first held-out instant
  size_t train_samples = 0;
  size_t holdout_samples = 0;
  size_t skipped = 0;  // held-out samples not scored (actual 0 or no baseline sample)
  std::string model_summary;
  ErrorStats model;           // per sample, regression + short-term correction
  ErrorStats seasonal_only;   // per sample, the regression alone
  ErrorStats naive;           // per sample, same time one period earlier
  ErrorStats model_bucket;    // per bucket mean
  ErrorStats naive_bucket;
};

StatusOr<EvaluationResult> evaluateHoldout(std::vector<RpsSample> samples,
                                           const EvaluationOptions& options);

}  // namespace surge::autoscale

namespace surge::autoscale {

// The baselines beside the harmonic regression and the combination (`surge predict evaluate`,
// the comparison table): fit on everything before the last holdout_seconds (as evaluateHoldout),
// then for every held-out 5-minute bucket k with a mean rate > 0 and at every horizon h, forecast
// the bucket's mean at its centre t from the data known at t - h (buckets that ended by then,
// held-out ones included: rolling origins). The fitted parts (regression coefficients,
// combination weights, trend, error quantiles) stay as fitted at the split. Buckets for which a
// baseline has no source bucket are skipped for all forecasters (the same buckets everywhere).
// Also scores hourly means forecast from the split alone (hourly_from_split).
struct ComparisonOptions {
  int64_t holdout_seconds = 7 * kSecondsPerDay;
  std::vector<int64_t> horizons = {600, 3600, kSecondsPerDay, kSecondsPerWeek};
  double quantile = 0.9;  // coverage of forecastQuantile(q) is reported
  CombinedOptions combined;
};

struct HorizonComparison {
  int64_t horizon_seconds = 0;
  ErrorStats last_week;      // same time last week
  ErrorStats last_day;       // same time on the last day of the same kind
  ErrorStats harmonic;       // the regression + its short-term correction
  ErrorStats combination;
  double coverage = 0;       // fraction of scored buckets with actual <= forecastQuantile(q)
  size_t skipped = 0;
  double bestBaselineMape() const { return std::min(last_week.mape, last_day.mape); }
};

struct ComparisonResult {
  int64_t split_unix_seconds = 0;
  size_t train_samples = 0;
  size_t holdout_buckets = 0;
  double quantile = 0.9;
  std::string summary;  // the combination's
  std::vector<HorizonComparison> horizons;
  // Every held-out hour (the mean of its buckets) forecast from the split alone (one origin,
  // leads up to the hold-out's length): what a plan for the coming week sees. horizon_seconds
  // is the hold-out's length; hours missing a bucket or a baseline are skipped.
  HorizonComparison hourly_from_split;
};

StatusOr<ComparisonResult> compareForecasters(std::vector<RpsSample> samples,
                                              const ComparisonOptions& options);

}  // namespace surge::autoscale
