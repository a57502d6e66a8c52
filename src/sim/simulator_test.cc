#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <map>

#include "sim/report.h"
#include "sim/test_util.h"

namespace surge::sim {
namespace {

using testing::configFromYaml;

SimResult run(const SimConfig& c, Scaler* scaler = nullptr) {
  RateCurve curve = makeRateCurve(c);
  auto r = runSimulation(c, curve, scaler);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : SimResult{};
}

const char* kBase = R"(
seed: 4
duration: 10m
traffic:
  noise: 0.1
  components:
    - diurnal: {trough: 200, peak: 600, period: 10m}
service: {distribution: lognormal, mean: 8ms, cv: 0.7}
replicas: {count: 6, slots: 1, queue_limit: 20}
gateway: {algorithm: least_connections}
)";

TEST(Simulator, SameSeedSameResults) {
  SimConfig c = configFromYaml(kBase);
  SimResult a = run(c), b = run(c);
  EXPECT_GT(a.summary.requests, 100000u);
  EXPECT_EQ(a.summary.requests, b.summary.requests);
  EXPECT_EQ(a.summary.served, b.summary.served);
  EXPECT_EQ(a.summary.rejected, b.summary.rejected);
  EXPECT_EQ(a.summary.p99_s, b.summary.p99_s);
  EXPECT_EQ(seriesCsv(a.series), seriesCsv(b.series));
  c.seed = 5;
  SimResult d = run(c);
  EXPECT_NE(a.summary.requests, d.summary.requests);
}

TEST(Simulator, EveryBalancerRunsAndConservesRequests) {
  for (const char* algo : {"round_robin", "random", "least_connections", "power_of_two",
                           "least_latency", "weighted", "consistent_hash"}) {
    SimConfig c = configFromYaml(kBase);
    c.gateway.balancer.algorithm = algo;
    SimResult r = run(c);
    EXPECT_EQ(r.summary.served + r.summary.rejected, r.summary.requests) << algo;
    EXPECT_EQ(r.series.size(), 10u) << algo;
    EXPECT_NEAR(r.summary.replica_hours, 1.0, 1e-9) << algo;  // 6 replicas × 10 min
  }
}

TEST(Simulator, LeastConnectionsBeatsRandomRouting) {
  SimConfig c = configFromYaml(kBase);
  c.replica.queue_limit = 0;
  c.gateway.balancer.algorithm = "random";
  SimResult random = run(c);
  c.gateway.balancer.algorithm = "least_connections";
  SimResult lc = run(c);
  EXPECT_LT(lc.summary.p99_s, random.summary.p99_s * 0.7);
}

TEST(Simulator, QueueLimitRejectsUnderOverload) {
  SimConfig c = configFromYaml(R"(
duration: 1m
traffic: {rps: 2000}
service: {distribution: deterministic, mean: 10ms}
replicas: {count: 10, queue_limit: 5}
gateway: {algorithm: round_robin}
)");
  SimResult r = run(c);
  // Capacity 1000 req/s: about half is rejected; the queue never exceeds 5 per replica.
  EXPECT_NEAR(static_cast<double>(r.summary.rejected) / r.summary.requests, 0.5, 0.02);
  EXPECT_LE(r.summary.max_s, 0.0601);
  EXPECT_GT(r.summary.slo_violation_minutes, 0.99);
}

TEST(Simulator, BatchingThroughTheRealPolicy) {
  // 2 instances, batch_curve 4 ms + 1 ms/row. Max batch 8 with a 25 ms delay at low load: every
  // request waits for the delay (or for the preferred size 8), so latency ≈ 25 ms + service.
  SimConfig c = configFromYaml(R"(
duration: 2m
traffic: {arrivals: deterministic, rps: 100}
service: {distribution: batch_curve, base: 4ms, per_item: 1ms}
batching: {max_batch_size: 8, preferred_batch_sizes: [8], max_queue_delay: 25ms}
replicas: {count: 1, slots: 2}
)");
  SimResult r = run(c);
  EXPECT_EQ(r.summary.rejected, 0u);
  // Every 10 ms one arrives; 25 ms after the oldest the delay is exceeded: batches of 3 (the ones
  // at +0, +10, +20 ms), service 7 ms. Latencies 32, 22, 12 ms.
  EXPECT_NEAR(r.summary.p99_s, 0.032, 0.0003);
  EXPECT_NEAR(r.summary.p50_s, 0.022, 0.0003);
  // Without the delay each request is dispatched at once: 5 ms.
  c.replica.batching.max_queue_delay = Duration(0);
  SimResult nodelay = run(c);
  EXPECT_NEAR(nodelay.summary.p99_s, 0.005, 0.0002);
  // Under heavy load batches fill to the preferred size 8 (service 12 ms / 8 rows).
  c.traffic.components[0].rps = 1200;
  SimResult heavy = run(c);
  EXPECT_EQ(heavy.summary.rejected, 0u);
  EXPECT_LT(heavy.summary.p99_s, 0.05);
}

// A scripted scaler: replica count from a table of (time, count).
class ScriptedScaler : public Scaler {
 public:
  Duration scrapeInterval() const override { return std::chrono::seconds(15); }
  Duration syncPeriod() const override { return std::chrono::seconds(15); }
  void onScrape(const ClusterView& v) override { last_pods = v.pods.size(); }
  int32_t onSync(const ClusterView& v) override {
    ++syncs;
    return v.now_ns < 60'000'000'000 ? 2 : v.now_ns < 120'000'000'000 ? 8 : 7;
  }
  int syncs = 0;
  size_t last_pods = 0;
};

TEST(Simulator, ScalerStartsAfterColdStartAndDrains) {
  SimConfig c = configFromYaml(R"(
duration: 3m
traffic: {rps: 500}
service: {distribution: exponential, mean: 10ms}
replicas: {count: 4, cold_start: 30s, queue_limit: 50}
output: {interval: 15s}
)");
  ScriptedScaler s;
  SimResult r = run(c, &s);
  EXPECT_EQ(s.syncs, 11);  // at 15 s .. 165 s
  // t = 15 s: scaled 4 → 2. t = 60 s: asked for 8, ready at 90 s. t = 120 s: 8 → 7.
  auto at = [&](double t) {
    for (const auto& row : r.series) {
      if (std::abs(row.t_s - t) < 1e-6) return row;
    }
    ADD_FAILURE() << "no row at " << t;
    return IntervalRow{};
  };
  EXPECT_EQ(at(30).ready_replicas, 2);
  EXPECT_EQ(at(75).ready_replicas, 2);
  EXPECT_EQ(at(75).replicas, 8);
  EXPECT_EQ(at(90).ready_replicas, 8);
  EXPECT_EQ(at(135).ready_replicas, 7);
  EXPECT_EQ(at(135).replicas, 7);
  EXPECT_EQ(r.summary.scale_ups, 6u);
  EXPECT_EQ(r.summary.scale_downs, 3u);
  // 2 replicas at 500 req/s × 10 ms = 5 Erlangs: overloaded between 15 s and 90 s.
  EXPECT_GT(at(75).p99_ms, 300);
  EXPECT_GT(at(75).rejected, 1000u);
  EXPECT_LT(at(180).p99_ms, 100);
}

TEST(Simulator, LatencyCountsInTheIntervalOfArrival) {
  // One replica, 10 ms per request, 150 req/s for the first second, then nothing: 149 requests
  // (the 150th would be due at 1 s); at 1 s ~49 still wait, and the last one starts at ~1.48 s. Every request arrived in
  // the first interval, so the first row has them all — the backlog's tail too — and the second
  // none, as a load generator that measures from the due time would report it.
  SimConfig c = configFromYaml(R"(
duration: 2s
traffic:
  arrivals: deterministic
  components:
    - constant: 150
    - step: {at: 1s, rps: -150}
service: {distribution: deterministic, mean: 10ms}
replicas: {count: 1}
slo: {target: 100ms}
output: {interval: 1s}
)");
  SimResult r = run(c);
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_EQ(r.summary.requests, 149u);
  EXPECT_EQ(r.series[0].served, 149u);
  EXPECT_NEAR(r.series[0].p99_ms, 490, 15);
  EXPECT_TRUE(r.series[0].slo_violated);
  EXPECT_NEAR(r.series[0].queued, 49, 1);  // the state at the interval's end
  EXPECT_EQ(r.series[1].served, 0u);
  EXPECT_EQ(r.series[1].p99_ms, 0);
  EXPECT_FALSE(r.series[1].slo_violated);
  EXPECT_DOUBLE_EQ(r.summary.slo_violation_minutes, 1.0 / 60);
  EXPECT_EQ(r.summary.served, 149u);
}

// Records every sync's time and the requests each pod has received so far.
class RecordingScaler : public Scaler {
 public:
  RecordingScaler(Duration first, int32_t replicas) : first_(first), replicas_(replicas) {}
  Duration scrapeInterval() const override { return std::chrono::seconds(15); }
  Duration syncPeriod() const override { return std::chrono::seconds(15); }
  Duration firstSync() const override { return first_; }
  void onScrape(const ClusterView& v) override {
    scrape_s.push_back(static_cast<double>(v.now_ns) / 1e9);
  }
  int32_t onSync(const ClusterView& v) override {
    sync_s.push_back(static_cast<double>(v.now_ns) / 1e9);
    views.push_back(v);
    return replicas_;
  }
  std::vector<double> sync_s, scrape_s;
  std::vector<ClusterView> views;

 private:
  Duration first_;
  int32_t replicas_;
};

TEST(Simulator, SyncPhaseSetsTheFirstSync) {
  SimConfig c = configFromYaml(R"(
duration: 1m
traffic: {rps: 100}
service: {distribution: exponential, mean: 10ms}
replicas: {count: 2}
)");
  RecordingScaler phased(std::chrono::seconds(4), 2);
  run(c, &phased);
  EXPECT_EQ(phased.sync_s, (std::vector<double>{4, 19, 34, 49}));
  RecordingScaler plain(std::chrono::seconds(15), 2);
  run(c, &plain);
  EXPECT_EQ(plain.sync_s, (std::vector<double>{15, 30, 45}));
  // Scrapes keep the syncs' phase (the real collector reads at the sync), none before.
  EXPECT_EQ(phased.scrape_s, (std::vector<double>{4, 19, 34, 49}));
  EXPECT_EQ(plain.scrape_s, (std::vector<double>{0, 15, 30, 45}));
}

TEST(Simulator, AListOfColdStartsIsTakenInTheOrderReplicasAreAdded) {
  SimConfig c = configFromYaml(R"(
duration: 30s
traffic: {rps: 100}
service: {distribution: exponential, mean: 10ms}
replicas: {count: 2, cold_start: [3s, 1s, 2s]}
)");
  EXPECT_EQ(c.replica.cold_start, std::chrono::seconds(2));  // the mean, for reports
  RecordingScaler s(std::chrono::seconds(5), 6);  // at 5 s: four more
  run(c, &s);
  ASSERT_GE(s.views.size(), 2u);
  std::map<std::string, double> ready_s;
  for (const auto& p : s.views[1].pods) ready_s[p.name] = static_cast<double>(p.ready_ns) / 1e9;
  EXPECT_EQ(ready_s, (std::map<std::string, double>{{"replica-0", 0},
                                                    {"replica-1", 0},
                                                    {"replica-2", 8},
                                                    {"replica-3", 6},
                                                    {"replica-4", 7},
                                                    {"replica-5", 7}}));
}

TEST(Simulator, GatewaySlowStartRampsANewReplicasShare) {
  // Two replicas serve from the start; at the first sync (5 s) a third is asked for, ready at
  // once (no cold start). With weighted round robin it gets a third of the requests without slow
  // start; with a 60 s slow start from 10 % a small, growing share.
  auto share_of_new = [](const std::string& gateway) {
    SimConfig c = configFromYaml(R"(
duration: 40s
traffic: {rps: 600, arrivals: deterministic}
service: {distribution: deterministic, mean: 1ms}
replicas: {count: 2, slots: 4}
gateway: )" + gateway + "\n");
    RecordingScaler s(std::chrono::seconds(5), 3);
    run(c, &s);
    // Sync at 20 s: the requests of the new replica (the third pod) since it joined at 5 s.
    const ClusterView& v = s.views.at(1);
    uint64_t total = 0, newest = 0;
    for (const auto& p : v.pods) {
      total += p.requests_total;
      if (p.name == "replica-2") newest = p.requests_total;
    }
    return static_cast<double>(newest) / 9000.0;  // 15 s × 600 req/s reached the cluster
  };
  const double plain = share_of_new("{algorithm: weighted}");
  const double ramped = share_of_new("{algorithm: weighted, slow_start: 60s}");
  EXPECT_NEAR(plain, 1.0 / 3, 0.02);
  // Weight 10 % → 32.5 % of full over the first 15 s: about 7–12 % of the requests.
  EXPECT_LT(ramped, 0.15);
  EXPECT_GT(ramped, 0.04);
}

TEST(Simulator, ReportsRenderEveryRun) {
  SimConfig c = configFromYaml(kBase);
  SimResult r = run(c);
  std::string table = formatSummaryTable({r.summary});
  EXPECT_NE(table.find("latency p99"), std::string::npos);
  std::string json = summaryJson({r.summary}, c.seed);
  EXPECT_NE(json.find("\"schema\": \"surge.sim/v1\""), std::string::npos);
  std::string csv = seriesCsv(r.series);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
  std::string svg = chartSvg({"a"}, {&r.series}, 100, "p99");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '<') , std::count(svg.begin(), svg.end(), '>'));
}

}  // namespace
}  // namespace surge::sim
