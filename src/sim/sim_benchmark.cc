// Simulated requests per wall-clock second: the simulator's throughput on one core.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "config/node.h"
#include "sim/simulator.h"

namespace surge::sim {
namespace {

SimConfig load(const std::string& yaml) {
  auto node = config::Node::loadString(yaml, "bench.yaml");
  if (!node.isOk()) std::abort();
  auto c = parseSimConfig(*node);
  if (!c.isOk()) std::abort();
  return *c;
}

void runBench(benchmark::State& state, const std::string& yaml) {
  SimConfig c = load(yaml);
  RateCurve curve = makeRateCurve(c);
  uint64_t requests = 0;
  for (auto _ : state) {
    auto r = runSimulation(c, curve);
    requests += r->summary.requests;
    benchmark::DoNotOptimize(r->summary.p99_s);
  }
  state.counters["sim_req_per_s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
}

void BM_SharedQueueMMc(benchmark::State& state) {
  runBench(state, "duration: 1000s\ntraffic: {rps: 1000}\n"
                  "service: {distribution: exponential, mean: 20ms}\n"
                  "replicas: {count: 25}\ngateway: {mode: shared_queue}\n");
}
BENCHMARK(BM_SharedQueueMMc)->Unit(benchmark::kMillisecond);

void BM_LeastConnections(benchmark::State& state) {
  runBench(state, "duration: 1000s\ntraffic: {rps: 1000}\n"
                  "service: {distribution: exponential, mean: 20ms}\n"
                  "replicas: {count: 25}\ngateway: {algorithm: least_connections}\n");
}
BENCHMARK(BM_LeastConnections)->Unit(benchmark::kMillisecond);

void BM_PowerOfTwo(benchmark::State& state) {
  runBench(state, "duration: 1000s\ntraffic: {rps: 1000}\n"
                  "service: {distribution: exponential, mean: 20ms}\n"
                  "replicas: {count: 25}\ngateway: {algorithm: power_of_two}\n");
}
BENCHMARK(BM_PowerOfTwo)->Unit(benchmark::kMillisecond);

void BM_DynamicBatching(benchmark::State& state) {
  runBench(state, "duration: 1000s\ntraffic: {rps: 1000}\n"
                  "service: {distribution: batch_curve, base: 10ms, per_item: 2ms}\n"
                  "batching: {max_batch_size: 8, max_queue_delay: 2ms}\n"
                  "replicas: {count: 5}\ngateway: {algorithm: least_connections}\n");
}
BENCHMARK(BM_DynamicBatching)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace surge::sim
