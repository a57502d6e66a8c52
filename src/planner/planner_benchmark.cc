// Sizing and model-evaluation time from a few to thousands of servers.
// Run: build-plan/src/planner/planner_benchmark   (numbers in docs/design/planner.md)
#include <benchmark/benchmark.h>

#include "planner/erlang.h"
#include "planner/mdc.h"
#include "planner/sizing.h"

namespace surge::planner {
namespace {

// Offered load A = range(0) Erlangs, S = 10 ms, p99 ≤ 50 ms.
void sizeBench(benchmark::State& state, ServiceDistribution d) {
  QueueSpec s;
  s.service_time = 0.01;
  s.arrival_rate = static_cast<double>(state.range(0)) / s.service_time;
  s.distribution = d;
  s.cs2 = 0.5;
  int64_t replicas = 0;
  for (auto _ : state) {
    auto r = sizeForLatency(s, 0.05);
    replicas = r->metrics->replicas;
    benchmark::DoNotOptimize(replicas);
  }
  state.counters["replicas"] = static_cast<double>(replicas);
}

void BM_SizeMMc(benchmark::State& state) { sizeBench(state, ServiceDistribution::kExponential); }
void BM_SizeMDc(benchmark::State& state) { sizeBench(state, ServiceDistribution::kDeterministic); }
void BM_SizeGGc(benchmark::State& state) { sizeBench(state, ServiceDistribution::kGeneral); }
BENCHMARK(BM_SizeMMc)->Arg(10)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SizeMDc)->Arg(10)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SizeGGc)->Arg(10)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);

// One exact M/D/N solve at N = range(0) servers and ρ = range(1)/1000.
void BM_SolveMDc(benchmark::State& state) {
  const int64_t n = state.range(0);
  const double rho = static_cast<double>(state.range(1)) / 1000;
  size_t m = 0;
  for (auto _ : state) {
    auto q = MdnQueue::solve(rho * static_cast<double>(n), 1.0, n);
    benchmark::DoNotOptimize(q->waitPercentile(0.99));
    m = q->fftSize();
  }
  state.counters["fft"] = static_cast<double>(m);
}
BENCHMARK(BM_SolveMDc)
    ->Args({1, 900})
    ->Args({1, 999})
    ->Args({100, 900})
    ->Args({100, 999})
    ->Args({5000, 900})
    ->Args({5000, 999})
    ->Unit(benchmark::kMicrosecond);

void BM_ErlangC(benchmark::State& state) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(erlangC(n, 0.95 * static_cast<double>(n)));
  }
}
BENCHMARK(BM_ErlangC)->Arg(10)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace surge::planner
