// Per-metric proposals, one test per rule of pod grouping and per-metric proposals
// (docs/autoscaling.md "Rules, in one breath"). Expected numbers are worked by hand from
// kubernetes replica_calculator.go.
#include "autoscale/hpa/replica_calculator.h"

#include <gtest/gtest.h>

#include "autoscale/hpa/pod_grouping.h"
#include "autoscale/hpa/test_util.h"

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT
using std::chrono::seconds;
using Names = std::vector<std::string>;

MetricResult compute(const SyncInput& in, size_t metric = 0) {
  return computeMetricProposal(in.spec.metrics.at(metric), in,
                               tolerancesFor(in.spec, in.controller));
}

SyncInput cpuInput(int pods, int64_t usage_milli, int32_t target = 50) {
  SyncInput in = input(pods, 1, 100);
  in.spec.metrics = {resourceUtilization("cpu", target)};
  addPods(&in, pods, usage_milli);
  return in;
}

TEST(ReplicaCalculatorTest, ToleranceBothDirections) {
  // 10 pods, target 50%: 55% (ratio 1.1) and 45% (0.9) are inside the ±0.1 band.
  EXPECT_EQ(*compute(cpuInput(10, 550)).proposal, 10);
  EXPECT_EQ(*compute(cpuInput(10, 450)).proposal, 10);
  EXPECT_EQ(*compute(cpuInput(10, 560)).proposal, 12);  // 1.12 × 10 → 11.2 → 12
  EXPECT_EQ(*compute(cpuInput(10, 440)).proposal, 9);   // 0.88 × 10 → 8.8 → 9
}

TEST(ReplicaCalculatorTest, BehaviorToleranceOverridesPerDirection) {
  SyncInput in = cpuInput(10, 540);  // ratio 1.08: inside the default band
  EXPECT_EQ(*compute(in).proposal, 10);
  in.spec.behavior = Behavior{};
  in.spec.behavior->scale_up = ScalingRules{};
  in.spec.behavior->scale_up->tolerance = 0.05;
  EXPECT_EQ(*compute(in).proposal, 11);  // 1.08 × 10 → 10.8 → 11
  SyncInput down = cpuInput(10, 420);    // ratio 0.84
  EXPECT_EQ(*compute(down).proposal, 9);
  down.spec.behavior = Behavior{};
  down.spec.behavior->scale_down = ScalingRules{};
  down.spec.behavior->scale_down->tolerance = 0.2;
  EXPECT_EQ(*compute(down).proposal, 10);
}

TEST(ReplicaCalculatorTest, UtilizationFloorsAndRawAverage) {
  SyncInput in = cpuInput(3, 0);
  in.metrics.pod_metrics["cpu"]["p0"].value_milli = 333;
  in.metrics.pod_metrics["cpu"]["p1"].value_milli = 334;
  in.metrics.pod_metrics["cpu"]["p2"].value_milli = 334;
  MetricResult r = compute(in);
  EXPECT_EQ(*r.current.average_utilization, 33);     // floor(100 × 1001 / 3000)
  EXPECT_EQ(*r.current.average_value_milli, 333);    // floor(1001 / 3)
  EXPECT_EQ(*r.proposal, 2);                         // 0.66 × 3 → 1.98 → 2
  EXPECT_EQ(r.ready_pod_count, 3);
}

TEST(ReplicaCalculatorTest, MissingPodsBackFillOnScaleUp) {
  // p0..p3 at 90% (ratio 1.8), p4, p5 without samples count 0: 3600/6000 → 60% → 1.2 × 6 → 8.
  SyncInput in = cpuInput(4, 900);
  in.scale = {6, 6};
  in.pods.push_back(pod("p4"));
  in.pods.push_back(pod("p5"));
  MetricResult r = compute(in);
  EXPECT_EQ(*r.proposal, 8);
  EXPECT_EQ(r.missing_pods, (Names{"p4", "p5"}));
  EXPECT_EQ(*r.current.average_utilization, 90);  // from the first pass
}

TEST(ReplicaCalculatorTest, MissingPodsBackFillFlipsDirectionHolds) {
  // 2 of 6 pods at 100% (ratio 2.0); with 4 missing at 0 → 33% (0.66): direction flips → hold 6.
  SyncInput in = cpuInput(2, 1000);
  in.scale = {6, 6};
  for (const char* n : {"m0", "m1", "m2", "m3"}) in.pods.push_back(pod(n));
  EXPECT_EQ(*compute(in).proposal, 6);
}

TEST(ReplicaCalculatorTest, MissingPodsBackFillOnScaleDown) {
  // 4 pods at 10% (ratio 0.2), 2 missing count 100% of their request: 2400/6000 → 40% → 0.8 × 6.
  SyncInput in = cpuInput(4, 100);
  in.scale = {6, 6};
  in.pods.push_back(pod("p4"));
  in.pods.push_back(pod("p5"));
  EXPECT_EQ(*compute(in).proposal, 5);
  // Target above 100%: missing pods count the target (150%): 4200/6000 → 70% → 0.466 × 6 → 3.
  SyncInput high = cpuInput(4, 300, 150);
  high.scale = {6, 6};
  high.pods.push_back(pod("p4"));
  high.pods.push_back(pod("p5"));
  EXPECT_EQ(*compute(high).proposal, 3);
}

TEST(ReplicaCalculatorTest, UnreadyInsideCpuInitializationPeriod) {
  SyncInput in = cpuInput(3, 500);
  const TimePoint now = in.now;
  PodInfo young = pod("young");
  young.start_time = now - seconds(60);
  young.ready = ReadyCondition{true, now - seconds(10)};  // no full 30 s window since Ready
  in.pods.push_back(young);
  in.metrics.pod_metrics["cpu"]["young"] = {2000, now, seconds(30)};
  PodInfo warm = pod("warm");
  warm.start_time = now - seconds(60);
  warm.ready = ReadyCondition{true, now - seconds(50)};  // a full window after Ready: ready
  in.pods.push_back(warm);
  in.metrics.pod_metrics["cpu"]["warm"] = {500, now, seconds(30)};
  PodInfo booting = pod("booting");
  booting.start_time = now - seconds(60);
  booting.ready = ReadyCondition{false, now - seconds(60)};
  in.pods.push_back(booting);
  in.metrics.pod_metrics["cpu"]["booting"] = {2000, now, seconds(30)};
  in.scale = {6, 6};
  MetricResult r = compute(in);
  EXPECT_EQ(r.unready_pods, (Names{"booting", "young"}));
  EXPECT_EQ(r.ready_pod_count, 4);
  EXPECT_EQ(*r.current.average_utilization, 50);  // unready samples dropped
  EXPECT_EQ(*r.proposal, 6);
}

TEST(ReplicaCalculatorTest, UnreadyPastInitializationPeriod) {
  SyncInput in = cpuInput(1, 500);
  const TimePoint now = in.now;
  PodInfo never = pod("never");  // Ready False since 10 s after start: never ready → unready
  never.start_time = now - std::chrono::minutes(10);
  never.ready = ReadyCondition{false, *never.start_time + seconds(10)};
  PodInfo was = pod("was");  // went unready after having been ready → counts as ready
  was.start_time = now - std::chrono::minutes(10);
  was.ready = ReadyCondition{false, *was.start_time + seconds(60)};
  PodInfo nocond = pod("nocond");
  nocond.ready.reset();
  PodInfo nostart = pod("nostart");
  nostart.start_time.reset();
  for (const PodInfo& p : {never, was, nocond, nostart}) {
    in.pods.push_back(p);
    in.metrics.pod_metrics["cpu"][p.name] = {500, now, seconds(30)};
  }
  MetricResult r = compute(in);
  EXPECT_EQ(r.unready_pods, (Names{"never", "nocond", "nostart"}));
  EXPECT_EQ(r.ready_pod_count, 2);
}

TEST(ReplicaCalculatorTest, PendingIsUnreadyEvenWithoutSample) {
  SyncInput in = cpuInput(2, 500);
  PodInfo pending = pod("pending");
  pending.phase = "Pending";
  in.pods.push_back(pending);
  MetricResult r = compute(in);
  EXPECT_EQ(r.unready_pods, (Names{"pending"}));
  EXPECT_TRUE(r.missing_pods.empty());
}

TEST(ReplicaCalculatorTest, ReadinessOnlyForCpu) {
  SyncInput in = input(3, 1, 10);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&in, 3, 100000, "rps");
  in.pods[0].ready.reset();
  in.pods[1].start_time.reset();
  MetricResult r = compute(in);
  EXPECT_TRUE(r.unready_pods.empty());
  EXPECT_EQ(r.ready_pod_count, 3);
}

TEST(ReplicaCalculatorTest, UnreadyPodsCountZeroOnScaleUp) {
  // 10 ready at 57% (ratio 1.14 → simple path would give 12); one unready pod counts 0:
  // 5700/11000 → 51% → 1.02, inside tolerance → hold 11.
  SyncInput in = cpuInput(10, 570);
  in.scale = {11, 11};
  PodInfo u = pod("u");
  u.ready = ReadyCondition{false, in.now - seconds(1)};
  u.start_time = in.now - seconds(20);
  in.pods.push_back(u);
  in.metrics.pod_metrics["cpu"]["u"] = {1000, in.now, seconds(30)};
  MetricResult r = compute(in);
  EXPECT_EQ(r.unready_pods, (Names{"u"}));
  EXPECT_EQ(*r.proposal, 11);
}

TEST(ReplicaCalculatorTest, IgnoredPodsDeletedFailedSucceeded) {
  // 4 ready pods at 25% (ratio 0.5 → 2); three ignored pods at 100% would push it over 1.
  SyncInput in = cpuInput(4, 250);
  in.scale = {7, 7};
  PodInfo deleted = pod("deleted");
  deleted.deleted = true;
  PodInfo failed = pod("failed");
  failed.phase = "Failed";
  PodInfo done = pod("succeeded");
  done.phase = "Succeeded";
  for (const PodInfo& p : {deleted, failed, done}) {
    in.pods.push_back(p);
    in.metrics.pod_metrics["cpu"][p.name] = {1000, in.now, seconds(30)};
  }
  MetricResult r = compute(in);
  EXPECT_EQ(r.ignored_pods, (Names{"deleted", "failed", "succeeded"}));
  EXPECT_EQ(*r.proposal, 2);
}

TEST(ReplicaCalculatorTest, OrphanSamplesCountInBackFillLength) {
  // p0, p1 at 100% (ratio 2), p2 missing, "ghost" has a sample but no pod. Utilization skips the
  // ghost (no request) → 2000/3000 → 66% → 1.32, but len(metrics) = 4 → ceil(5.28) = 6.
  SyncInput in = cpuInput(2, 1000);
  in.scale = {3, 3};
  in.pods.push_back(pod("p2"));
  in.metrics.pod_metrics["cpu"]["ghost"] = {1000, in.now, seconds(30)};
  EXPECT_EQ(*compute(in).proposal, 6);
}

TEST(ReplicaCalculatorTest, OrphanSamplesCountInPodsAverage) {
  // Pods metric: p0, p1 at 200 and an orphan at 0 → floor(400/3) = 133 → 1.33 × 2 ready → 3.
  SyncInput in = input(2, 1, 10);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&in, 2, 200000, "rps");
  in.metrics.pod_metrics["rps"]["ghost"] = {0, in.now, seconds(30)};
  MetricResult r = compute(in);
  EXPECT_EQ(*r.current.average_value_milli, 133333);
  EXPECT_EQ(*r.proposal, 3);
}

TEST(ReplicaCalculatorTest, PodsAverageValueMissingBackFill) {
  // Scale-down: missing pods count exactly the target: (3×20 + 100)/4 = 40 → 0.4 × 4 → 2.
  SyncInput down = input(4, 1, 10);
  down.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&down, 3, 20000, "rps");
  down.pods.push_back(pod("p3"));
  EXPECT_EQ(*compute(down).proposal, 2);
  // Scale-up: missing pods count 0: 900/4 = 225 → 2.25 × 4 → 9.
  SyncInput up = input(4, 1, 10);
  up.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&up, 3, 300000, "rps");
  up.pods.push_back(pod("p3"));
  MetricResult r = compute(up);
  EXPECT_EQ(*r.proposal, 9);
  EXPECT_EQ(*r.current.average_value_milli, 300000);
}

TEST(ReplicaCalculatorTest, PodsAverageValueAtExactlyTargetWithMissingPodsHolds) {
  // 3 ready pods exactly at the target (ratio 1.0) and one without a sample: Kubernetes'
  // calcPlainMetricReplicas back-fills missing pods only when ratio < 1 (target) or > 1 (zero);
  // at exactly 1.0 nothing is added, the recomputed ratio stays 1.0 → current (4). Back-filling
  // zero here would give 300/4 = 75 → 0.75 × 4 → 3, a scale-down Kubernetes does not make.
  SyncInput in = input(4, 1, 10);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  addPods(&in, 3, 100000, "rps");
  in.pods.push_back(pod("p3"));
  MetricResult r = compute(in);
  ASSERT_TRUE(r.proposal.has_value()) << *r.error;
  EXPECT_EQ(*r.proposal, 4);
  EXPECT_EQ(r.missing_pods, (Names{"p3"}));
  // The same for a Resource AverageValue metric (memory), which takes the same path.
  SyncInput mem = input(4, 1, 10);
  const int64_t mi = 1024LL * 1024 * 1000;
  mem.spec.metrics = {averageValue(MetricSourceType::kResource, "memory", 512 * mi)};
  addPods(&mem, 3, 512 * mi, "memory");
  mem.pods.push_back(pod("p3"));
  EXPECT_EQ(*compute(mem).proposal, 4);
}

TEST(ReplicaCalculatorTest, UtilizationAtExactlyTargetWithMissingPodsHolds) {
  // The utilization path had this rule already: 3 pods at 50% of a 50% target, one missing.
  SyncInput in = cpuInput(3, 500);
  in.scale = {4, 4};
  in.pods.push_back(pod("p3"));
  EXPECT_EQ(*compute(in).proposal, 4);
}

TEST(ReplicaCalculatorTest, GroupsAreReportedWhenTheMetricEndsInAnError) {
  // No sample at all: the metric fails ("no metrics returned"), yet the pods are grouped and
  // reported — the Pending pod is unready, the Running pod without a sample is missing, the
  // Failed pod is ignored.
  for (bool cpu : {true, false}) {
    SyncInput in = input(3, 1, 10);
    in.spec.metrics = {cpu ? resourceUtilization("cpu", 50)
                           : averageValue(MetricSourceType::kPods, "rps", 100000)};
    PodInfo pending = pod("pending");
    pending.phase = "Pending";
    PodInfo failed = pod("failed");
    failed.phase = "Failed";
    in.pods = {pod("running"), pending, failed};
    MetricResult r = compute(in);
    EXPECT_FALSE(r.proposal.has_value());
    ASSERT_TRUE(r.error.has_value());
    EXPECT_NE(r.error->find("no metrics returned"), std::string::npos) << *r.error;
    EXPECT_EQ(r.unready_pods, (Names{"pending"})) << (cpu ? "cpu" : "rps");
    EXPECT_EQ(r.missing_pods, (Names{"running"})) << (cpu ? "cpu" : "rps");
    EXPECT_EQ(r.ignored_pods, (Names{"failed"})) << (cpu ? "cpu" : "rps");
    EXPECT_EQ(r.ready_pod_count, 0);
  }
  // Samples only for the Pending pod: grouped, then "did not receive metrics for targeted pods".
  SyncInput in = input(2, 1, 10);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  PodInfo pending = pod("pending");
  pending.phase = "Pending";
  in.pods = {pod("running"), pending};
  in.metrics.pod_metrics["rps"]["pending"] = {5000, in.now, seconds(30)};
  MetricResult r = compute(in);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_NE(r.error->find("did not receive metrics"), std::string::npos) << *r.error;
  EXPECT_EQ(r.unready_pods, (Names{"pending"}));
  EXPECT_EQ(r.missing_pods, (Names{"running"}));
  // A failed fetch comes before grouping in the Kubernetes controller: nothing is grouped.
  in.metrics.failed["rps"] = "connection refused";
  r = compute(in);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_NE(r.error->find("connection refused"), std::string::npos) << *r.error;
  EXPECT_TRUE(r.unready_pods.empty());
  EXPECT_TRUE(r.missing_pods.empty());
}

TEST(ReplicaCalculatorTest, ResourceAverageValueMemory) {
  // memory AverageValue 512Mi; 4 pods at 1Gi → ratio 2 → 8.
  SyncInput in = input(4, 1, 20);
  const int64_t mi = 1024LL * 1024 * 1000;
  in.spec.metrics = {averageValue(MetricSourceType::kResource, "memory", 512 * mi)};
  addPods(&in, 4, 1024 * mi, "memory");
  MetricResult r = compute(in);
  EXPECT_EQ(*r.proposal, 8);
  EXPECT_EQ(*r.current.average_value_milli, 1024 * mi);
  EXPECT_FALSE(r.current.average_utilization.has_value());
}

TEST(ReplicaCalculatorTest, ContainerResourceLikeResource) {
  SyncInput in = cpuInput(4, 900);
  in.spec.metrics[0].type = MetricSourceType::kContainerResource;
  in.spec.metrics[0].container = "app";
  EXPECT_EQ(*compute(in).proposal, 8);
}

TEST(ReplicaCalculatorTest, ObjectValueUsesReadyPods) {
  // value 25 / target 10 = 2.5 × 4 Running+Ready pods (one Pending) → 10.
  SyncInput in = input(5, 1, 20);
  in.spec.metrics = {value(MetricSourceType::kObject, "queue", 10000)};
  in.metrics.object_metrics["queue"] = 25000;
  addPods(&in, 4, 0, "unused");
  PodInfo pending = pod("pending");
  pending.phase = "Pending";
  in.pods.push_back(pending);
  MetricResult r = compute(in);
  EXPECT_EQ(*r.proposal, 10);
  EXPECT_EQ(*r.current.value_milli, 25000);
  in.metrics.object_metrics["queue"] = 10500;  // 1.05: within tolerance → current
  EXPECT_EQ(*compute(in).proposal, 5);
}

TEST(ReplicaCalculatorTest, ObjectValueFromZero) {
  SyncInput in = input(0, 0, 20);
  in.spec.metrics = {value(MetricSourceType::kObject, "queue", 10000)};
  in.metrics.object_metrics["queue"] = 25000;
  EXPECT_EQ(*compute(in).proposal, 3);  // ceil(2.5)
}

TEST(ReplicaCalculatorTest, ExternalValueSumsSeries) {
  SyncInput in = input(4, 1, 20);
  in.spec.metrics = {value(MetricSourceType::kExternal, "lag", 10000)};
  in.metrics.external_metrics["lag"] = {10000, 15000};
  addPods(&in, 4, 0, "unused");
  MetricResult r = compute(in);
  EXPECT_EQ(*r.current.value_milli, 25000);
  EXPECT_EQ(*r.proposal, 10);
}

TEST(ReplicaCalculatorTest, ExternalAverageValueKedaPath) {
  // KEDA: total 230 / target 50 with status.replicas 3: ratio 230/150 = 1.53 → ceil(4.6) = 5.
  SyncInput in = input(3, 1, 20);
  in.spec.metrics = {averageValue(MetricSourceType::kExternal, "s0-prometheus", 50000)};
  in.metrics.external_metrics["s0-prometheus"] = {230000};
  MetricResult r = compute(in);
  EXPECT_EQ(*r.proposal, 5);
  EXPECT_EQ(*r.current.average_value_milli, 76667);  // ceil(230000m / 3)
  EXPECT_EQ(r.ready_pod_count, 0);                    // readiness is not used
  // Within tolerance of status.replicas (155/150 = 1.03) → status.replicas, even if spec differs.
  in.metrics.external_metrics["s0-prometheus"] = {155000};
  in.scale = {4, 3};
  EXPECT_EQ(*compute(in).proposal, 3);
}

TEST(ReplicaCalculatorTest, ObjectAverageValue) {
  SyncInput in = input(2, 1, 20);
  in.spec.metrics = {averageValue(MetricSourceType::kObject, "queue", 10000)};
  in.metrics.object_metrics["queue"] = 95000;
  MetricResult r = compute(in);
  EXPECT_EQ(*r.proposal, 10);  // ceil(95 / 10)
  EXPECT_EQ(*r.current.average_value_milli, 47500);
}

TEST(ReplicaCalculatorTest, ErrorsKeepPodLists) {
  SyncInput in = cpuInput(2, 500);
  in.pods[0].phase = "Pending";
  in.pods[1].deleted = true;
  MetricResult r = compute(in);
  EXPECT_FALSE(r.proposal.has_value());
  ASSERT_TRUE(r.error.has_value());
  EXPECT_NE(r.error->find("did not receive metrics for targeted pods"), std::string::npos);
  EXPECT_EQ(r.unready_pods, (Names{"p0"}));
  EXPECT_EQ(r.ignored_pods, (Names{"p1"}));

  SyncInput noreq = cpuInput(2, 500);
  noreq.pods[1].requests_milli.erase("cpu");
  EXPECT_NE(compute(noreq).error->find("missing request for cpu in Pod p1"), std::string::npos);

  SyncInput nometrics = cpuInput(2, 500);
  nometrics.metrics.pod_metrics.clear();
  EXPECT_NE(compute(nometrics).error->find("no metrics returned from resource metrics API"),
            std::string::npos);

  SyncInput external = input(2, 1, 5);
  external.spec.metrics = {value(MetricSourceType::kExternal, "lag", 1000)};
  external.metrics.external_metrics["lag"] = {};
  EXPECT_NE(compute(external).error->find("no metrics returned from external metrics API"),
            std::string::npos);
}

TEST(ReplicaCalculatorTest, GroupPodsOrder) {
  // A deleted Pending pod is ignored (rule 1 before rule 2); a Pending pod with no sample is
  // unready (rule 2 before rule 3).
  std::vector<PodInfo> pods = {pod("a"), pod("b")};
  pods[0].deleted = true;
  pods[0].phase = "Pending";
  pods[1].phase = "Pending";
  PodGroups g = groupPods(pods, {}, true, at(0), ControllerOptions{});
  EXPECT_EQ(g.ignored.count("a"), 1u);
  EXPECT_EQ(g.unready.count("b"), 1u);
  EXPECT_TRUE(g.missing.empty());
}

}  // namespace
}  // namespace surge::autoscale
