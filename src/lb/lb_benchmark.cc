// pick() of every algorithm at 10..10000 hosts, plus Maglev / ring build time.
// Run: build-lb/src/lb/lb_benchmark   (numbers in docs/design/lb.md)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lb/balancer.h"
#include "lb/maglev.h"
#include "lb/ring.h"

namespace surge::lb {
namespace {

std::vector<HostPtr> hostsWithLoad(size_t n) {
  Random r(5);
  std::vector<HostPtr> v;
  for (size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "10.%zu.%zu.%zu:8080", i >> 16, (i >> 8) & 255, i & 255);
    auto h = std::make_shared<Host>(buf, 1, "");
    for (uint64_t k = r.uniform(8); k > 0; --k) h->onRequestStart();
    v.push_back(h);
  }
  return v;
}

void runPick(benchmark::State& state, BalancerOptions options, bool keyed, bool hint = false) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto hosts = hostsWithLoad(n);
  Random random(9);
  auto made = makeBalancer(options, &random);
  if (!made.isOk()) {
    state.SkipWithError(made.status().toString().c_str());
    return;
  }
  auto balancer = std::move(made).value();
  balancer->update(buildHostSet(hosts, {}, TimePoint(std::chrono::hours(1)), 1));
  PickContext ctx;
  ctx.now = TimePoint(std::chrono::hours(1));
  uint64_t key = 0;
  if (hint) {
    int64_t total = 0;
    for (const auto& h : hosts) total += h->inFlight();
    ctx.total_in_flight = total;
  }
  for (auto _ : state) {
    if (keyed) ctx.hash_key = key += 0x9e3779b97f4a7c15ULL;
    benchmark::DoNotOptimize(balancer->pick(ctx));
  }
}

void BM_Pick(benchmark::State& state, const char* algorithm) {
  BalancerOptions o;
  o.algorithm = algorithm;
  runPick(state, o, std::string(algorithm) == "consistent_hash");
}

void BM_PickHash(benchmark::State& state, const char* method, double factor, bool keyed,
                 bool hint) {
  BalancerOptions o;
  o.algorithm = "consistent_hash";
  o.hash_method = method;
  o.hash_balance_factor = factor;
  runPick(state, o, keyed, hint);
}

void BM_PickWeighted(benchmark::State& state, const char* algorithm) {
  // Five distinct weights: exercises weighted code paths (SWRR classes, prefix sums, scores).
  BalancerOptions o;
  o.algorithm = algorithm;
  const size_t n = static_cast<size_t>(state.range(0));
  auto hosts = hostsWithLoad(n);
  for (size_t i = 0; i < n; ++i) hosts[i]->setWeight(static_cast<uint32_t>(1 + i % 5));
  Random random(9);
  auto balancer = std::move(makeBalancer(o, &random)).value();
  balancer->update(buildHostSet(hosts, {}, TimePoint(std::chrono::hours(1)), 1));
  PickContext ctx;
  for (auto _ : state) benchmark::DoNotOptimize(balancer->pick(ctx));
}

void BM_MaglevBuild(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto set = buildHostSet(hostsWithLoad(n), {}, TimePoint(), 1);
  const uint64_t m = MaglevTable::tableSizeFor(65537, n);
  for (auto _ : state) {
    MaglevTable t;
    t.build(set->hosts, set->weights, m);
    benchmark::DoNotOptimize(t.size());
  }
  state.counters["table_size"] = static_cast<double>(m);
}

void BM_RingBuild(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto set = buildHostSet(hostsWithLoad(n), {}, TimePoint(), 1);
  for (auto _ : state) {
    HashRing r;
    r.build(set->hosts, set->weights, 1, 160);
    benchmark::DoNotOptimize(r.points());
  }
}

#define SIZES ->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)

BENCHMARK_CAPTURE(BM_Pick, round_robin, "round_robin") SIZES;
BENCHMARK_CAPTURE(BM_Pick, weighted, "weighted") SIZES;
BENCHMARK_CAPTURE(BM_Pick, random, "random") SIZES;
BENCHMARK_CAPTURE(BM_Pick, least_connections, "least_connections") SIZES;
BENCHMARK_CAPTURE(BM_Pick, power_of_two, "power_of_two") SIZES;
BENCHMARK_CAPTURE(BM_Pick, least_latency, "least_latency") SIZES;
BENCHMARK_CAPTURE(BM_Pick, consistent_hash, "consistent_hash") SIZES;
BENCHMARK_CAPTURE(BM_PickHash, ring, "ring", 0.0, true, false) SIZES;
BENCHMARK_CAPTURE(BM_PickHash, maglev_bounded, "maglev", 1.25, true, false) SIZES;
BENCHMARK_CAPTURE(BM_PickHash, maglev_bounded_hint, "maglev", 1.25, true, true) SIZES;
BENCHMARK_CAPTURE(BM_PickHash, ring_bounded_hint, "ring", 1.25, true, true) SIZES;
BENCHMARK_CAPTURE(BM_PickHash, maglev_keyless, "maglev", 0.0, false, false) SIZES;
BENCHMARK_CAPTURE(BM_PickWeighted, weighted_5w, "weighted") SIZES;
BENCHMARK_CAPTURE(BM_PickWeighted, random_5w, "random") SIZES;
BENCHMARK(BM_MaglevBuild) SIZES->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RingBuild) SIZES->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace surge::lb
