// Hot-path cost of counting (what every request pays) and of a scrape, by number of series.
#include <benchmark/benchmark.h>

#include <string>

#include "metrics/registry.h"

namespace surge::metrics {
namespace {

void BM_CounterInc(benchmark::State& state) {
  static Counter c;
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram h(defaultLatencyBuckets());
  double v = 0.0001;
  for (auto _ : state) {
    h.observe(v);
    v = v > 50 ? 0.0001 : v * 1.7;
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

void BM_LabelsLookup(benchmark::State& state) {
  Registry r;
  auto& f = r.counter("x_total", "X.", {"backend", "code"});
  for (int i = 0; i < state.range(0); ++i) f.labels({"10.0.0." + std::to_string(i) + ":80", "2xx"});
  std::vector<std::string> key = {"10.0.0.0:80", "2xx"};
  for (auto _ : state) f.labels(key).inc();
}
BENCHMARK(BM_LabelsLookup)->Arg(1)->Arg(64)->Arg(1024);

void BM_Render(benchmark::State& state) {
  Registry r;
  auto& c = r.counter("surge_requests_total", "Requests.", {"backend"});
  auto& h = r.histogram("surge_request_duration_seconds", "Latency.", defaultLatencyBuckets(),
                        {"backend"});
  for (int i = 0; i < state.range(0); ++i) {
    std::string b = "10.0.0." + std::to_string(i) + ":80";
    c.labels({b}).inc(i);
    h.labels({b}).observe(0.01 * i);
  }
  size_t bytes = 0;
  for (auto _ : state) bytes += r.render().size();
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Render)->Arg(1)->Arg(16)->Arg(256);

}  // namespace
}  // namespace surge::metrics
