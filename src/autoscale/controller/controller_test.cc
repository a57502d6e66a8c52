#include "autoscale/controller/controller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

namespace surge::autoscale {
namespace {

using std::chrono::seconds;

constexpr int64_t kUnixStartMs = 1'764'000'000'000;  // 2025-11-24

class FakeTarget : public ScaleTarget {
 public:
  StatusOr<ScaleState> getScale() override {
    if (!get_error.isOk()) return get_error;
    return ScaleState{replicas, replicas};
  }
  Status setScale(int32_t r) override {
    if (!set_error.isOk()) return set_error;
    set_calls.push_back(r);
    replicas = r;
    return Status::ok();
  }
  StatusOr<std::vector<PodInfo>> listPods() override {
    std::vector<PodInfo> pods;
    for (int32_t i = 0; i < replicas; ++i) {
      PodInfo p;
      p.name = "replica-" + std::to_string(i + 1);
      p.start_time = TimePoint(seconds(1));
      p.ready = ReadyCondition{true, TimePoint(seconds(2))};
      p.requests_milli["cpu"] = 500;
      pods.push_back(p);
    }
    return pods;
  }
  int32_t replicas = 2;
  Status get_error;
  Status set_error;
  std::vector<int32_t> set_calls;
};

// Every pod serves `rps_per_pod` requests per second; `fail` makes the fetch fail.
class FakeCollector : public MetricsCollector {
 public:
  MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                          TimePoint now) override {
    calls++;
    MetricsSnapshot s;
    for (const auto& m : spec.metrics) {
      if (fail || failing.count(m.name) > 0) {
        s.failed[m.name] = "gateway http://127.0.0.1:9901/metrics: connection refused";
        continue;
      }
      for (const auto& p : pods) {
        s.pod_metrics[m.name][p.name] =
            PodSample{static_cast<int64_t>(rps_per_pod * 1000), now, seconds(15)};
      }
    }
    return s;
  }
  double rps_per_pod = 100;
  bool fail = false;
  std::set<std::string> failing;  // metrics that fail even when `fail` is false
  int calls = 0;
};

AutoscalePolicy rpsPolicy(int32_t min = 2, int32_t max = 10) {
  AutoscalePolicy p;
  p.sync_period = seconds(2);
  p.hpa.name = "model-server-hpa";
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

class ControllerTest : public ::testing::Test {
 protected:
  AutoscalerOptions options() {
    AutoscalerOptions o;
    o.unix_ms = [this] {
      return kUnixStartMs +
             std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - start_).count();
    };
    return o;
  }
  std::vector<std::string> reasons(const Controller& c) {
    std::vector<std::string> out;
    for (const auto& e : c.events().snapshot()) out.push_back(e.reason);
    return out;
  }

  ManualClock clock_;
  TimePoint start_ = clock_.now();
  FakeTarget target_;
  FakeCollector collector_;
};

TEST_F(ControllerTest, ScalesUpWithinTheLegacyLimitAndRecordsAnEvent) {
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  collector_.rps_per_pod = 250;  // 2 pods x 250 rps, target 100 → 5; legacy limit max(2x2, 4) = 4
  Decision d = c.syncOnce();
  EXPECT_EQ(d.current, 2);
  EXPECT_EQ(d.reactive, 4);
  EXPECT_EQ(d.desired, 4);
  EXPECT_TRUE(d.scaled);
  EXPECT_EQ(target_.set_calls, std::vector<int32_t>{4});
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "Normal");
  EXPECT_EQ(events[0].reason, "SuccessfulRescale");
  EXPECT_EQ(events[0].message,
            "New size: 4; reason: pods metric requests_per_second above target");
  EXPECT_EQ(events[0].from, 2);
  EXPECT_EQ(events[0].to, 4);
  ASSERT_EQ(events[0].metrics.size(), 1u);
  EXPECT_EQ(events[0].metrics[0], "pods metric requests_per_second: 250 / 100");

  // Next sync: 4 pods at 250 → 10, limit max(8, 4) = 8.
  clock_.advance(seconds(2));
  d = c.syncOnce();
  EXPECT_EQ(d.desired, 8);
  AutoscalerStatus s = c.status();
  EXPECT_EQ(s.current_replicas, 4);
  EXPECT_EQ(s.desired_replicas, 8);
  EXPECT_EQ(s.syncs, 2u);
  EXPECT_EQ(s.scale_ups, 2u);
  EXPECT_EQ(s.sync_errors, 0u);
  ASSERT_EQ(s.conditions.size(), 3u);
  EXPECT_EQ(s.conditions[2].type, "ScalingLimited");
  EXPECT_TRUE(s.conditions[2].status);
  EXPECT_EQ(s.conditions[2].reason, "ScaleUpLimit");
}

TEST_F(ControllerTest, WithinToleranceDoesNothing) {
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  collector_.rps_per_pod = 105;
  Decision d = c.syncOnce();
  EXPECT_FALSE(d.scaled);
  EXPECT_EQ(d.desired, 2);
  EXPECT_TRUE(target_.set_calls.empty());
  EXPECT_TRUE(c.events().snapshot().empty());
}

TEST_F(ControllerTest, MetricsSourceDownHoldsReplicas) {
  target_.replicas = 6;
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  collector_.fail = true;
  for (int i = 0; i < 3; ++i) {
    Decision d = c.syncOnce();
    EXPECT_TRUE(d.held);
    EXPECT_EQ(d.desired, 6);
    EXPECT_FALSE(d.scaled);
    clock_.advance(seconds(60));  // past the stabilization window: still no scale-down
  }
  EXPECT_TRUE(target_.set_calls.empty());
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);  // repeats fold
  EXPECT_EQ(events[0].type, "Warning");
  EXPECT_EQ(events[0].reason, "FailedGetPodsMetric");
  EXPECT_EQ(events[0].count, 3);
  EXPECT_NE(events[0].message.find("connection refused"), std::string::npos) << events[0].message;
  EXPECT_NE(events[0].message.find("holding 6 replicas"), std::string::npos) << events[0].message;
  AutoscalerStatus s = c.status();
  EXPECT_EQ(s.sync_errors, 3u);
  EXPECT_EQ(s.conditions[1].type, "ScalingActive");
  EXPECT_FALSE(s.conditions[1].status);
  EXPECT_EQ(s.conditions[1].reason, "FailedGetPodsMetric");
}

// Kubernetes: some metrics failed and the valid ones want fewer replicas → the sync holds and
// `kubectl describe hpa` shows ScalingActive False FailedGet<Type>Metric "invalid metrics (...)".
TEST_F(ControllerTest, PartialFailureThatWouldScaleDownIsScalingActiveFalse) {
  target_.replicas = 6;
  AutoscalePolicy p = rpsPolicy();
  MetricSpec bogus = p.hpa.metrics[0];
  bogus.name = "bogus";
  p.hpa.metrics.push_back(bogus);
  Controller c(p, target_, collector_, clock_, options());
  collector_.rps_per_pod = 30;  // 6 x 30 / 100 → 2: a scale-down on partial data
  collector_.failing = {"bogus"};
  for (int i = 0; i < 2; ++i) {
    Decision d = c.syncOnce();
    EXPECT_FALSE(d.scaled);
    EXPECT_EQ(d.desired, 6);
    AutoscalerStatus s = c.status();
    ASSERT_EQ(s.conditions.size(), 3u);
    EXPECT_EQ(s.conditions[0].type, "AbleToScale");
    EXPECT_TRUE(s.conditions[0].status);
    EXPECT_EQ(s.conditions[1].type, "ScalingActive");
    EXPECT_FALSE(s.conditions[1].status);
    EXPECT_EQ(s.conditions[1].reason, "FailedGetPodsMetric");
    EXPECT_NE(s.conditions[1].message.find("invalid metrics (1 invalid out of 2)"),
              std::string::npos)
        << s.conditions[1].message;
    EXPECT_NE(s.conditions[1].message.find("not scaling down to 2 on partial metrics"),
              std::string::npos)
        << s.conditions[1].message;
    EXPECT_EQ(s.conditions[2].type, "ScalingLimited");
    EXPECT_FALSE(s.conditions[2].status);
    EXPECT_EQ(s.conditions[2].reason, "DesiredWithinRange");
    clock_.advance(seconds(60));
  }
  EXPECT_TRUE(target_.set_calls.empty());

  // The failing metric recovers: a normal decision again (the scale-down, rate-limited or not).
  collector_.failing.clear();
  c.syncOnce();
  AutoscalerStatus s = c.status();
  ASSERT_EQ(s.conditions.size(), 3u);
  EXPECT_TRUE(s.conditions[1].status);
  EXPECT_EQ(s.conditions[1].reason, "ValidMetricFound");

  // Partial failure again while the valid metric wants more: scale up, ScalingActive True.
  collector_.failing = {"bogus"};
  collector_.rps_per_pod = 400;
  clock_.advance(seconds(2));
  Decision d = c.syncOnce();
  EXPECT_TRUE(d.scaled);
  s = c.status();
  EXPECT_TRUE(s.conditions[1].status);
  EXPECT_EQ(s.conditions[1].reason, "ValidMetricFound");
}

TEST_F(ControllerTest, ScaleReadFailureHoldsAndWarns) {
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  target_.get_error = unavailable("actuator stopped");
  Decision d = c.syncOnce();
  EXPECT_TRUE(d.held);
  EXPECT_EQ(collector_.calls, 0);
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "FailedGetScale");
  EXPECT_EQ(c.status().conditions[0].type, "AbleToScale");
  EXPECT_FALSE(c.status().conditions[0].status);
}

TEST_F(ControllerTest, ScaleWriteFailureIsAWarning) {
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  collector_.rps_per_pod = 300;
  target_.set_error = unavailable("spawn failed");
  Decision d = c.syncOnce();
  EXPECT_TRUE(d.scaled);
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "FailedRescale");
  EXPECT_NE(events[0].message.find("spawn failed"), std::string::npos);
  EXPECT_EQ(c.status().sync_errors, 1u);
}

TEST_F(ControllerTest, ScalesDownOnlyAfterTheStabilizationWindow) {
  target_.replicas = 6;
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  collector_.rps_per_pod = 10;  // wants 1 → min 2
  for (int t = 0; t <= 30; t += 10) {
    Decision d = c.syncOnce();
    EXPECT_EQ(d.desired, 6) << "t=" << t;  // the first recommendation (6) is inside the window
    clock_.advance(seconds(10));
  }
  // t = 40 s: the initial recommendation is 40 s old, outside the 30 s window.
  Decision d = c.syncOnce();
  EXPECT_EQ(d.desired, 2);
  EXPECT_EQ(target_.set_calls, std::vector<int32_t>{2});
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "New size: 2; reason: All metrics below target");
}

TEST_F(ControllerTest, DryRunNeverWrites) {
  AutoscalerOptions o = options();
  o.dry_run = true;
  Controller c(rpsPolicy(), target_, collector_, clock_, o);
  collector_.rps_per_pod = 300;
  Decision d = c.syncOnce();
  EXPECT_TRUE(d.scaled);
  EXPECT_TRUE(target_.set_calls.empty());
  ASSERT_EQ(c.events().snapshot().size(), 1u);
  EXPECT_EQ(c.events().snapshot()[0].reason, "DryRunRescale");
}

TEST_F(ControllerTest, PanicScalesStraightToTheDemand) {
  AutoscalePolicy p = rpsPolicy(2, 20);
  p.panic.enabled = true;
  Controller c(p, target_, collector_, clock_, options());
  collector_.rps_per_pod = 500;  // 2 pods x 500 / 100 = 10 replicas ≥ 2 x 2
  Decision d = c.syncOnce();
  EXPECT_EQ(d.reactive, 4);  // the legacy limit
  EXPECT_TRUE(d.panicking);
  EXPECT_EQ(d.desired, 10);
  EXPECT_EQ(target_.set_calls, std::vector<int32_t>{10});
  std::vector<std::string> expected{"PanicModeEntered", "SuccessfulRescale"};
  EXPECT_EQ(reasons(c), expected);
  // The load vanishes: panic holds 10 until the stable window (60 s) has passed.
  collector_.rps_per_pod = 1;
  clock_.advance(seconds(50));
  EXPECT_EQ(c.syncOnce().desired, 10);
  clock_.advance(seconds(11));
  d = c.syncOnce();
  EXPECT_FALSE(d.panicking);
  EXPECT_LT(d.desired, 10);
}

TEST_F(ControllerTest, PanicDisabledStaysWithinHpaLimits) {
  Controller c(rpsPolicy(2, 20), target_, collector_, clock_, options());
  collector_.rps_per_pod = 500;
  EXPECT_EQ(c.syncOnce().desired, 4);
}

TEST(CombineReactivePredictiveTest, MaxRuleAndNoScaleInByForecastAlone) {
  EXPECT_EQ(combineReactivePredictive(4, 6, std::nullopt), 6);
  EXPECT_EQ(combineReactivePredictive(4, 6, 9), 9);   // forecast above: pre-scale
  EXPECT_EQ(combineReactivePredictive(4, 6, 3), 6);   // reactive above
  EXPECT_EQ(combineReactivePredictive(8, 8, 3), 8);   // hold: the forecast alone never scales in
  EXPECT_EQ(combineReactivePredictive(8, 3, 5), 5);   // reactive scale-in, floored by the forecast
  EXPECT_EQ(combineReactivePredictive(8, 3, 9), 9);
}

class PredictiveControllerTest : public ControllerTest {
 protected:
  void SetUp() override {
    history_ = ::testing::TempDir() + "surge_ctrl_history_" + std::to_string(::getpid()) + ".csv";
    std::ofstream out(history_);
    out << "timestamp,rps\n";
    // Two days of a flat 750 rps before the test's start.
    for (int64_t t = kUnixStartMs / 1000 - 2 * 86400; t < kUnixStartMs / 1000; t += 300) {
      out << t << ",750\n";
    }
  }
  void TearDown() override { std::remove(history_.c_str()); }
  AutoscalePolicy policy() {
    AutoscalePolicy p = rpsPolicy(2, 10);
    p.predictive.enabled = true;
    p.predictive.rps_per_replica = 100;
    p.predictive.min_replicas = 2;
    p.predictive.horizon = std::chrono::minutes(10);
    p.predictive.history_file = history_;
    return p;
  }
  std::string history_;
};

TEST_F(PredictiveControllerTest, ForecastPreScalesAboveTheReactiveDecision) {
  Controller c(policy(), target_, collector_, clock_, options());
  ASSERT_TRUE(c.init().isOk());
  collector_.rps_per_pod = 100;  // on target: reactive holds 2
  Decision d = c.syncOnce();
  EXPECT_EQ(d.reactive, 2);
  ASSERT_TRUE(d.forecast_rps.has_value());
  EXPECT_NEAR(*d.forecast_rps, 750, 40);
  EXPECT_EQ(d.predictive, 8);
  EXPECT_EQ(d.desired, 8);
  ASSERT_TRUE(d.observed_rps.has_value());
  EXPECT_DOUBLE_EQ(*d.observed_rps, 200);
  EXPECT_EQ(target_.set_calls, std::vector<int32_t>{8});
  auto events = c.events().snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].message.find("predictive"), std::string::npos) << events[0].message;
  // The observed rate was appended to the history file.
  auto loaded = loadRpsHistory(history_);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  EXPECT_EQ(loaded->back().unix_seconds, kUnixStartMs / 1000);
  EXPECT_DOUBLE_EQ(loaded->back().rps, 200);
}

TEST_F(PredictiveControllerTest, ForecastAloneNeverScalesIn) {
  target_.replicas = 10;
  Controller c(policy(), target_, collector_, clock_, options());
  ASSERT_TRUE(c.init().isOk());
  collector_.rps_per_pod = 100;  // 10 pods on target: reactive holds 10; forecast says 8
  Decision d = c.syncOnce();
  EXPECT_EQ(d.reactive, 10);
  EXPECT_EQ(d.predictive, 8);
  EXPECT_EQ(d.desired, 10);
  EXPECT_TRUE(target_.set_calls.empty());
}

TEST_F(PredictiveControllerTest, MalformedHistoryIsAnInitError) {
  {
    std::ofstream out(history_);
    out << "timestamp,rps\n12,abc\n";
  }
  Controller c(policy(), target_, collector_, clock_, options());
  Status s = c.init();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(history_), std::string::npos) << s.message();
}

TEST(DescribeMetricTest, KubectlNames) {
  MetricSpec cpu;
  cpu.type = MetricSourceType::kResource;
  cpu.name = "cpu";
  cpu.target.type = MetricTargetType::kUtilization;
  cpu.target.average_utilization = 70;
  EXPECT_EQ(describeMetric(cpu), "cpu resource utilization (percentage of request)");
  MetricResult r;
  r.proposal = 3;
  r.current.average_utilization = 45;
  r.current.average_value_milli = 225;
  EXPECT_EQ(formatMetricValue(cpu, r),
            "cpu resource utilization (percentage of request): 45% (225m) / 70%");
  r.proposal.reset();
  EXPECT_EQ(formatMetricValue(cpu, r),
            "cpu resource utilization (percentage of request): <unknown> / 70%");
  MetricSpec ext;
  ext.type = MetricSourceType::kExternal;
  ext.name = "queue_length";
  ext.target.type = MetricTargetType::kAverageValue;
  ext.target.average_value_milli = 50'000;
  EXPECT_EQ(describeMetric(ext), "external metric queue_length");
}


// ---- the normal start: replicas starting are not a metric failure

PodInfo pod(const std::string& name, const std::string& phase, bool ready, TimePoint started,
            TimePoint transition) {
  PodInfo p;
  p.name = name;
  p.phase = phase;
  p.start_time = started;
  p.ready = ReadyCondition{ready, transition};
  return p;
}

TEST(TargetStartingTest, PendingNeverReadyOrJustReadyPodsAreStarting) {
  const TimePoint t0(std::chrono::hours(1));
  const TimePoint now = t0 + seconds(20);
  const ScaleState two{2, 2};
  // Pending, and ready for less than the sample delay: starting.
  EXPECT_TRUE(targetStarting(two,
                             {pod("a", "Pending", false, t0, t0),
                              pod("b", "Running", true, t0, now - seconds(3))},
                             now, seconds(6)));
  // No pod yet (the supervisor has not spawned them): starting.
  EXPECT_TRUE(targetStarting(two, {}, now, seconds(6)));
  // One pod ready long enough to have a sample: not starting.
  EXPECT_FALSE(targetStarting(two,
                              {pod("a", "Pending", false, t0, t0),
                               pod("b", "Running", true, t0, now - seconds(6))},
                              now, seconds(6)));
  // Not ready after having been ready: a real problem, not a start.
  EXPECT_FALSE(targetStarting(two, {pod("a", "Running", false, t0, t0 + seconds(5))}, now,
                              seconds(6)));
  // Running, Ready=False since its start (probes not passed yet): starting.
  EXPECT_TRUE(targetStarting(two, {pod("a", "Running", false, t0, t0)}, now, seconds(6)));
  // Deleted and failed pods do not count.
  PodInfo gone = pod("c", "Running", true, t0, t0);
  gone.deleted = true;
  EXPECT_TRUE(targetStarting(two, {gone, pod("a", "Pending", false, t0, t0)}, now, seconds(6)));
  // Scaled to zero: nothing is starting.
  EXPECT_FALSE(targetStarting(ScaleState{0, 0}, {}, now, seconds(6)));
}

// A target whose replicas start: Pending until `ready_at`, then ready.
class StartingTarget : public ScaleTarget {
 public:
  StartingTarget(Clock& clock, TimePoint ready_at) : clock_(clock), ready_at_(ready_at) {}
  StatusOr<ScaleState> getScale() override { return ScaleState{2, 2}; }
  Status setScale(int32_t) override { return Status::ok(); }
  StatusOr<std::vector<PodInfo>> listPods() override {
    const TimePoint start = ready_at_ - seconds(10);
    const bool ready = clock_.now() >= ready_at_;
    std::vector<PodInfo> pods;
    for (const char* name : {"replica-1", "replica-2"}) {
      pods.push_back(pod(name, ready ? "Running" : "Pending", ready, start,
                         ready ? ready_at_ : start));
    }
    return pods;
  }

 private:
  Clock& clock_;
  TimePoint ready_at_;
};

TEST_F(ControllerTest, StartingReplicasAreAWaitNotAFailedMetricWarning) {
  StartingTarget target(clock_, clock_.now() + seconds(5));
  collector_.fail = true;  // no sample for anybody yet
  Controller c(rpsPolicy(), target, collector_, clock_, options());
  Decision d = c.syncOnce();
  EXPECT_TRUE(d.held);
  EXPECT_EQ(d.current, 2);
  EXPECT_TRUE(c.events().snapshot().empty());
  AutoscalerStatus s = c.status();
  EXPECT_FALSE(s.decided);
  EXPECT_EQ(s.current_replicas, 2);
  EXPECT_EQ(s.sync_errors, 0u);
  EXPECT_FALSE(s.last_decision.has_value());
  ASSERT_EQ(s.conditions.size(), 3u);
  EXPECT_EQ(s.conditions[1].type, "ScalingActive");
  EXPECT_EQ(s.conditions[1].reason, "WaitingForReadyPods");
  for (const auto& cond : s.conditions) {
    EXPECT_EQ(cond.message.find("scaling is disabled"), std::string::npos) << cond.message;
  }

  // Ready at +5 s: the next sync (+6 s, sync period 2 s) is within the sample delay.
  clock_.advance(seconds(6));
  c.syncOnce();
  EXPECT_TRUE(c.events().snapshot().empty());
  EXPECT_FALSE(c.status().decided);

  // Ready for longer than a sync period + 1 s and still no metric: that is a failure.
  clock_.advance(seconds(4));
  c.syncOnce();
  EXPECT_EQ(reasons(c), std::vector<std::string>{"FailedGetPodsMetric"});
  EXPECT_TRUE(c.status().decided);
  EXPECT_EQ(c.status().conditions[1].reason, "FailedGetPodsMetric");

  // Samples arrive: a real decision.
  collector_.fail = false;
  collector_.rps_per_pod = 100;
  clock_.advance(seconds(2));
  d = c.syncOnce();
  EXPECT_FALSE(d.held);
  EXPECT_EQ(c.status().desired_replicas, 2);
}

TEST_F(ControllerTest, FirstSyncWithValidMetricsDecides) {
  Controller c(rpsPolicy(), target_, collector_, clock_, options());
  EXPECT_FALSE(c.status().decided);
  c.syncOnce();
  EXPECT_TRUE(c.status().decided);
}

}  // namespace
}  // namespace surge::autoscale
