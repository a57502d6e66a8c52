// The simulated autoscaler: surge's HPA core, forecaster and panic policy driven on virtual time.
#include "sim/autoscaler.h"

#include <gtest/gtest.h>

#include <map>

#include "sim/test_util.h"

namespace surge::sim {
namespace {

using testing::configFromYaml;

SimResult run(const SimConfig& c) {
  RateCurve curve = makeRateCurve(c);
  auto scaler = makeScaler(c, curve);
  EXPECT_TRUE(scaler.isOk()) << scaler.status().message();
  if (!scaler.isOk()) return {};
  auto r = runSimulation(c, curve, scaler->get());
  EXPECT_TRUE(r.isOk());
  return r.isOk() ? *r : SimResult{};
}

const IntervalRow& rowAt(const SimResult& r, double minutes) {
  for (const auto& row : r.series) {
    if (std::abs(row.t_s - minutes * 60) < 1e-6) return row;
  }
  static IntervalRow none;
  ADD_FAILURE() << "no row at minute " << minutes;
  return none;
}

const char* kStepLoad = R"(
duration: 50m
traffic:
  components:
    - constant: 200
    - step: {at: 10m, rps: 600}
    - step: {at: 30m, rps: -600}
service: {distribution: exponential, mean: 10ms}
replicas: {count: 3, cold_start: 30s}
gateway: {algorithm: least_connections}
autoscaler:
  sync_period: 15s
  hpa:
    minReplicas: 2
    maxReplicas: 30
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "80"}
)";

TEST(SimAutoscaler, HpaFollowsAStepUpAndDown) {
  SimResult r = run(configFromYaml(kStepLoad));
  EXPECT_EQ(rowAt(r, 9).ready_replicas, 3);  // 200 / 80 = 2.5 → 3
  // 800 req/s / 80 = 10 replicas, after the HPA's doubling limits and the 30 s cold start.
  EXPECT_GE(rowAt(r, 25).ready_replicas, 10);
  EXPECT_LE(rowAt(r, 25).ready_replicas, 11);
  // Back to 200 req/s at 30 m: the 5-minute downscale stabilization holds until ~35 m.
  EXPECT_GE(rowAt(r, 33).replicas, 10);
  EXPECT_EQ(rowAt(r, 50).ready_replicas, 3);
  EXPECT_GT(r.summary.scale_ups, 6u);
  EXPECT_GT(r.summary.scale_downs, 6u);
  // Deterministic: the same seed gives the same decisions.
  SimResult again = run(configFromYaml(kStepLoad));
  EXPECT_EQ(again.summary.replica_hours, r.summary.replica_hours);
  EXPECT_EQ(again.summary.p99_s, r.summary.p99_s);
}

TEST(SimAutoscaler, PanicModeReactsFasterToASpike) {
  // A slow scale-up policy (1 pod a minute): panic mode bypasses it.
  std::string base = std::string(kStepLoad) +
                     "    behavior:\n"
                     "      scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 60}]}\n";
  SimResult plain = run(configFromYaml(base));
  // Panic on the requests in flight: they grow with the overload, while the served rate a
  // replica's requests_per_second shows stops at its capacity.
  SimResult panic = run(configFromYaml(
      base + "  panic: {enabled: true, threshold: 2, metric: inflight, target: 2}\n"));
  // Within two minutes of the step (3.3× the capacity) panic scales straight to the demand.
  EXPECT_LE(rowAt(plain, 12).replicas, 6);
  EXPECT_GE(rowAt(panic, 12).replicas, 10);
  EXPECT_LE(panic.summary.slo_violation_minutes, plain.summary.slo_violation_minutes);
}

// A 4× flash crowd with a 3-minute ramp on 800 req/s, 2-minute cold start, the reference HPA's
// cpu target and behavior. Panic on the HPA's proposal cannot see past saturation (cpu stops at
// 100 %): it decides what the HPA decides. Panic on the in-flight requests (a total that keeps
// growing with the crowd, against the ready replicas) scales to the crowd at once.
const char* kFlashCrowd = R"(
duration: 50m
traffic:
  components:
    - constant: 800
    - spike: {at: 10m, duration: 25m, rise: 3m, rps: 2400}
service: {distribution: batch_curve, base: 6ms, per_item: 2ms, jitter: 0.5ms}
replicas: {count: 10, slots: 1, queue_limit: 100, cold_start: 2m}
gateway: {algorithm: least_connections}
slo: {percentile: 0.99, target: 200ms}
autoscaler:
  sync_period: 15s
  hpa:
    minReplicas: 2
    maxReplicas: 60
    metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
    behavior:
      scaleDown:
        stabilizationWindowSeconds: 300
        policies: [{type: Percent, value: 10, periodSeconds: 60}]
      scaleUp:
        stabilizationWindowSeconds: 0
        policies: [{type: Percent, value: 100, periodSeconds: 15}, {type: Pods, value: 4, periodSeconds: 15}]
        selectPolicy: Max
)";

TEST(SimAutoscaler, PanicOnInFlightRequestsMeetsAFlashCrowd) {
  SimResult hpa = run(configFromYaml(kFlashCrowd));
  SimResult proposal =
      run(configFromYaml(std::string(kFlashCrowd) + "  panic: {enabled: true, threshold: 1.5}\n"));
  SimResult inflight = run(configFromYaml(
      std::string(kFlashCrowd) +
      "  panic: {enabled: true, threshold: 2, metric: inflight, target: 2}\n"));
  // On the proposal, panic adds no replica during the ramp and the first cold start.
  for (double m = 10; m <= 16; ++m) {
    EXPECT_EQ(rowAt(proposal, m).replicas, rowAt(hpa, m).replicas) << "minute " << m;
  }
  EXPECT_EQ(proposal.summary.slo_violation_minutes, hpa.summary.slo_violation_minutes);
  // On in-flight requests: more replicas within the ramp, at most half the violation minutes,
  // for a modest cost over the run.
  EXPECT_GT(rowAt(inflight, 13).replicas, rowAt(hpa, 13).replicas + 10);
  EXPECT_GE(hpa.summary.slo_violation_minutes, 4);
  EXPECT_LE(inflight.summary.slo_violation_minutes, 0.5 * hpa.summary.slo_violation_minutes);
  EXPECT_LE(inflight.summary.replica_hours, 1.25 * hpa.summary.replica_hours);
  EXPECT_NE(rowAt(inflight, 13).note.find("panic"), std::string::npos);
}

TEST(SimAutoscaler, PredictiveScalesAheadOfTheDailyRise) {
  std::string base = R"(
duration: 4h
traffic:
  components:
    - diurnal: {trough: 5, peak: 75, peak_at: 5h}
service: {distribution: exponential, mean: 80ms}
replicas: {count: 2, cold_start: 2m}
slo: {target: 800ms}
autoscaler:
  hpa:
    minReplicas: 2
    maxReplicas: 40
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "8"}
)";
  SimResult reactive = run(configFromYaml(base));
  SimResult predictive = run(configFromYaml(
      base + "  predictive: {enabled: true, horizon: 10m, rps_per_replica: 8, min_replicas: 2}\n"));
  // On the rise the forecast (10 minutes ahead) asks for more replicas than the current rate.
  double more = 0;
  for (double m : {120.0, 150.0, 180.0, 210.0}) {
    more += static_cast<double>(rowAt(predictive, m).replicas - rowAt(reactive, m).replicas);
  }
  EXPECT_GT(more, 0);
  EXPECT_NE(rowAt(predictive, 180).note.find("forecast="), std::string::npos);
}

TEST(SimAutoscaler, ANewReplicaHasNoRequestRateUntilTheSecondScrapeAfterItJoined) {
  // requests_per_second is the gateway's per-backend counter: a replica has one once it is ready
  // (joined the gateway). Scraped while starting it must not count — its rate comes from two
  // scrapes taken while ready, as surge autoscale's ScrapeCollector sees it (missing before).
  SimConfig c = configFromYaml(R"(
traffic: {rps: 10}
service: {mean: 5ms}
autoscaler:
  sync_period: 5s
  hpa:
    minReplicas: 1
    maxReplicas: 5
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "10"}
)");
  RateCurve curve = makeRateCurve(c);
  auto scaler = makeSimAutoscaler(c, curve);
  ASSERT_TRUE(scaler.isOk()) << scaler.status().message();
  auto pod = [](const std::string& name, bool ready, uint64_t requests) {
    ClusterView::Pod p;
    p.name = name;
    p.ready = ready;
    p.ready_ns = ready ? 1 : -1;
    p.requests_total = requests;
    return p;
  };
  auto view = [&](double t_s, std::vector<ClusterView::Pod> pods) {
    ClusterView v;
    v.now_ns = static_cast<int64_t>(t_s * 1e9);
    v.spec_replicas = static_cast<int32_t>(pods.size());
    v.pods = std::move(pods);
    return v;
  };
  auto rates = [&](const ClusterView& v) {
    autoscale::Observation o = (*scaler)->observe(v);
    std::map<std::string, int64_t> out;
    for (const auto& [name, sample] : o.metrics.pod_metrics["requests_per_second"]) {
      out[name] = sample.value_milli;
    }
    return out;
  };
  rates(view(0, {pod("a", true, 0), pod("b", false, 0)}));
  // 5 s: b is still starting (scraped, but not in the gateway): a has a rate, b none.
  auto r5 = rates(view(5, {pod("a", true, 100), pod("b", false, 0)}));
  EXPECT_EQ(r5, (std::map<std::string, int64_t>{{"a", 20000}}));
  // 10 s: b joined after 5 s and took 20 requests — its first scrape while ready: still none.
  auto r10 = rates(view(10, {pod("a", true, 200), pod("b", true, 20)}));
  EXPECT_EQ(r10, (std::map<std::string, int64_t>{{"a", 20000}}));
  // 15 s: b's rate between the two scrapes while ready.
  auto r15 = rates(view(15, {pod("a", true, 300), pod("b", true, 70)}));
  EXPECT_EQ(r15, (std::map<std::string, int64_t>{{"a", 20000}, {"b", 10000}}));
}

TEST(SimAutoscaler, ConfigErrors) {
  std::string base = "traffic: {rps: 10}\nservice: {mean: 5ms}\nautoscaler:\n";
  auto err = [&](const std::string& block) {
    SimConfig c = configFromYaml(base + block);
    RateCurve curve = makeRateCurve(c);
    auto s = makeScaler(c, curve);
    return s.isOk() ? std::string() : s.status().message();
  };
  const std::string hpa =
      "  hpa: {minReplicas: 1, maxReplicas: 5, metrics: [{type: Resource, resource: {name: cpu, "
      "target: {type: Utilization, averageUtilization: 50}}}]}\n";
  EXPECT_EQ(err(hpa), "");
  std::string e = err(hpa + "  sync_perod: 15s\n");
  EXPECT_NE(e.find("did you mean 'sync_period'"), std::string::npos) << e;
  e = err(hpa + "  target: {kind: local}\n");
  EXPECT_NE(e.find("not used by surge sim"), std::string::npos) << e;
  EXPECT_EQ(err(hpa + "  sync_phase: 5s\n"), "");
  e = err(hpa + "  sync_phase: 20s\n");
  EXPECT_NE(e.find("must not exceed sync_period"), std::string::npos) << e;
  e = err(hpa + "  cpu_request: lots\n");
  EXPECT_NE(e.find("sim.yaml:"), std::string::npos) << e;
}

}  // namespace
}  // namespace surge::sim
