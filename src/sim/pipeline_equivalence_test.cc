// One decision, two drivers: the production Controller (autoscale/controller/controller.h, with a fake
// ScaleTarget, a fake MetricsCollector and a ManualClock) and `surge sim`'s autoscaler
// (sim/autoscaler.h, through its observe/decide seam), configured from the same `autoscaler:`
// block, must decide alike at every sync — desired, reactive, predictive, forecast, panic, hold,
// reason — on the same observation sequence.
//   1. A scripted sequence (steady load, a metrics outage, a burst, a fall, a rise) through the
//      controller; what the controller observed is fed to the simulator's decide().
//   2. A simulated run: what the simulator observed at each sync is replayed through the
//      controller.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "autoscale/controller/controller.h"
#include "autoscale/predict/forecaster.h"
#include "sim/autoscaler.h"
#include "sim/test_util.h"

namespace surge::sim {
namespace {

using autoscale::Decision;
using autoscale::Observation;
using std::chrono::seconds;
using testing::configFromYaml;

// The autoscaler block both drivers run: HPA on requests_per_second, predictive, panic.
const char* kPolicy = R"(
  sync_period: 15s
  history_days: 2
  hpa:
    minReplicas: 2
    maxReplicas: 20
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "100"}
  controller: {downscale_stabilization_window: 60s}
  predictive: {enabled: true, horizon: 10m, rps_per_replica: 100, min_replicas: 2}
  panic: {enabled: true, window: 6s, stable_window: 60s, threshold: 2}
)";

// The controller's policy: the same block through the same parser (the simulation-only keys
// skipped), with the predictive history file holding what the simulator generates.
autoscale::AutoscalePolicy controllerPolicy(const SimConfig& c, const RateCurve& curve,
                                            const std::string& history_file) {
  auto policy = autoscale::parseAutoscalePolicy(c.autoscaler.node, {"history_days", "refit_every"});
  EXPECT_TRUE(policy.isOk()) << policy.status().message();
  std::ofstream out(history_file);
  out << "timestamp,rps\n";
  for (int64_t t = -2 * 86400; t < 0; t += 300) {
    char line[64];
    std::snprintf(line, sizeof line, "%lld,%.17g\n", static_cast<long long>(c.start_unix + t),
                  curve.historyRateAt(static_cast<double>(t)));
    out << line;
  }
  autoscale::AutoscalePolicy p = policy.isOk() ? *policy : autoscale::AutoscalePolicy{};
  p.predictive.history_file = history_file;
  return p;
}

std::string tempHistory(const std::string& name) {
  return ::testing::TempDir() + "surge_equivalence_" + name + "_" + std::to_string(::getpid()) +
         ".csv";
}

void expectSameDecision(const Decision& controller, const Decision& sim, size_t sync) {
  SCOPED_TRACE("sync " + std::to_string(sync));
  EXPECT_EQ(controller.unix_ms, sim.unix_ms);
  EXPECT_EQ(controller.current, sim.current);
  EXPECT_EQ(controller.reactive, sim.reactive);
  EXPECT_EQ(controller.predictive, sim.predictive);
  EXPECT_EQ(controller.forecast_rps, sim.forecast_rps);  // bit for bit: same fits, same times
  EXPECT_EQ(controller.observed_rps, sim.observed_rps);
  EXPECT_EQ(controller.panicking, sim.panicking);
  EXPECT_EQ(controller.held, sim.held);
  EXPECT_EQ(controller.desired, sim.desired);
  EXPECT_EQ(controller.scaled, sim.scaled);
  EXPECT_EQ(controller.reason, sim.reason);
}

// ---- 1. a scripted sequence through the controller, fed to the simulator -------------------------

class RecordingTarget : public autoscale::ScaleTarget {
 public:
  StatusOr<autoscale::ScaleState> getScale() override {
    last_scale = autoscale::ScaleState{replicas, replicas};
    return last_scale;
  }
  Status setScale(int32_t r) override {
    replicas = r;
    return Status::ok();
  }
  StatusOr<std::vector<autoscale::PodInfo>> listPods() override {
    last_pods.clear();
    for (int32_t i = 0; i < replicas; ++i) {
      autoscale::PodInfo p;
      p.name = "replica-" + std::to_string(i + 1);
      p.start_time = TimePoint(seconds(1));
      p.ready = autoscale::ReadyCondition{true, TimePoint(seconds(2))};
      p.requests_milli["cpu"] = 1000;
      last_pods.push_back(p);
    }
    return last_pods;
  }
  int32_t replicas = 2;
  autoscale::ScaleState last_scale;
  std::vector<autoscale::PodInfo> last_pods;
};

// The load `total_rps` spread over the pods; `fail`: every fetch fails.
class ScriptedCollector : public autoscale::MetricsCollector {
 public:
  autoscale::MetricsSnapshot collect(const autoscale::HpaSpec& spec,
                                     const std::vector<autoscale::PodInfo>& pods,
                                     TimePoint now) override {
    autoscale::MetricsSnapshot s;
    for (const auto& m : spec.metrics) {
      if (fail) {
        s.failed[m.name] = "gateway http://127.0.0.1:9901/metrics: connection refused";
        continue;
      }
      for (const auto& p : pods) {
        const double per_pod = total_rps / static_cast<double>(pods.size());
        s.pod_metrics[m.name][p.name] =
            autoscale::PodSample{static_cast<int64_t>(per_pod * 1000), now, seconds(15)};
      }
    }
    last = s;
    return s;
  }
  double total_rps = 0;
  bool fail = false;
  autoscale::MetricsSnapshot last;
};

struct Phase {
  int syncs;
  double total_rps;
  bool fail;
};

// Runs the script through a controller and, observation by observation, through `sim`;
// returns the controller's decisions and the simulator's.
std::pair<std::vector<Decision>, std::vector<Decision>> runScript(
    const SimConfig& c, const RateCurve& curve, SimAutoscaler& sim, const std::string& history) {
  const std::vector<Phase> script = {
      {10, 300, false},   // steady: 2 → 3 replicas
      {5, 300, true},     // metrics outage: hold
      {10, 1500, false},  // a burst: panic straight to the demand
      {20, 200, false},   // the fall: panic exits, the forecast floors the scale-in
      {15, 900, false},   // a rise
  };
  ManualClock clock;
  const TimePoint start = clock.now();
  RecordingTarget target;
  ScriptedCollector collector;
  autoscale::AutoscalerOptions options;
  options.unix_ms = [&] {
    return c.start_unix * 1000 +
           std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start).count();
  };
  autoscale::Controller controller(controllerPolicy(c, curve, history), target, collector, clock,
                                   options);
  EXPECT_TRUE(controller.init().isOk());
  std::vector<Decision> from_controller, from_sim;
  for (const Phase& phase : script) {
    collector.total_rps = phase.total_rps;
    collector.fail = phase.fail;
    for (int i = 0; i < phase.syncs; ++i) {
      from_controller.push_back(controller.syncOnce());
      Observation obs;
      obs.now = clock.now();
      obs.unix_ms = options.unix_ms();
      obs.scale = target.last_scale;
      obs.pods = target.last_pods;
      obs.metrics = collector.last;
      from_sim.push_back(sim.decide(obs));
      clock.advance(seconds(15));
    }
  }
  return {from_controller, from_sim};
}

const char* kScriptSim = R"(
duration: 1h
traffic: {rps: 300}
service: {mean: 5ms}
autoscaler:)";

TEST(PipelineEquivalenceTest, ControllerAndSimulatorDecideAlikeOnAScriptedSequence) {
  SimConfig c = configFromYaml(std::string(kScriptSim) + kPolicy);
  RateCurve curve = makeRateCurve(c);
  auto sim = makeSimAutoscaler(c, curve);
  ASSERT_TRUE(sim.isOk()) << sim.status().message();
  ASSERT_NE(sim->get(), nullptr);
  const std::string history = tempHistory("script");
  auto [controller, simulated] = runScript(c, curve, **sim, history);
  std::remove(history.c_str());
  ASSERT_EQ(controller.size(), simulated.size());
  for (size_t i = 0; i < controller.size(); ++i) expectSameDecision(controller[i], simulated[i], i);

  // The script reaches every stage (so the equality above covers them).
  bool held = false, panicked = false, pre_scaled = false, scaled_in = false, floored = false;
  for (const Decision& d : controller) {
    held |= d.held;
    panicked |= d.panicking;
    pre_scaled |= d.predictive.has_value() && d.desired > d.reactive && !d.panicking;
    scaled_in |= d.desired < d.current;
    floored |= d.desired < d.current && d.desired > d.reactive;
  }
  EXPECT_TRUE(held);
  EXPECT_TRUE(panicked);
  EXPECT_TRUE(pre_scaled);
  EXPECT_TRUE(scaled_in);
  EXPECT_TRUE(floored);  // a reactive scale-in limited by the forecast
}

TEST(PipelineEquivalenceTest, AnotherRefitPeriodIsCaught) {
  // The simulator's old 15-minute refit: the forecasts part from the controller's within the
  // script (the check above would fail), although the replicas may still agree.
  SimConfig c = configFromYaml(std::string(kScriptSim) + kPolicy + "  refit_every: 15m\n");
  RateCurve curve = makeRateCurve(c);
  auto sim = makeSimAutoscaler(c, curve);
  ASSERT_TRUE(sim.isOk()) << sim.status().message();
  const std::string history = tempHistory("refit");
  auto [controller, simulated] = runScript(c, curve, **sim, history);
  std::remove(history.c_str());
  size_t differ = 0;
  for (size_t i = 0; i < controller.size(); ++i) {
    differ += controller[i].forecast_rps != simulated[i].forecast_rps ? 1 : 0;
  }
  EXPECT_GT(differ, 0u);
}

// ---- 2. a simulated run, replayed through the controller ------------------------------------------

// Wraps the simulator's autoscaler and records what it observed and decided at every sync.
class RecordingScaler : public Scaler {
 public:
  explicit RecordingScaler(SimAutoscaler& inner) : inner_(inner) {}
  Duration scrapeInterval() const override { return inner_.scrapeInterval(); }
  Duration syncPeriod() const override { return inner_.syncPeriod(); }
  int32_t minReplicas() const override { return inner_.minReplicas(); }
  void onScrape(const ClusterView& v) override { inner_.onScrape(v); }
  int32_t onSync(const ClusterView& v) override {
    observations.push_back(inner_.observe(v));
    decisions.push_back(inner_.decide(observations.back()));
    return decisions.back().desired;
  }
  std::vector<Observation> observations;
  std::vector<Decision> decisions;

 private:
  SimAutoscaler& inner_;
};

// Returns the recorded observation of the current sync.
class ReplayTarget : public autoscale::ScaleTarget {
 public:
  StatusOr<autoscale::ScaleState> getScale() override { return obs->scale; }
  Status setScale(int32_t) override { return Status::ok(); }
  StatusOr<std::vector<autoscale::PodInfo>> listPods() override { return obs->pods; }
  const Observation* obs = nullptr;
};

class ReplayCollector : public autoscale::MetricsCollector {
 public:
  autoscale::MetricsSnapshot collect(const autoscale::HpaSpec& spec,
                                     const std::vector<autoscale::PodInfo>&, TimePoint) override {
    names.clear();
    for (const auto& m : spec.metrics) names.push_back(m.name);
    return obs->metrics;
  }
  const Observation* obs = nullptr;
  std::vector<std::string> names;  // what the controller asked for
};

TEST(PipelineEquivalenceTest, ASimulatedRunReplaysIdenticallyThroughTheController) {
  SimConfig c = configFromYaml(std::string(R"(
duration: 40m
traffic:
  components:
    - constant: 600
    - step: {at: 0s, rps: -400}  # quieter than the history: the forecast pre-scales
    - step: {at: 10m, rps: 900}
    - step: {at: 22m, rps: -900}
service: {distribution: exponential, mean: 10ms}
replicas: {count: 2, cold_start: 30s}
gateway: {algorithm: least_connections}
autoscaler:)") + kPolicy);
  RateCurve curve = makeRateCurve(c);
  auto sim = makeSimAutoscaler(c, curve);
  ASSERT_TRUE(sim.isOk()) << sim.status().message();
  RecordingScaler recorder(**sim);
  auto run = runSimulation(c, curve, &recorder);
  ASSERT_TRUE(run.isOk()) << run.status().message();
  ASSERT_EQ(recorder.observations.size(), 40u * 4u - 1u);  // a sync every 15 s, none at the end

  ManualClock clock;
  ReplayTarget target;
  ReplayCollector collector;
  const Observation* current = nullptr;
  autoscale::AutoscalerOptions options;
  options.unix_ms = [&] { return current->unix_ms; };
  const std::string history = tempHistory("replay");
  autoscale::Controller controller(controllerPolicy(c, curve, history), target, collector, clock,
                                   options);
  ASSERT_TRUE(controller.init().isOk());
  bool panicked = false, pre_scaled = false;
  for (size_t i = 0; i < recorder.observations.size(); ++i) {
    current = &recorder.observations[i];
    target.obs = collector.obs = current;
    clock.set(current->now);
    Decision d = controller.syncOnce();
    EXPECT_EQ(collector.names, (std::vector<std::string>{"requests_per_second"}));
    expectSameDecision(d, recorder.decisions[i], i);
    panicked |= d.panicking;
    pre_scaled |= d.predictive.has_value() && d.desired > d.reactive && !d.panicking;
  }
  std::remove(history.c_str());
  EXPECT_TRUE(panicked);
  EXPECT_TRUE(pre_scaled);
}

}  // namespace
}  // namespace surge::sim
