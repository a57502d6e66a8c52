// The forecasters behind one small interface (Forecaster): the two obvious baselines — "same time
// last week" (SeasonalNaiveForecaster) and "same time on the last day of the same kind"
// (DailyNaiveForecaster: a weekday from the last weekday, a weekend day from the last weekend
// day) — the harmonic regression (SeasonalForecaster, forecaster.h), and CombinedForecaster,
// which picks or weights them per horizon band by rolling-origin backtests on the last days of
// its own history, adjusts the naive components for a damped trend, and gives prediction
// intervals from the empirical quantiles of its backtest errors.
//
// Everything works on 5-minute bucket means (BucketSeries) and is pure: time comes in as
// arguments. The `...From(data, origin, t)` functions forecast t from `data` as known at
// `origin` (only buckets that ended by origin are used), so an evaluation can replay rolling
// origins without refitting. Decisions: docs/design/predictive.md.
// Complexity: CombinedForecaster::fit = two SeasonalForecaster fits + O(backtest buckets ·
// leads · components); forecast O(features). Thread-safety: a fitted forecaster is immutable;
// fit() is not concurrent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autoscale/predict/forecaster.h"
#include "common/status.h"

namespace surge::autoscale {

// Mean rate per bucket [key·width, (key+1)·width); NaN where there were no samples. Covers at
// most the last kMaxSeriesDays of the samples (older ones are ignored).
struct BucketSeries {
  static constexpr int64_t kMaxSeriesDays = 400;
  int64_t width = 300;
  int64_t first_key = 0;
  std::vector<double> values;  // values[key - first_key]

  static BucketSeries build(const std::vector<RpsSample>& samples, int64_t width);
  bool empty() const { return values.empty(); }
  int64_t lastKey() const { return first_key + static_cast<int64_t>(values.size()) - 1; }
  int64_t keyOf(int64_t unix_seconds) const;
  int64_t centerOf(int64_t key) const { return key * width + width / 2; }
  std::optional<double> at(int64_t key) const;  // nullopt outside or empty
  // The newest bucket that ended by `origin` (it may be missing from the data).
  int64_t lastKnownKey(int64_t origin) const { return keyOf(origin) - 1; }
  int64_t endTime() const { return (lastKey() + 1) * width; }  // the end of the newest bucket
  double mean() const;                                           // of the present buckets
};

// Same bucket one week earlier (two weeks when a week earlier is not known yet at the origin,
// and so on); nullopt when the history has no such bucket.
std::optional<double> sameTimeLastWeek(const BucketSeries& data, int64_t origin, int64_t t,
                                       int64_t* source_key = nullptr);
// Same bucket on the newest earlier day of the same kind (weekday / weekend, UTC) known at origin.
std::optional<double> sameTimeLastDayOfKind(const BucketSeries& data, int64_t origin, int64_t t,
                                            int64_t* source_key = nullptr);

class SeasonalNaiveForecaster : public Forecaster {
 public:
  explicit SeasonalNaiveForecaster(int64_t bucket_seconds = 300) : width_(bucket_seconds) {}
  Status fit(const std::vector<RpsSample>& samples) override;
  double forecast(int64_t unix_seconds) const override;  // the mean when no source bucket
  std::string summary() const override;

 private:
  int64_t width_;
  BucketSeries data_;
};

class DailyNaiveForecaster : public Forecaster {
 public:
  explicit DailyNaiveForecaster(int64_t bucket_seconds = 300) : width_(bucket_seconds) {}
  Status fit(const std::vector<RpsSample>& samples) override;
  double forecast(int64_t unix_seconds) const override;  // the mean when no source bucket
  std::string summary() const override;

 private:
  int64_t width_;
  BucketSeries data_;
};

// The combination's components.
enum class Component : int {
  kWeeklyNaive = 0,     // sameTimeLastWeek
  kDailyNaive,          // sameTimeLastDayOfKind
  kWeeklyRobust,        // robust mean of the same bucket in the last 3 known weeks, each × trend
  kDailyRobust,         // robust mean of the same bucket on the last 5 known days of the kind
  kWeeklyRobustRecent,  // kWeeklyRobust × the recent level (decaying with the lead)
  kDailyRobustRecent,   // kDailyRobust × the recent level
  kHarmonic,            // SeasonalForecaster with its short-term correction
};
inline constexpr int kComponentCount = 7;
const char* componentName(Component c);

struct CombinedOptions {
  ForecasterOptions harmonic;  // its bucket_seconds is the combination's bucket
  // Backtest on the last backtest_days of the history, at most a third of it (whole days, ≥ 1);
  // under min_backtest_days of history: the harmonic regression alone.
  double backtest_days = 7;
  double min_backtest_days = 3;
  // Trend: the robust mean (the mean of the ratios within 15 % of it, from their median) of the
  // ratio of each bucket of the last week to the same bucket a week earlier, minus 1, capped at ±max_weekly_trend,
  // times trend_damping, applied linearly over the gap between a naive component's source bucket
  // and the target.
  double trend_damping = 0.8;
  double max_weekly_trend = 0.5;
  // The recent level of the *Recent components: the median over the last 3 known buckets of
  // actual / component forecast (clamped to [0.5, 2]), its excess decaying as
  // exp(-lead / recent_tau_seconds).
  int64_t recent_tau_seconds = 3600;
  // fit() reruns the backtest only when the data's end moved at least this far since the last
  // backtest (the controller refits every minute; the weights and quantiles of an hour ago are
  // kept, the regression and trend are refitted). 0 = every fit.
  int64_t backtest_every_seconds = 3600;
};

// The horizon bands the combination is chosen for, by lead = t - origin: [0, 30m), [30m, 6h),
// [6h, 2d), [2d, ∞). The backtest scores each band at its representative leads.
inline constexpr int kHorizonBands = 4;
int horizonBand(int64_t lead_seconds);
const char* horizonBandName(int band);

struct BandChoice {
  std::array<double, kComponentCount> weights{};  // sum to 1
  std::string label;                              // "harmonic", "0.6 harmonic + 0.4 weekly", …
  double backtest_mape = 0;                       // of this choice
  std::array<double, kComponentCount> component_mape{};
  size_t scored = 0;
  std::vector<double> ratios;  // sorted actual / forecast of the backtest, for the quantiles
};

class CombinedForecaster : public Forecaster {
 public:
  CombinedForecaster() = default;
  explicit CombinedForecaster(const CombinedOptions& options) : options_(options) {}

  // Errors: what SeasonalForecaster::fit rejects (no samples, negative or non-finite rates, bad
  // options). Too little history for a backtest is not an error: the harmonic regression alone,
  // with a normal interval from its residual sigma (summary() says so).
  Status fit(const std::vector<RpsSample>& samples) override;
  double forecast(int64_t unix_seconds) const override;
  // The q-quantile (0 < q < 1) of the rate at t: forecast(t) × (the q-quantile of the backtest's
  // actual/forecast ratios of t's horizon band ÷ their median), so q = 0.5 is forecast(t).
  double forecastQuantile(int64_t unix_seconds, double q) const;
  std::string summary() const override;
  bool fitted() const { return fitted_; }

  // Rolling-origin replay: forecast t from `data` as known at `origin` with the fitted
  // components and weights (the harmonic regression is not refitted).
  double forecastFrom(const BucketSeries& data, int64_t origin, int64_t t) const;
  double quantileFrom(const BucketSeries& data, int64_t origin, int64_t t, double q) const;
  // One component alone, same information; nullopt when a naive one has no source bucket.
  std::optional<double> componentFrom(Component c, const BucketSeries& data, int64_t origin,
                                      int64_t t) const;

  const std::array<BandChoice, kHorizonBands>& bands() const { return bands_; }
  bool backtested() const { return backtested_; }
  double weeklyTrend() const { return weekly_trend_; }  // undamped, capped
  const SeasonalForecaster& harmonic() const { return harmonic_; }
  const BucketSeries& data() const { return data_; }
  const CombinedOptions& options() const { return options_; }

 private:
  double combine(const std::array<std::optional<double>, kComponentCount>& parts,
                 const BandChoice& choice) const;
  std::optional<double> componentWith(const SeasonalForecaster& model, Component c,
                                      const BucketSeries& data, int64_t origin, int64_t t) const;
  std::optional<double> robustMeanOf(Component c, const BucketSeries& data, int64_t known,
                                 int64_t t) const;

  CombinedOptions options_;
  bool fitted_ = false;
  bool backtested_ = false;
  BucketSeries data_;
  SeasonalForecaster harmonic_;
  double weekly_trend_ = 0;
  std::array<BandChoice, kHorizonBands> bands_;
  int64_t backtest_end_ = 0;  // data end at the last backtest
  std::string backtest_summary_;
  std::string summary_;
};

}  // namespace surge::autoscale
