// runSync with 100 pods: cpu Utilization + Pods AverageValue, behavior set, 20 recommendations
// and events of history — the cost of one HPA decision.
#include <benchmark/benchmark.h>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/test_util.h"

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT

SyncInput hundredPods(bool behavior) {
  SyncInput in = input(100, 1, 500);
  in.spec.metrics = {resourceUtilization("cpu", 60),
                     averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&in, 100, 700);
  for (const PodInfo& p : in.pods) {
    in.metrics.pod_metrics["rps"][p.name] = {120000, in.now, std::chrono::seconds(30)};
  }
  if (behavior) in.spec.behavior = Behavior{};
  for (int i = 0; i < 20; ++i) {
    in.history->recommendations.push_back({100 + i, in.now - std::chrono::seconds(15 * i)});
    in.history->scale_up_events.push_back({1, in.now - std::chrono::seconds(15 * i), false});
  }
  return in;
}

void BM_RunSync100Pods(benchmark::State& state) {
  const SyncInput in = hundredPods(state.range(0) != 0);
  for (auto _ : state) {
    SyncResult r = runSync(in);
    benchmark::DoNotOptimize(r.desired_replicas);
  }
}
BENCHMARK(BM_RunSync100Pods)->Arg(0)->Arg(1);

}  // namespace
}  // namespace surge::autoscale
