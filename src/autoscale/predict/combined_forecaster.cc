#include "autoscale/predict/combined_forecaster.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace surge::autoscale {
namespace {

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

bool isWeekend(int64_t unix_seconds) { return weekdayOf(unix_seconds) >= 5; }

// Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
double normalQuantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  p = std::clamp(p, 1e-9, 1 - 1e-9);
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - 0.02425) return -normalQuantile(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// Linear interpolation between order statistics of a sorted vector.
double sortedQuantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 1;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Insertion sort of a few values (std::sort on a tiny array trips -Warray-bounds in g++ 12).
void sortSmall(double* v, int n) {
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && v[j] < v[j - 1]; --j) std::swap(v[j], v[j - 1]);
  }
}

// The robust mean used for the naive components' sources and for the trend: the mean of the
// values within kRobustBand (relative) of their median. On ordinary data that is the plain mean
// (unbiased, the least noisy); an anomaly (a holiday, a flash crowd) is left out without the
// median's pull towards the lower or upper of the others. `v` sorted ascending, n >= 1.
constexpr double kRobustBand = 0.15;
double robustMeanOfSorted(const double* v, size_t n) {
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  double sum = 0;
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::abs(v[i] - median) <= kRobustBand * std::abs(median)) {
      sum += v[i];
      ++kept;
    }
  }
  return kept ? sum / static_cast<double>(kept) : median;  // none kept: two values far apart
}

// The same rule for many values (the trend's ratios), re-centred until it holds: the mean of the
// values within kRobustBand of that mean, starting from the median. A single pass around the
// median would cut a wide spread asymmetrically when an anomaly has moved the median. `v` sorted.
double robustCentreOfSorted(const std::vector<double>& v) {
  double centre = sortedQuantile(v, 0.5);
  for (int pass = 0; pass < 20; ++pass) {
    const auto lo = std::lower_bound(v.begin(), v.end(), centre - kRobustBand * std::abs(centre));
    const auto hi = std::upper_bound(v.begin(), v.end(), centre + kRobustBand * std::abs(centre));
    if (lo == hi) break;
    const double next = std::accumulate(lo, hi, 0.0) / static_cast<double>(hi - lo);
    if (next == centre) break;
    centre = next;
  }
  return centre;
}

// Sources of the robust means: the same bucket in the last 3 known weeks, or on the last 5 known
// days of the kind (a working week of weekdays; for a weekend day the last two and a half
// weekends).
constexpr int kWeekSources = 3;
constexpr int kDaySources = 5;

// Representative leads of each horizon band, for the backtest.
const std::vector<int64_t>& bandLeads(int band) {
  static const std::vector<int64_t> leads[kHorizonBands] = {
      {600}, {3600, 3 * 3600}, {12 * 3600, kSecondsPerDay}, {3 * kSecondsPerDay, kSecondsPerWeek}};
  return leads[band];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// BucketSeries

BucketSeries BucketSeries::build(const std::vector<RpsSample>& samples, int64_t width) {
  BucketSeries s;
  s.width = width > 0 ? width : 300;
  if (samples.empty()) return s;
  int64_t hi = std::numeric_limits<int64_t>::min();
  for (const RpsSample& x : samples) hi = std::max(hi, floorDiv(x.unix_seconds, s.width));
  const int64_t span = kMaxSeriesDays * kSecondsPerDay / s.width;
  int64_t lo = hi;
  for (const RpsSample& x : samples) {
    const int64_t k = floorDiv(x.unix_seconds, s.width);
    if (k > hi - span) lo = std::min(lo, k);
  }
  const size_t n = static_cast<size_t>(hi - lo + 1);
  std::vector<double> sum(n, 0);
  std::vector<uint32_t> count(n, 0);
  for (const RpsSample& x : samples) {
    const int64_t k = floorDiv(x.unix_seconds, s.width);
    if (k < lo || !std::isfinite(x.rps)) continue;
    sum[static_cast<size_t>(k - lo)] += x.rps;
    ++count[static_cast<size_t>(k - lo)];
  }
  s.first_key = lo;
  s.values.assign(n, std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < n; ++i) {
    if (count[i] > 0) s.values[i] = sum[i] / count[i];
  }
  return s;
}

int64_t BucketSeries::keyOf(int64_t unix_seconds) const { return floorDiv(unix_seconds, width); }

std::optional<double> BucketSeries::at(int64_t key) const {
  if (values.empty() || key < first_key || key > lastKey()) return std::nullopt;
  const double v = values[static_cast<size_t>(key - first_key)];
  if (std::isnan(v)) return std::nullopt;
  return v;
}

double BucketSeries::mean() const {
  double sum = 0;
  size_t n = 0;
  for (double v : values) {
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : 0;
}

// ---------------------------------------------------------------------------------------------
// The baselines

std::optional<double> sameTimeLastWeek(const BucketSeries& data, int64_t origin, int64_t t,
                                       int64_t* source_key) {
  if (data.empty()) return std::nullopt;
  const int64_t known = std::min(data.lastKnownKey(origin), data.lastKey());
  const int64_t week = kSecondsPerWeek / data.width;
  for (int64_t k = data.keyOf(t) - week; k >= data.first_key; k -= week) {
    if (k > known) continue;
    if (auto v = data.at(k)) {
      if (source_key) *source_key = k;
      return v;
    }
    return std::nullopt;  // the newest known source is missing: no older substitute
  }
  return std::nullopt;
}

std::optional<double> sameTimeLastDayOfKind(const BucketSeries& data, int64_t origin, int64_t t,
                                            int64_t* source_key) {
  if (data.empty()) return std::nullopt;
  const int64_t known = std::min(data.lastKnownKey(origin), data.lastKey());
  const int64_t day = kSecondsPerDay / data.width;
  const bool weekend = isWeekend(t);
  for (int64_t k = data.keyOf(t) - day; k >= data.first_key; k -= day) {
    if (k > known || isWeekend(data.centerOf(k)) != weekend) continue;
    if (auto v = data.at(k)) {
      if (source_key) *source_key = k;
      return v;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

Status SeasonalNaiveForecaster::fit(const std::vector<RpsSample>& samples) {
  if (samples.empty()) return invalidArgument("seasonal naive: no history to fit (0 samples)");
  data_ = BucketSeries::build(samples, width_);
  return Status::ok();
}

double SeasonalNaiveForecaster::forecast(int64_t t) const {
  return std::max(0.0, sameTimeLastWeek(data_, data_.endTime(), t).value_or(data_.mean()));
}

std::string SeasonalNaiveForecaster::summary() const {
  return "same time last week (" + std::to_string(data_.values.size()) + " buckets of " +
         std::to_string(width_) + " s)";
}

Status DailyNaiveForecaster::fit(const std::vector<RpsSample>& samples) {
  if (samples.empty()) return invalidArgument("daily naive: no history to fit (0 samples)");
  data_ = BucketSeries::build(samples, width_);
  return Status::ok();
}

double DailyNaiveForecaster::forecast(int64_t t) const {
  return std::max(0.0, sameTimeLastDayOfKind(data_, data_.endTime(), t).value_or(data_.mean()));
}

std::string DailyNaiveForecaster::summary() const {
  return "same time on the last weekday / weekend day (" + std::to_string(data_.values.size()) +
         " buckets of " + std::to_string(width_) + " s)";
}

// ---------------------------------------------------------------------------------------------
// The combination

const char* componentName(Component c) {
  switch (c) {
    case Component::kWeeklyNaive: return "last week";
    case Component::kDailyNaive: return "last day";
    case Component::kWeeklyRobust: return "3-week mean";
    case Component::kDailyRobust: return "5-day mean";
    case Component::kWeeklyRobustRecent: return "3-week mean+recent";
    case Component::kDailyRobustRecent: return "5-day mean+recent";
    case Component::kHarmonic: return "harmonic";
  }
  return "?";
}

int horizonBand(int64_t lead) {
  if (lead < 1800) return 0;
  if (lead < 6 * 3600) return 1;
  if (lead < 2 * kSecondsPerDay) return 2;
  return 3;
}

const char* horizonBandName(int band) {
  static const char* names[kHorizonBands] = {"<30m", "30m-6h", "6h-2d", ">=2d"};
  return band >= 0 && band < kHorizonBands ? names[band] : "?";
}

std::optional<double> CombinedForecaster::robustMeanOf(Component c, const BucketSeries& data,
                                                   int64_t known, int64_t t) const {
  const bool weekly = c == Component::kWeeklyRobust;
  const int64_t step = (weekly ? kSecondsPerWeek : kSecondsPerDay) / data.width;
  const bool weekend = isWeekend(t);
  const int wanted = weekly ? kWeekSources : kDaySources;
  double v[std::max(kWeekSources, kDaySources)];
  int n = 0;
  for (int64_t k = data.keyOf(t) - step, i = 0; n < wanted && k >= data.first_key && i < 28;
       k -= step, ++i) {
    if (k > known) continue;
    if (!weekly && isWeekend(data.centerOf(k)) != weekend) continue;
    auto x = data.at(k);
    if (!x) continue;
    const double gap_weeks =
        static_cast<double>(t - data.centerOf(k)) / static_cast<double>(kSecondsPerWeek);
    v[n++] = *x * std::max(0.0, 1 + options_.trend_damping * weekly_trend_ * gap_weeks);
  }
  if (n == 0) return std::nullopt;
  sortSmall(v, n);
  return robustMeanOfSorted(v, static_cast<size_t>(n));  // one source: itself; two: their mean
}

std::optional<double> CombinedForecaster::componentWith(const SeasonalForecaster& model,
                                                        Component c, const BucketSeries& data,
                                                        int64_t origin, int64_t t) const {
  const int64_t known = std::min(data.lastKnownKey(origin), data.lastKey());
  switch (c) {
    case Component::kWeeklyNaive:
      return sameTimeLastWeek(data, origin, t);
    case Component::kDailyNaive:
      return sameTimeLastDayOfKind(data, origin, t);
    case Component::kWeeklyRobust:
    case Component::kDailyRobust:
      return robustMeanOf(c, data, known, t);
    case Component::kWeeklyRobustRecent:
    case Component::kDailyRobustRecent: {
      const Component base = c == Component::kWeeklyRobustRecent ? Component::kWeeklyRobust
                                                                 : Component::kDailyRobust;
      auto v = robustMeanOf(base, data, known, t);
      if (!v) return std::nullopt;
      double r[3];
      int n = 0;
      for (int64_t k = known; k > known - 3; --k) {
        auto a = data.at(k);
        auto f = robustMeanOf(base, data, known, data.centerOf(k));
        if (a && f && *f > 0) r[n++] = std::clamp(*a / *f, 0.5, 2.0);
      }
      if (n == 0) return v;
      sortSmall(r, n);
      const double level = n == 2 ? (r[0] + r[1]) / 2 : r[n / 2];
      const double lead = static_cast<double>(t - data.centerOf(known));
      const double decay =
          std::exp(-std::max(0.0, lead) / static_cast<double>(options_.recent_tau_seconds));
      return *v * (1 + (level - 1) * decay);
    }
    case Component::kHarmonic: {
      if (!model.fitted()) return std::nullopt;
      if (auto r = data.at(known)) {
        const int64_t at = data.centerOf(known);
        return model.correctedForecast(t, at, *r - model.seasonal(at));
      }
      return std::max(0.0, model.seasonal(t));
    }
  }
  return std::nullopt;
}

std::optional<double> CombinedForecaster::componentFrom(Component c, const BucketSeries& data,
                                                        int64_t origin, int64_t t) const {
  return componentWith(harmonic_, c, data, origin, t);
}

double CombinedForecaster::combine(const std::array<std::optional<double>, kComponentCount>& parts,
                                   const BandChoice& choice) const {
  // A naive component without a source bucket is replaced by the harmonic regression.
  const double fallback = parts[static_cast<int>(Component::kHarmonic)].value_or(0);
  double v = 0;
  for (int i = 0; i < kComponentCount; ++i) {
    if (choice.weights[i] != 0) v += choice.weights[i] * parts[i].value_or(fallback);
  }
  return std::isfinite(v) ? std::max(0.0, v) : 0.0;
}

Status CombinedForecaster::fit(const std::vector<RpsSample>& samples) {
  const bool had_backtest = fitted_ && backtested_;
  fitted_ = backtested_ = false;
  weekly_trend_ = 0;
  if (!(options_.backtest_days > 0) || !(options_.min_backtest_days >= 0) ||
      !(options_.trend_damping >= 0 && options_.trend_damping <= 1) ||
      !(options_.max_weekly_trend >= 0)) {
    return invalidArgument("combined forecaster: bad options (backtest_days > 0, "
                           "min_backtest_days >= 0, trend_damping in [0, 1], "
                           "max_weekly_trend >= 0 required)");
  }
  harmonic_ = SeasonalForecaster(options_.harmonic);
  RETURN_IF_ERROR(harmonic_.fit(samples));
  const int64_t width = options_.harmonic.bucket_seconds;
  data_ = BucketSeries::build(samples, width);
  fitted_ = true;

  // Trend: the robust mean of the week-over-week ratios of the last week's buckets. Not their
  // median: a holiday (or a day of flash crowds) is a seventh of the ratios, all on one side,
  // and moves the median of the rest by a fraction of their spread.
  const int64_t week = kSecondsPerWeek / width;
  std::vector<double> ratios;
  for (int64_t k = data_.lastKey() - week + 1; k <= data_.lastKey(); ++k) {
    auto now = data_.at(k), before = data_.at(k - week);
    if (now && before && *before > 0) ratios.push_back(*now / *before);
  }
  if (ratios.size() >= static_cast<size_t>(week / 2)) {
    std::sort(ratios.begin(), ratios.end());
    weekly_trend_ = std::clamp(robustCentreOfSorted(ratios) - 1,
                               -options_.max_weekly_trend, options_.max_weekly_trend);
  }

  // A recent backtest is kept (see backtest_every_seconds).
  if (had_backtest && options_.backtest_every_seconds > 0 && data_.endTime() >= backtest_end_ &&
      data_.endTime() - backtest_end_ < options_.backtest_every_seconds) {
    backtested_ = true;
    summary_ = backtest_summary_ + "; harmonic: " + harmonic_.summary();
    return Status::ok();
  }
  bands_ = {};
  for (BandChoice& b : bands_) {
    b.weights[static_cast<int>(Component::kHarmonic)] = 1;
    b.label = "harmonic";
  }

  // Backtest window: the last whole days of the history, at most a third of it.
  const double history_days =
      static_cast<double>(data_.values.size() * width) / static_cast<double>(kSecondsPerDay);
  const int64_t bt_days = static_cast<int64_t>(
      std::floor(std::min(options_.backtest_days, history_days / 3)));
  std::string why_not;
  if (history_days < options_.min_backtest_days || bt_days < 1) {
    why_not = "history covers " + fmt("%.3g", history_days) + " days; a backtest needs at least " +
              fmt("%.3g", std::max(options_.min_backtest_days, 3.0));
  }
  SeasonalForecaster bt_model(options_.harmonic);
  const int64_t window_start = data_.lastKey() + 1 - bt_days * (kSecondsPerDay / width);
  if (why_not.empty()) {
    std::vector<RpsSample> before;
    before.reserve(samples.size());
    for (const RpsSample& s : samples) {
      if (floorDiv(s.unix_seconds, width) < window_start) before.push_back(s);
    }
    if (Status s = bt_model.fit(before); !s.isOk()) why_not = "backtest fit: " + s.message();
  }
  if (why_not.empty()) {
    for (int band = 0; band < kHorizonBands; ++band) {
      std::vector<double> actual;
      std::array<std::vector<double>, kComponentCount> f;
      for (int64_t lead : bandLeads(band)) {
        for (int64_t k = window_start; k <= data_.lastKey(); ++k) {
          auto a = data_.at(k);
          if (!a || !(*a > 0)) continue;
          const int64_t t = data_.centerOf(k);
          std::array<std::optional<double>, kComponentCount> parts;
          for (int i = 0; i < kComponentCount; ++i) {
            parts[i] = componentWith(bt_model, static_cast<Component>(i), data_, t - lead, t);
          }
          const double h = parts[static_cast<int>(Component::kHarmonic)].value_or(0);
          actual.push_back(*a);
          for (int i = 0; i < kComponentCount; ++i) f[i].push_back(parts[i].value_or(h));
        }
      }
      if (actual.empty()) continue;
      auto mapeOf = [&](const std::array<double, kComponentCount>& w) {
        double sum = 0;
        for (size_t j = 0; j < actual.size(); ++j) {
          double v = 0;
          for (int i = 0; i < kComponentCount; ++i) v += w[i] * f[i][j];
          sum += std::abs(std::max(0.0, v) - actual[j]) / actual[j];
        }
        return sum / static_cast<double>(actual.size());
      };
      BandChoice& choice = bands_[band];
      std::array<double, kComponentCount> mape{};
      for (int i = 0; i < kComponentCount; ++i) {
        std::array<double, kComponentCount> w{};
        w[i] = 1;
        mape[i] = mapeOf(w);
      }
      choice.component_mape = mape;
      // Candidates: each component alone, and inverse-MAPE blends of the best two, of the best
      // naive variant with the harmonic regression, and of all five. The lowest backtest MAPE
      // wins; ties go to the earlier (simpler) candidate.
      std::vector<int> order(kComponentCount);
      for (int i = 0; i < kComponentCount; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return mape[x] < mape[y]; });
      auto blend = [&](const std::vector<int>& members) {
        std::array<double, kComponentCount> w{};
        double total = 0;
        for (int i : members) total += 1 / std::max(mape[i], 1e-9);
        for (int i : members) w[i] = (1 / std::max(mape[i], 1e-9)) / total;
        return w;
      };
      int best_naive = -1;
      for (int i : order) {
        if (i != static_cast<int>(Component::kHarmonic)) {
          best_naive = i;
          break;
        }
      }
      std::vector<std::array<double, kComponentCount>> candidates;
      for (int i = 0; i < kComponentCount; ++i) {
        std::array<double, kComponentCount> w{};
        w[order[i]] = 1;
        candidates.push_back(w);
      }
      candidates.push_back(blend({order[0], order[1]}));
      candidates.push_back(blend({best_naive, static_cast<int>(Component::kHarmonic)}));
      std::vector<int> everything(kComponentCount);
      for (int i = 0; i < kComponentCount; ++i) everything[i] = i;
      candidates.push_back(blend(everything));
      double best = std::numeric_limits<double>::infinity();
      for (const auto& w : candidates) {
        const double m = mapeOf(w);
        if (m < best - 1e-12) {
          best = m;
          choice.weights = w;
        }
      }
      choice.backtest_mape = best;
      choice.scored = actual.size();
      choice.label.clear();
      for (int i : order) {
        if (choice.weights[i] == 0) continue;
        if (!choice.label.empty()) choice.label += " + ";
        if (choice.weights[i] < 1) choice.label += fmt("%.2f ", choice.weights[i]);
        choice.label += componentName(static_cast<Component>(i));
      }
      choice.ratios.clear();
      for (size_t j = 0; j < actual.size(); ++j) {
        double v = 0;
        for (int i = 0; i < kComponentCount; ++i) v += choice.weights[i] * f[i][j];
        if (v > 0) choice.ratios.push_back(actual[j] / v);
      }
      std::sort(choice.ratios.begin(), choice.ratios.end());
    }
    backtested_ = true;
    backtest_end_ = data_.endTime();
  }

  if (backtested_) {
    summary_ = "combination backtested on the last " + std::to_string(bt_days) + " days (" +
               fmt("%.3g", history_days) + " days of history), trend " +
               fmt("%+.2f", 100 * weekly_trend_) + " %/week damped " +
               fmt("%g", options_.trend_damping) + ":";
    for (int band = 0; band < kHorizonBands; ++band) {
      summary_ += std::string(band ? ";" : "") + " " + horizonBandName(band) + " " +
                  bands_[band].label + " (backtest MAPE " +
                  fmt("%.2f", 100 * bands_[band].backtest_mape) + " %)";
    }
  } else {
    summary_ = "harmonic regression alone (" + why_not + ")";
  }
  backtest_summary_ = summary_;
  summary_ += "; harmonic: " + harmonic_.summary();
  return Status::ok();
}

double CombinedForecaster::forecastFrom(const BucketSeries& data, int64_t origin,
                                        int64_t t) const {
  if (!fitted_) return 0;
  std::array<std::optional<double>, kComponentCount> parts;
  const BandChoice& choice = bands_[horizonBand(t - origin)];
  const int h = static_cast<int>(Component::kHarmonic);
  parts[h] = componentWith(harmonic_, Component::kHarmonic, data, origin, t);
  for (int i = 0; i < kComponentCount; ++i) {
    if (i != h && choice.weights[i] != 0) {
      parts[i] = componentWith(harmonic_, static_cast<Component>(i), data, origin, t);
    }
  }
  return combine(parts, choice);
}

double CombinedForecaster::quantileFrom(const BucketSeries& data, int64_t origin, int64_t t,
                                        double q) const {
  const double point = forecastFrom(data, origin, t);
  if (!fitted_ || !(q > 0 && q < 1) || q == 0.5) return point;
  const BandChoice& choice = bands_[horizonBand(t - origin)];
  if (backtested_ && choice.ratios.size() >= 20) {
    const double median = sortedQuantile(choice.ratios, 0.5);
    if (median > 0) return std::max(0.0, point * sortedQuantile(choice.ratios, q) / median);
  }
  // No backtest: a normal interval from the regression's robust residual sigma per bucket.
  return std::max(0.0, point + normalQuantile(q) * harmonic_.residualSigma());
}

double CombinedForecaster::forecast(int64_t t) const {
  return forecastFrom(data_, data_.endTime(), t);
}

double CombinedForecaster::forecastQuantile(int64_t t, double q) const {
  return quantileFrom(data_, data_.endTime(), t, q);
}

std::string CombinedForecaster::summary() const { return fitted_ ? summary_ : "not fitted"; }

}  // namespace surge::autoscale
