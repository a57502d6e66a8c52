// Cost of fitting the forecasters (what the controller pays once per refit period) and of one
// forecast, on 28 days of the synthetic "weekly" shape at 5-minute samples (Arg: days).
#include <benchmark/benchmark.h>

#include "autoscale/predict/combined_forecaster.h"
#include "autoscale/predict/synthetic_trace.h"

namespace surge::autoscale {
namespace {

std::vector<RpsSample> trace(int64_t days) {
  SyntheticTraceOptions o = *syntheticShape("weekly");
  o.days = static_cast<double>(days);
  o.step_seconds = 300;
  Random rng(1);
  return *generateSyntheticTrace(o, rng);
}

void BM_HarmonicFit(benchmark::State& state) {
  const auto samples = trace(state.range(0));
  for (auto _ : state) {
    SeasonalForecaster f;
    benchmark::DoNotOptimize(f.fit(samples).isOk());
  }
}
BENCHMARK(BM_HarmonicFit)->Arg(7)->Arg(28)->Unit(benchmark::kMillisecond);

// A fit with the backtest (the first one, and once per backtest_every_seconds).
void BM_CombinedFitWithBacktest(benchmark::State& state) {
  const auto samples = trace(state.range(0));
  for (auto _ : state) {
    CombinedForecaster f;
    benchmark::DoNotOptimize(f.fit(samples).isOk());
  }
}
BENCHMARK(BM_CombinedFitWithBacktest)->Arg(7)->Arg(28)->Unit(benchmark::kMillisecond);

// A refit that keeps the recent backtest (the controller's once-a-minute refit).
void BM_CombinedRefit(benchmark::State& state) {
  const auto samples = trace(state.range(0));
  CombinedForecaster f;
  (void)f.fit(samples);
  for (auto _ : state) benchmark::DoNotOptimize(f.fit(samples).isOk());
}
BENCHMARK(BM_CombinedRefit)->Arg(7)->Arg(28)->Unit(benchmark::kMillisecond);

void BM_CombinedForecastQuantile(benchmark::State& state) {
  CombinedForecaster f;
  (void)f.fit(trace(28));
  const int64_t end = f.data().endTime();
  int64_t lead = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.forecastQuantile(end + 600 + lead, 0.9));
    lead = (lead + 300) % (7 * kSecondsPerDay);
  }
}
BENCHMARK(BM_CombinedForecastQuantile);

}  // namespace
}  // namespace surge::autoscale
