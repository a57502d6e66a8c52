#include "autoscale/predict/evaluate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace surge::autoscale {
namespace {

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Acc {
  double sum = 0;
  size_t n = 0;
  void add(double v) {
    sum += v;
    ++n;
  }
  double mean() const { return n ? sum / static_cast<double>(n) : 0; }
};

void score(ErrorStats* s, double forecast, double actual) {
  s->mape += std::abs(forecast - actual) / actual;  // summed here, divided in finish()
  ++s->scored;
}

void finish(ErrorStats* s) {
  if (s->scored) s->mape /= static_cast<double>(s->scored);
}

// Where the hold-out starts in time-sorted samples: the trace ends one sampling step after its
// last sample, so with 15 s samples ending at 23:59:45 seven held-out days start at 00:00:00.
int64_t holdoutStart(const std::vector<RpsSample>& sorted, int64_t holdout_seconds) {
  const int64_t last = sorted.back().unix_seconds;
  int64_t step = 1;
  for (size_t i = sorted.size() - 1; i-- > 0;) {
    if (sorted[i].unix_seconds < last) {
      step = last - sorted[i].unix_seconds;
      break;
    }
  }
  return last + step - holdout_seconds;
}

}  // namespace

StatusOr<EvaluationResult> evaluateHoldout(std::vector<RpsSample> samples,
                                           const EvaluationOptions& options) {
  if (options.holdout_seconds <= 0) return invalidArgument("hold-out must be > 0");
  if (options.horizon_seconds < 0) return invalidArgument("horizon must be >= 0");
  if (options.naive_period_seconds <= 0) return invalidArgument("baseline period must be > 0");
  if (samples.empty()) return invalidArgument("no samples to evaluate");
  std::stable_sort(samples.begin(), samples.end(),
                   [](const RpsSample& a, const RpsSample& b) {
                     return a.unix_seconds < b.unix_seconds;
                   });
  EvaluationResult result;
  result.split_unix_seconds = holdoutStart(samples, options.holdout_seconds);
  auto split = std::lower_bound(samples.begin(), samples.end(), result.split_unix_seconds,
                                [](const RpsSample& s, int64_t t) { return s.unix_seconds < t; });
  std::vector<RpsSample> train(samples.begin(), split);
  result.train_samples = train.size();
  result.holdout_samples = static_cast<size_t>(samples.end() - split);
  if (train.empty()) {
    return invalidArgument("the hold-out covers the whole history: nothing left to fit on");
  }
  SeasonalForecaster model(options.forecaster);
  RETURN_IF_ERROR(model.fit(train));
  result.model_summary = model.summary();

  // Per-bucket residuals of the split-time model over all samples (what the correction sees).
  const int64_t width = options.forecaster.bucket_seconds;
  struct BucketAcc {
    Acc residual;
    long double time_sum = 0;
  };
  std::map<int64_t, BucketAcc> residuals;
  std::unordered_map<int64_t, double> by_time;
  by_time.reserve(samples.size());
  for (const RpsSample& s : samples) {
    BucketAcc& b = residuals[floorDiv(s.unix_seconds, width)];
    b.residual.add(s.rps - model.seasonal(s.unix_seconds));
    b.time_sum += static_cast<long double>(s.unix_seconds);
    by_time[s.unix_seconds] = s.rps;
  }

  std::map<int64_t, std::pair<Acc, Acc>> buckets;  // key → (actual, model forecast)
  std::map<int64_t, Acc> naive_buckets;            // key → baseline
  for (auto it = split; it != samples.end(); ++it) {
    const int64_t t = it->unix_seconds;
    const double actual = it->rps;
    auto previous = by_time.find(t - options.naive_period_seconds);
    if (!(actual > 0) || previous == by_time.end()) {
      ++result.skipped;
      continue;
    }
    const int64_t known_until = t - options.horizon_seconds;
    const int64_t key = floorDiv(known_until, width) - 1;  // the last bucket complete by then
    double forecast = model.seasonal(t);
    auto r = residuals.find(key);
    if (r != residuals.end()) {
      const int64_t observed_at =
          static_cast<int64_t>(std::llround(r->second.time_sum / r->second.residual.n));
      forecast = model.correctedForecast(t, observed_at, r->second.residual.mean());
    } else {
      forecast = std::max(0.0, forecast);
    }
    score(&result.model, forecast, actual);
    score(&result.seasonal_only, std::max(0.0, model.seasonal(t)), actual);
    score(&result.naive, previous->second, actual);
    const int64_t bucket = floorDiv(t, width);
    buckets[bucket].first.add(actual);
    buckets[bucket].second.add(forecast);
    naive_buckets[bucket].add(previous->second);
  }
  for (const auto& [key, pair] : buckets) {
    const double actual = pair.first.mean();
    score(&result.model_bucket, pair.second.mean(), actual);
    score(&result.naive_bucket, naive_buckets[key].mean(), actual);
  }
  for (ErrorStats* s : {&result.model, &result.seasonal_only, &result.naive, &result.model_bucket,
                        &result.naive_bucket}) {
    finish(s);
  }
  if (result.model.scored == 0) {
    return invalidArgument("no held-out sample could be scored (each needs rps > 0 and a sample "
                           "exactly one baseline period earlier)");
  }
  return result;
}

}  // namespace surge::autoscale

namespace surge::autoscale {

StatusOr<ComparisonResult> compareForecasters(std::vector<RpsSample> samples,
                                              const ComparisonOptions& options) {
  if (options.holdout_seconds <= 0) return invalidArgument("hold-out must be > 0");
  if (options.horizons.empty()) return invalidArgument("no horizon to compare at");
  for (int64_t h : options.horizons) {
    if (h < 0) return invalidArgument("horizons must be >= 0");
  }
  if (!(options.quantile > 0 && options.quantile < 1)) {
    return invalidArgument("quantile must be in (0, 1)");
  }
  if (samples.empty()) return invalidArgument("no samples to evaluate");
  std::stable_sort(samples.begin(), samples.end(),
                   [](const RpsSample& a, const RpsSample& b) {
                     return a.unix_seconds < b.unix_seconds;
                   });
  ComparisonResult result;
  result.quantile = options.quantile;
  result.split_unix_seconds = holdoutStart(samples, options.holdout_seconds);
  auto split = std::lower_bound(samples.begin(), samples.end(), result.split_unix_seconds,
                                [](const RpsSample& s, int64_t t) { return s.unix_seconds < t; });
  std::vector<RpsSample> train(samples.begin(), split);
  result.train_samples = train.size();
  if (train.empty()) {
    return invalidArgument("the hold-out covers the whole history: nothing left to fit on");
  }
  CombinedForecaster model(options.combined);
  RETURN_IF_ERROR(model.fit(train));
  result.summary = model.summary();

  const BucketSeries all = BucketSeries::build(samples, options.combined.harmonic.bucket_seconds);
  const int64_t first_held = floorDiv(result.split_unix_seconds + all.width - 1, all.width);
  for (int64_t k = first_held; k <= all.lastKey(); ++k) {
    if (all.at(k)) ++result.holdout_buckets;
  }
  for (int64_t h : options.horizons) {
    HorizonComparison c;
    c.horizon_seconds = h;
    size_t covered = 0;
    for (int64_t k = first_held; k <= all.lastKey(); ++k) {
      auto actual = all.at(k);
      if (!actual) continue;
      const int64_t t = all.centerOf(k);
      const int64_t origin = t - h;
      auto week = sameTimeLastWeek(all, origin, t);
      auto day = sameTimeLastDayOfKind(all, origin, t);
      if (!(*actual > 0) || !week || !day) {
        ++c.skipped;
        continue;
      }
      score(&c.last_week, *week, *actual);
      score(&c.last_day, *day, *actual);
      score(&c.harmonic,
            model.componentFrom(Component::kHarmonic, all, origin, t).value_or(0), *actual);
      score(&c.combination, model.forecastFrom(all, origin, t), *actual);
      if (*actual <= model.quantileFrom(all, origin, t, options.quantile)) ++covered;
    }
    for (ErrorStats* s : {&c.last_week, &c.last_day, &c.harmonic, &c.combination}) finish(s);
    if (c.combination.scored) {
      c.coverage = static_cast<double>(covered) / static_cast<double>(c.combination.scored);
    }
    result.horizons.push_back(c);
  }
  {
    HorizonComparison& c = result.hourly_from_split;
    c.horizon_seconds = options.holdout_seconds;
    const int64_t origin = result.split_unix_seconds;
    const int64_t per_hour = std::max<int64_t>(1, 3600 / all.width);
    size_t covered = 0;
    for (int64_t k0 = first_held; k0 + per_hour - 1 <= all.lastKey(); k0 += per_hour) {
      Acc actual, week, day, harmonic, combination, upper;
      for (int64_t k = k0; k < k0 + per_hour; ++k) {
        const int64_t t = all.centerOf(k);
        auto a = all.at(k);
        auto w = sameTimeLastWeek(all, origin, t);
        auto d = sameTimeLastDayOfKind(all, origin, t);
        if (!a || !w || !d) break;
        actual.add(*a);
        week.add(*w);
        day.add(*d);
        harmonic.add(model.componentFrom(Component::kHarmonic, all, origin, t).value_or(0));
        combination.add(model.forecastFrom(all, origin, t));
        upper.add(model.quantileFrom(all, origin, t, options.quantile));
      }
      if (actual.n != static_cast<size_t>(per_hour) || !(actual.mean() > 0)) {
        ++c.skipped;
        continue;
      }
      score(&c.last_week, week.mean(), actual.mean());
      score(&c.last_day, day.mean(), actual.mean());
      score(&c.harmonic, harmonic.mean(), actual.mean());
      score(&c.combination, combination.mean(), actual.mean());
      if (actual.mean() <= upper.mean()) ++covered;
    }
    for (ErrorStats* s : {&c.last_week, &c.last_day, &c.harmonic, &c.combination}) finish(s);
    if (c.combination.scored) {
      c.coverage = static_cast<double>(covered) / static_cast<double>(c.combination.scored);
    }
  }
  size_t scored = 0;
  for (const HorizonComparison& c : result.horizons) scored += c.combination.scored;
  if (scored == 0) {
    return invalidArgument("no held-out bucket could be scored (each needs a mean rate > 0 and "
                           "a bucket a week and a day of its kind earlier)");
  }
  return result;
}

}  // namespace surge::autoscale
