// ScalingPipeline: each stage (reactive with its stabilization history, hold, predictive with its
// refit cadence, panic, clamp), their order, the events as values, and properties over seeded
// random observation sequences.
#include "autoscale/scaling_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "autoscale/hpa/test_util.h"
#include "common/random.h"

namespace surge::autoscale {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr int64_t kUnixStartMs = 1'764'000'000'000;  // 2025-11-24

PipelinePolicy rpsPolicy(int32_t min = 2, int32_t max = 10) {
  PipelinePolicy p;
  p.sync_period = seconds(15);
  p.hpa.min_replicas = min;
  p.hpa.max_replicas = max;
  MetricSpec m;
  m.type = MetricSourceType::kPods;
  m.name = "requests_per_second";
  m.target.type = MetricTargetType::kAverageValue;
  m.target.average_value_milli = 100'000;
  p.hpa.metrics.push_back(m);
  p.controller.downscale_stabilization_window = seconds(30);
  return p;
}

PipelinePolicy predictivePolicy(int32_t min = 2, int32_t max = 10) {
  PipelinePolicy p = rpsPolicy(min, max);
  p.predictive.enabled = true;
  p.predictive.rps_per_replica = 100;
  p.predictive.min_replicas = 2;
  p.predictive.horizon = minutes(10);
  return p;
}

// Two days of a flat `rps` before the start, one sample per 5 minutes.
std::vector<RpsSample> flatHistory(double rps) {
  std::vector<RpsSample> h;
  for (int64_t t = kUnixStartMs / 1000 - 2 * 86400; t < kUnixStartMs / 1000; t += 300) {
    h.push_back({t, rps});
  }
  return h;
}

// `replicas` ready pods each serving `rps_per_pod`, at `t` after the start; `fail` makes every
// metric of `spec` fail.
Observation observe(const HpaSpec& spec, Duration t, int32_t replicas, double rps_per_pod,
                    bool fail = false) {
  Observation o;
  o.now = TimePoint(std::chrono::hours(1) + t);
  o.unix_ms = kUnixStartMs + std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
  o.scale = ScaleState{replicas, replicas};
  for (int32_t i = 0; i < replicas; ++i) {
    PodInfo p;
    p.name = "replica-" + std::to_string(i + 1);
    p.start_time = TimePoint(seconds(1));
    p.ready = ReadyCondition{true, TimePoint(seconds(2))};
    p.requests_milli["cpu"] = 500;
    o.pods.push_back(p);
  }
  for (const auto& m : spec.metrics) {
    if (fail) {
      o.metrics.failed[m.name] = "connection refused";
      continue;
    }
    for (const auto& p : o.pods) {
      o.metrics.pod_metrics[m.name][p.name] =
          PodSample{static_cast<int64_t>(rps_per_pod * 1000), o.now, seconds(15)};
    }
  }
  return o;
}

std::vector<std::string> reasons(const PipelineResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.events) out.push_back(e.reason);
  return out;
}

TEST(ScalingPipelineTest, ReactiveStageIsTheHpaCoreWithItsLegacyLimit) {
  ScalingPipeline p(rpsPolicy());
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(0), 2, 250));
  EXPECT_EQ(r.decision.current, 2);
  EXPECT_EQ(r.decision.reactive, 4);  // 5 wanted; legacy limit max(2 × 2, 4)
  EXPECT_EQ(r.decision.desired, 4);
  EXPECT_TRUE(r.decision.scaled);
  EXPECT_FALSE(r.decision.held);
  EXPECT_EQ(r.decision.reason, "pods metric requests_per_second above target");
  EXPECT_EQ(r.hpa.condition.reason, "ScaleUpLimit");
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.metric_values.size(), 1u);
  EXPECT_EQ(r.metric_values[0], "pods metric requests_per_second: 250 / 100");
  EXPECT_EQ(r.decision.unix_ms, kUnixStartMs);
}

TEST(ScalingPipelineTest, StabilizationHistoryIsKeptBetweenSteps) {
  ScalingPipeline p(rpsPolicy());
  for (int t = 0; t <= 30; t += 10) {  // the first recommendation (6) is inside the 30 s window
    EXPECT_EQ(p.step(observe(p.collectSpec(), seconds(t), 6, 10)).decision.desired, 6) << t;
  }
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(40), 6, 10));
  EXPECT_EQ(r.decision.desired, 2);
  EXPECT_EQ(r.decision.reason, "All metrics below target");
  // A fresh pipeline has no history: the same observation at 40 s holds 6 again.
  ScalingPipeline fresh(rpsPolicy());
  EXPECT_EQ(fresh.step(observe(fresh.collectSpec(), seconds(40), 6, 10)).decision.desired, 6);
}

TEST(ScalingPipelineTest, HoldsWhenEveryMetricIsMissingAndSkipsTheLaterStages) {
  PipelinePolicy policy = predictivePolicy(2, 10);
  policy.panic.enabled = true;
  ScalingPipeline p(policy);
  p.setRpsHistory(flatHistory(750));
  const size_t history = p.rpsHistory().size();
  for (int i = 0; i < 3; ++i) {
    PipelineResult r = p.step(observe(p.collectSpec(), seconds(60 * i), 6, 0, /*fail=*/true));
    EXPECT_TRUE(r.decision.held);
    EXPECT_EQ(r.decision.desired, 6);  // never to the minimum because data is missing
    EXPECT_FALSE(r.decision.scaled);
    EXPECT_FALSE(r.decision.predictive.has_value());  // the forecast (8) would raise: skipped
    EXPECT_FALSE(r.decision.observed_rps.has_value());
    EXPECT_FALSE(r.decision.panicking);
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].type, "Warning");
    EXPECT_EQ(r.events[0].reason, "FailedGetPodsMetric");
    EXPECT_EQ(r.events[0].message,
              "invalid metrics (1 invalid out of 1), first error is: failed to get pods metric "
              "value: unable to get metric requests_per_second: connection refused; holding 6 "
              "replicas");
    ASSERT_TRUE(r.first_failed.has_value());
    EXPECT_EQ(*r.first_failed, 0u);
  }
  EXPECT_EQ(p.rpsHistory().size(), history);
  EXPECT_EQ(p.lastFitUnixMs(), 0);
  EXPECT_FALSE(p.forecaster().fitted());
}

TEST(ScalingPipelineTest, ZeroReplicasDisableScalingButAnUntoldTargetCountsWhatRuns) {
  PipelinePolicy policy = rpsPolicy();
  policy.panic.enabled = true;
  ScalingPipeline p(policy);
  Observation o = observe(p.collectSpec(), seconds(0), 0, 500);
  PipelineResult r = p.step(o);
  EXPECT_EQ(r.decision.current, 0);
  EXPECT_EQ(r.decision.desired, 0);  // not clamped to the minimum
  EXPECT_FALSE(r.decision.scaled);
  EXPECT_EQ(r.hpa.condition.reason, "ScalingDisabled");

  // spec 0 while 3 replicas run (the local actuator before its first setScale): current is 3.
  o = observe(p.collectSpec(), seconds(15), 3, 100);
  o.scale = ScaleState{0, 3};
  r = p.step(o);
  EXPECT_EQ(r.scale.spec_replicas, 3);
  EXPECT_EQ(r.decision.current, 3);
  EXPECT_EQ(r.decision.desired, 3);
  EXPECT_EQ(effectiveScale(ScaleState{0, 0}).spec_replicas, 0);
  EXPECT_EQ(effectiveScale(ScaleState{2, 5}).spec_replicas, 2);
}

TEST(ScalingPipelineTest, PredictivePreScalesAndRecordsTheObservedRate) {
  ScalingPipeline p(predictivePolicy());
  p.setRpsHistory(flatHistory(750));
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(0), 2, 100));
  const Decision& d = r.decision;
  EXPECT_EQ(d.reactive, 2);
  ASSERT_TRUE(d.forecast_rps.has_value());
  EXPECT_NEAR(*d.forecast_rps, 750, 40);
  EXPECT_EQ(d.predictive, 8);
  EXPECT_EQ(d.desired, 8);
  ASSERT_TRUE(d.observed_rps.has_value());
  EXPECT_DOUBLE_EQ(*d.observed_rps, 200);
  EXPECT_EQ(p.rpsHistory().back().unix_seconds, kUnixStartMs / 1000);
  EXPECT_DOUBLE_EQ(p.rpsHistory().back().rps, 200);
  EXPECT_EQ(d.reason.rfind("predictive: forecast ", 0), 0u) << d.reason;
  EXPECT_NE(d.reason.find("needs 8 replicas (100 rps each)"), std::string::npos) << d.reason;
  EXPECT_FALSE(r.fit_error.has_value());
}

TEST(ScalingPipelineTest, PredictiveSizesForTheConfiguredQuantile) {
  // Ten days of a noisy flat 750 rps (the combination backtests on them): the 0.9 quantile is
  // above the point forecast, which quantile 0.5 uses.
  std::vector<RpsSample> history;
  Random rng(5);
  for (int64_t t = kUnixStartMs / 1000 - 10 * 86400; t < kUnixStartMs / 1000; t += 300) {
    history.push_back({t, 750 * (1 + 0.1 * (rng.uniformDouble() - 0.5))});
  }
  std::optional<double> forecast[2];
  for (int i = 0; i < 2; ++i) {
    PipelinePolicy policy = predictivePolicy();
    policy.predictive.quantile = i == 0 ? 0.5 : 0.9;
    ScalingPipeline p(policy);
    p.setRpsHistory(history);
    forecast[i] = p.step(observe(p.collectSpec(), seconds(0), 2, 100)).decision.forecast_rps;
    ASSERT_TRUE(forecast[i].has_value());
    ASSERT_TRUE(p.forecaster().backtested()) << p.forecaster().summary();
  }
  EXPECT_NEAR(*forecast[0], 750, 30);
  EXPECT_GT(*forecast[1], *forecast[0] + 5);
}

TEST(ScalingPipelineTest, AForecastAloneNeverScalesIn) {
  ScalingPipeline p(predictivePolicy());
  p.setRpsHistory(flatHistory(750));
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(0), 10, 100));
  EXPECT_EQ(r.decision.reactive, 10);
  EXPECT_EQ(r.decision.predictive, 8);
  EXPECT_EQ(r.decision.desired, 10);
  EXPECT_FALSE(r.decision.scaled);
}

TEST(ScalingPipelineTest, ThePredictiveMetricIsCollectedForTheHistoryOnly) {
  PipelinePolicy policy = predictivePolicy();
  policy.predictive.metric = "inflight";
  ScalingPipeline p(policy);
  ASSERT_EQ(p.collectSpec().metrics.size(), 2u);  // added to what is collected...
  EXPECT_EQ(p.collectSpec().metrics[1].name, "inflight");
  EXPECT_EQ(p.policy().hpa.metrics.size(), 1u);  // ...not to what the HPA core sees
  ScalingPipeline named(predictivePolicy());       // already named by the HPA: not added twice
  EXPECT_EQ(named.collectSpec().metrics.size(), 1u);
  // No "inflight" samples and no history: nothing recorded, the stage is skipped.
  PipelineResult r = p.step(observe(policy.hpa, seconds(0), 4, 100));
  EXPECT_FALSE(r.decision.observed_rps.has_value());
  EXPECT_FALSE(r.decision.predictive.has_value());
  EXPECT_EQ(r.decision.desired, 4);
  EXPECT_TRUE(p.rpsHistory().empty());
  EXPECT_FALSE(r.fit_error.has_value());
}

TEST(ScalingPipelineTest, AFailedFitIsReportedAndSkipsTheStage) {
  ScalingPipeline p(predictivePolicy());
  Observation o = observe(p.collectSpec(), seconds(0), 4, 100);
  o.metrics.pod_metrics["requests_per_second"]["replica-1"].value_milli = -900'000;  // -900 rps
  PipelineResult r = p.step(o);
  ASSERT_TRUE(r.decision.observed_rps.has_value());
  EXPECT_DOUBLE_EQ(*r.decision.observed_rps, -600);
  ASSERT_TRUE(r.fit_error.has_value());
  EXPECT_NE(r.fit_error->find("must be a finite number >= 0"), std::string::npos) << *r.fit_error;
  EXPECT_FALSE(r.decision.predictive.has_value());
  EXPECT_FALSE(p.forecaster().fitted());
}

TEST(ScalingPipelineTest, RefitsOncePerRefitPeriod) {
  ScalingPipeline p(predictivePolicy());
  EXPECT_EQ(p.options().refit_period, kDefaultRefitPeriod);
  EXPECT_EQ(kDefaultRefitPeriod, seconds(60));
  p.setRpsHistory(flatHistory(750));
  std::vector<int64_t> fits;
  for (int t = 0; t <= 150; t += 15) {
    p.step(observe(p.collectSpec(), seconds(t), 4, 100));
    fits.push_back(p.lastFitUnixMs() - kUnixStartMs);
  }
  const std::vector<int64_t> expected{0,      0,      0,      0,      60'000, 60'000,
                                      60'000, 60'000, 120'000, 120'000, 120'000};
  EXPECT_EQ(fits, expected);

  PipelineOptions slow;
  slow.refit_period = minutes(15);
  ScalingPipeline q(predictivePolicy(), slow);
  q.setRpsHistory(flatHistory(750));
  for (int t = 0; t <= 150; t += 15) q.step(observe(q.collectSpec(), seconds(t), 4, 100));
  EXPECT_EQ(q.lastFitUnixMs(), kUnixStartMs);
}

TEST(ScalingPipelineTest, PanicScalesStraightToTheDemandAndEmitsItsEvents) {
  PipelinePolicy policy = rpsPolicy(2, 20);
  policy.panic.enabled = true;
  ScalingPipeline p(policy);
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(0), 2, 500));
  EXPECT_EQ(r.decision.reactive, 4);  // the legacy limit
  EXPECT_TRUE(r.decision.panicking);
  EXPECT_EQ(r.decision.desired, 10);
  EXPECT_EQ(reasons(r), std::vector<std::string>{"PanicModeEntered"});
  EXPECT_EQ(r.events[0].from, 2);
  EXPECT_EQ(r.events[0].to, 10);
  EXPECT_EQ(r.decision.reason.rfind("panic mode: ", 0), 0u) << r.decision.reason;
  // Load gone: panic holds 10 for the stable window, then exits.
  EXPECT_EQ(p.step(observe(p.collectSpec(), seconds(50), 10, 1)).decision.desired, 10);
  r = p.step(observe(p.collectSpec(), seconds(61), 10, 1));
  EXPECT_FALSE(r.decision.panicking);
  EXPECT_EQ(reasons(r), std::vector<std::string>{"PanicModeExited"});
  EXPECT_LT(r.decision.desired, 10);
}

TEST(ScalingPipelineTest, StagesRunInOrderReactivePredictivePanicClamp) {
  // Forecast 750 rps → 8 replicas (above the reactive 4); panic demand 12 (≥ 2 × 2 → panic)
  // raises past the forecast; maxReplicas 9 clamps last.
  PipelinePolicy policy = predictivePolicy(2, 9);
  policy.panic.enabled = true;
  ScalingPipeline p(policy);
  p.setRpsHistory(flatHistory(750));
  PipelineResult r = p.step(observe(p.collectSpec(), seconds(0), 2, 600));
  const Decision& d = r.decision;
  EXPECT_EQ(d.reactive, 4);
  EXPECT_EQ(d.predictive, 8);
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 9);
  EXPECT_EQ(d.reason.rfind("panic mode: ", 0), 0u) << d.reason;
  EXPECT_NE(d.reason.find("; clamped to maxReplicas 9"), std::string::npos) << d.reason;
  ASSERT_EQ(reasons(r), std::vector<std::string>{"PanicModeEntered"});
  EXPECT_EQ(r.events[0].to, 9);  // the event carries the clamped decision

  // Without panic the forecast wins over the reactive decision, and the clamp still applies.
  PipelinePolicy small = predictivePolicy(2, 6);
  ScalingPipeline q(small);
  q.setRpsHistory(flatHistory(750));
  r = q.step(observe(q.collectSpec(), seconds(0), 2, 100));
  EXPECT_EQ(r.decision.predictive, 8);
  EXPECT_EQ(r.decision.desired, 6);
  EXPECT_NE(r.decision.reason.find("predictive: forecast"), std::string::npos);
  EXPECT_NE(r.decision.reason.find("; clamped to maxReplicas 6"), std::string::npos);
}

TEST(ScalingPipelineTest, PartialFailureWarnsFirstThenPanicEvent) {
  PipelinePolicy policy = rpsPolicy(2, 20);
  MetricSpec ext;
  ext.type = MetricSourceType::kExternal;
  ext.name = "queue_length";
  ext.target.type = MetricTargetType::kAverageValue;
  ext.target.average_value_milli = 50'000;
  policy.hpa.metrics.push_back(ext);
  policy.panic.enabled = true;
  ScalingPipeline p(policy);
  Observation o = observe(rpsPolicy().hpa, seconds(0), 2, 500);
  o.metrics.failed["queue_length"] = "prometheus down";
  PipelineResult r = p.step(o);
  EXPECT_FALSE(r.decision.held);  // one valid metric: scale up allowed
  EXPECT_EQ(reasons(r), (std::vector<std::string>{"FailedGetExternalMetric", "PanicModeEntered"}));
  EXPECT_EQ(r.decision.desired, 10);
  ASSERT_EQ(r.metric_values.size(), 2u);
  EXPECT_EQ(r.metric_values[1], "external metric queue_length: <unknown> / 50");
}

// The HPA spec of the flash-crowd tests: cpu utilization 70 % of a 500m request.
PipelinePolicy cpuPolicy(int32_t min, int32_t max) {
  PipelinePolicy p;
  p.hpa.min_replicas = min;
  p.hpa.max_replicas = max;
  p.hpa.metrics.push_back(testing::resourceUtilization("cpu", 70));
  p.panic.enabled = true;
  p.panic.threshold = 1.5;
  return p;
}

// `ready` replicas busy at `cpu_milli` of their 500m with `inflight` requests each, and
// `starting` Pending pods without samples; the scale asks for ready + starting.
Observation crowd(Duration t, int32_t ready, int32_t starting, int64_t cpu_milli, double inflight) {
  Observation o;
  o.now = TimePoint(std::chrono::hours(1) + t);
  o.unix_ms = kUnixStartMs + std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
  o.scale = ScaleState{ready + starting, ready + starting};
  for (int32_t i = 0; i < ready + starting; ++i) {
    PodInfo p;
    p.name = "replica-" + std::to_string(i + 1);
    p.requests_milli["cpu"] = 500;
    if (i < ready) {
      p.start_time = TimePoint(seconds(1));
      p.ready = ReadyCondition{true, TimePoint(seconds(2))};
      o.metrics.pod_metrics["cpu"][p.name] = PodSample{cpu_milli, o.now, seconds(15)};
      o.metrics.pod_metrics["inflight"][p.name] =
          PodSample{static_cast<int64_t>(inflight * 1000), o.now, seconds(15)};
    } else {
      p.phase = "Pending";
      p.start_time = o.now - seconds(30);
      p.ready = ReadyCondition{false, o.now - seconds(30)};
    }
    o.pods.push_back(p);
  }
  return o;
}

// Why panic added no replica on a crowd: its demand was the HPA's proposal, and cpu utilization
// stops at 100 %, so on 12 saturated replicas the proposal is ceil(12 × 100 / 70) = 18 whatever
// the crowd — exactly what the HPA itself decides. The in-flight requests keep growing.
TEST(ScalingPipelineTest, PanicOnTheProposalCannotSeePastSaturationAMetricCan) {
  ScalingPipeline proposal(cpuPolicy(2, 60));
  PipelineResult r = proposal.step(crowd(seconds(0), 12, 0, 500, 8));
  EXPECT_EQ(r.hpa.proposal, 18);
  EXPECT_EQ(r.decision.reactive, 18);
  EXPECT_TRUE(r.decision.panicking);  // 18 / 12 = 1.5: triggered...
  EXPECT_EQ(r.decision.desired, 18);  // ...and added nothing

  PipelinePolicy policy = cpuPolicy(2, 60);
  policy.panic.metric = "inflight";
  policy.panic.target = 2;  // two in flight per replica at its target
  ScalingPipeline metric(policy);
  ASSERT_EQ(metric.collectSpec().metrics.size(), 2u);  // collected for panic...
  EXPECT_EQ(metric.collectSpec().metrics[1].name, "inflight");
  EXPECT_EQ(metric.policy().hpa.metrics.size(), 1u);   // ...not seen by the HPA core
  r = metric.step(crowd(seconds(0), 12, 0, 500, 8));
  EXPECT_EQ(r.decision.reactive, 18);  // the HPA-exact path is unchanged
  EXPECT_TRUE(r.decision.panicking);
  EXPECT_EQ(r.decision.desired, 48);  // 12 × 8 in flight / 2 per replica
  EXPECT_EQ(reasons(r), std::vector<std::string>{"PanicModeEntered"});
  EXPECT_NE(r.decision.reason.find("demand 48.0 replicas"), std::string::npos)
      << r.decision.reason;
  // A normal load (1.5 in flight each on 12) does not panic.
  ScalingPipeline calm(policy);
  EXPECT_FALSE(calm.step(crowd(seconds(0), 12, 0, 330, 1.5)).decision.panicking);
}

// The panic stage counts pods in cold start as capacity that is coming: it scales again only for
// demand they will not cover; the HPA core keeps Kubernetes' rule (unready pods count as 0 %
// on a scale-up, so its proposal on the same observation is lower).
TEST(ScalingPipelineTest, PanicCountsStartingPodsAsCapacityComing) {
  PipelinePolicy policy = cpuPolicy(2, 100);
  policy.panic.metric = "inflight";
  policy.panic.target = 2;
  ScalingPipeline p(policy);
  // 12 ready with 8 in flight each = 48 replicas' worth; 36 starting: nothing to add.
  PipelineResult r = p.step(crowd(seconds(0), 12, 36, 500, 8));
  EXPECT_EQ(r.decision.current, 48);
  EXPECT_TRUE(r.decision.panicking);  // 48 >= 1.5 × 12 ready
  EXPECT_EQ(r.decision.desired, 48);
  EXPECT_FALSE(r.decision.scaled);
  EXPECT_LE(r.decision.reactive, 48);  // the HPA core: the starting pods dilute its average
  // The crowd grows to 12 in flight each (72 replicas' worth): 24 more, not 72 more.
  r = p.step(crowd(seconds(15), 12, 36, 500, 12));
  EXPECT_EQ(r.decision.desired, 72);
  // A missing panic metric adds no observation: panic holds, and nothing new is computed.
  Observation o = crowd(seconds(30), 12, 60, 500, 12);
  o.metrics.pod_metrics.erase("inflight");
  o.metrics.failed["inflight"] = "scrape failed";
  r = p.step(o);
  EXPECT_FALSE(r.decision.held);  // cpu is still there
  EXPECT_TRUE(r.decision.panicking);
  EXPECT_EQ(r.decision.desired, 72);
}

TEST(PanicDemandTest, ProposalOrMetricTotalOverTarget) {
  SyncResult hpa;
  hpa.proposal = 7;
  MetricsSnapshot s;
  s.pod_metrics["inflight"]["a"] = PodSample{3000, {}, seconds(15)};
  s.pod_metrics["inflight"]["b"] = PodSample{5000, {}, seconds(15)};
  s.external_metrics["gateway_rps"] = {900'000};
  PanicConfig c;
  EXPECT_EQ(panicDemand(c, hpa, true, s), 7.0);
  EXPECT_FALSE(panicDemand(c, hpa, false, s).has_value());
  c.metric = "inflight";
  c.target = 2;
  EXPECT_EQ(panicDemand(c, hpa, true, s), 4.0);
  EXPECT_EQ(panicDemand(c, hpa, false, s), 4.0);  // the HPA's metrics do not matter
  c.metric = "gateway_rps";
  c.target = 100;
  EXPECT_EQ(panicDemand(c, hpa, true, s), 9.0);
  c.metric = "absent";
  EXPECT_FALSE(panicDemand(c, hpa, true, s).has_value());
  c.metric = "inflight";
  c.target = 0;
  EXPECT_FALSE(panicDemand(c, hpa, true, s).has_value());
}

TEST(ReadyReplicasTest, RunningNotDeletedAndReady) {
  std::vector<PodInfo> pods(5);
  pods[0].ready = ReadyCondition{true, {}};
  pods[1].ready = ReadyCondition{false, {}};
  pods[2].ready = ReadyCondition{true, {}};
  pods[2].deleted = true;
  pods[3].ready = ReadyCondition{true, {}};
  pods[3].phase = "Pending";
  // pods[4]: no Ready condition yet
  EXPECT_EQ(readyReplicas(pods), 1);
}

TEST(ObservedRequestRateTest, PodsExternalObjectAndFailed) {
  MetricsSnapshot s;
  s.pod_metrics["rps"]["a"] = PodSample{1500, {}, seconds(15)};
  s.pod_metrics["rps"]["b"] = PodSample{2500, {}, seconds(15)};
  s.external_metrics["ext"] = {1000, 3000};
  s.object_metrics["obj"] = 7000;
  s.failed["down"] = "x";
  s.pod_metrics["down"]["a"] = PodSample{1000, {}, seconds(15)};
  EXPECT_EQ(observedRequestRate("rps", s), 4.0);
  EXPECT_EQ(observedRequestRate("ext", s), 4.0);
  EXPECT_EQ(observedRequestRate("obj", s), 7.0);
  EXPECT_FALSE(observedRequestRate("down", s).has_value());
  EXPECT_FALSE(observedRequestRate("none", s).has_value());
}

// Properties over seeded random observation sequences (load, failures, replica counts outside the
// bounds, both stages on): with current > 0 the decision is within [min, max]; a held decision
// keeps current; a scale-in only happens when the HPA core decided one; and a forecast never
// lowers the decision (the same sequence without predictive decides at most as much).
TEST(ScalingPipelinePropertyTest, BoundsAndAForecastNeverScalesIn) {
  Random rng(20261207);
  for (int sequence = 0; sequence < 60; ++sequence) {
    const int32_t lo = 1 + static_cast<int32_t>(rng.uniform(4));
    const int32_t hi = lo + static_cast<int32_t>(rng.uniform(15));
    PipelinePolicy with = predictivePolicy(lo, hi);
    with.predictive.rps_per_replica = 50 + static_cast<double>(rng.uniform(150));
    with.predictive.min_replicas = 1 + static_cast<int32_t>(rng.uniform(6));
    with.panic.enabled = rng.uniform(2) == 1;
    with.panic.threshold = 1.5 + static_cast<double>(rng.uniform(3));
    PipelinePolicy without = with;
    without.predictive.enabled = false;
    ScalingPipeline p(with), q(without);
    p.setRpsHistory(flatHistory(static_cast<double>(rng.uniform(2000))));
    int32_t replicas = 1 + static_cast<int32_t>(rng.uniform(25));
    for (int sync = 0; sync < 12; ++sync) {
      const double rps = static_cast<double>(rng.uniform(400));
      const bool fail = rng.uniform(8) == 0;
      Observation o = observe(p.collectSpec(), seconds(15 * sync), replicas, rps, fail);
      const Decision d = p.step(o).decision;
      const Decision e = q.step(o).decision;
      SCOPED_TRACE("sequence " + std::to_string(sequence) + " sync " + std::to_string(sync));
      ASSERT_EQ(d.current, replicas);
      if (d.held) {
        EXPECT_EQ(d.desired, d.current);
      } else {
        EXPECT_GE(d.desired, lo);
        EXPECT_LE(d.desired, hi);
      }
      if (d.desired < d.current) {
        EXPECT_LT(d.reactive, d.current);
      }
      EXPECT_EQ(d.reactive, e.reactive);  // the HPA core does not see the later stages
      EXPECT_GE(d.desired, e.desired);
      EXPECT_EQ(d.scaled, d.desired != d.current);
      // The target follows the decision, or (now and then) is resized from outside.
      replicas = rng.uniform(6) == 0 ? 1 + static_cast<int32_t>(rng.uniform(25)) : d.desired;
    }
  }
}

}  // namespace
}  // namespace surge::autoscale
