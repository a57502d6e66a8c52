#include "autoscale/local/replica_policy.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

TEST(ApplyProbe, ReadyAtFirstSuccessNotReadyAfterThresholdFailures) {
  ManualClock clock;
  ProbeState s;
  EXPECT_FALSE(applyProbe(s, false, clock.now(), 3));  // still starting
  EXPECT_FALSE(s.ready);
  clock.advance(1s);
  EXPECT_TRUE(applyProbe(s, true, clock.now(), 3));
  EXPECT_TRUE(s.ready);
  EXPECT_TRUE(s.ever_ready);
  EXPECT_EQ(*s.last_transition, clock.now());
  TimePoint ready_at = clock.now();
  clock.advance(1s);
  EXPECT_FALSE(applyProbe(s, false, clock.now(), 3));
  EXPECT_FALSE(applyProbe(s, false, clock.now(), 3));
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(*s.last_transition, ready_at);
  EXPECT_TRUE(applyProbe(s, false, clock.now(), 3));
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(*s.unready_since, clock.now());
  clock.advance(1s);
  EXPECT_TRUE(applyProbe(s, true, clock.now(), 3));
  EXPECT_TRUE(s.ready);
  EXPECT_FALSE(s.unready_since.has_value());
}

TEST(ApplyProbe, ASuccessResetsTheFailureCount) {
  ManualClock clock;
  ProbeState s;
  applyProbe(s, true, clock.now(), 2);
  applyProbe(s, false, clock.now(), 2);
  applyProbe(s, true, clock.now(), 2);
  EXPECT_FALSE(applyProbe(s, false, clock.now(), 2));
  EXPECT_TRUE(s.ready);
}

TEST(JudgeReplica, ExitedNeverReadyAndUnreadyTooLong) {
  ManualClock clock;
  ReplicaFacts f;
  f.started = clock.now();
  EXPECT_EQ(judgeReplica(f, clock.now(), 10s, 5s), ReplicaVerdict::kOk);
  clock.advance(10s);
  EXPECT_EQ(judgeReplica(f, clock.now(), 10s, 5s), ReplicaVerdict::kOk);  // exactly at the limit
  clock.advance(1ms);
  EXPECT_EQ(judgeReplica(f, clock.now(), 10s, 5s), ReplicaVerdict::kNeverReady);

  f.exited = true;
  EXPECT_EQ(judgeReplica(f, f.started, 10s, 5s), ReplicaVerdict::kExited);
  f.phase = ReplicaPhase::kStopping;  // asked to stop: its exit is no crash
  EXPECT_EQ(judgeReplica(f, clock.now(), 10s, 5s), ReplicaVerdict::kOk);

  ReplicaFacts g;
  g.phase = ReplicaPhase::kReady;
  g.started = clock.now();
  applyProbe(g.probe, true, clock.now(), 1);
  clock.advance(1h);  // ready for long: fine
  EXPECT_EQ(judgeReplica(g, clock.now(), 10s, 5s), ReplicaVerdict::kOk);
  applyProbe(g.probe, false, clock.now(), 1);
  clock.advance(5s);
  EXPECT_EQ(judgeReplica(g, clock.now(), 10s, 5s), ReplicaVerdict::kOk);
  clock.advance(1s);
  EXPECT_EQ(judgeReplica(g, clock.now(), 10s, 5s), ReplicaVerdict::kUnreadyTooLong);
}

TEST(CrashBackoff, DoublesUpToMaxAndResetsAfterAStableRun) {
  ManualClock clock;
  CrashBackoff b(1s, 8s, 60s);
  EXPECT_TRUE(b.mayStart(clock.now()));
  b.onCrash(clock.now());
  EXPECT_FALSE(b.mayStart(clock.now()));
  EXPECT_EQ(b.nextStart(), clock.now() + 1s);
  std::vector<Duration> delays;
  for (int i = 0; i < 5; ++i) {
    clock.set(b.nextStart());
    EXPECT_TRUE(b.mayStart(clock.now()));
    b.onCrash(clock.now());
    delays.push_back(b.nextStart() - clock.now());
  }
  EXPECT_EQ(delays, (std::vector<Duration>{2s, 4s, 8s, 8s, 8s}));
  EXPECT_EQ(b.consecutiveCrashes(), 6);

  // A replica that became ready before the last crash does not reset it...
  TimePoint old_ready = clock.now() - 1s;
  clock.set(b.nextStart());
  b.onReady(old_ready, clock.now() + 120s);
  EXPECT_EQ(b.consecutiveCrashes(), 6);
  // ...one that became ready after it and stayed ready for reset_after does.
  TimePoint ready = clock.now();
  b.onReady(ready, ready + 59s);
  EXPECT_EQ(b.consecutiveCrashes(), 6);
  b.onReady(ready, ready + 60s);
  EXPECT_EQ(b.consecutiveCrashes(), 0);
  b.onCrash(ready + 61s);
  EXPECT_EQ(b.nextStart(), ready + 62s);
}

TEST(CrashBackoff, CrashesWhileTheGateIsClosedCountOnce) {
  ManualClock clock;
  CrashBackoff b(1s, 60s, 60s);
  b.onCrash(clock.now());
  b.onCrash(clock.now() + 100ms);
  b.onCrash(clock.now() + 200ms);
  EXPECT_EQ(b.consecutiveCrashes(), 1);
  EXPECT_EQ(b.nextStart(), clock.now() + 1s);
}

TEST(EffectiveReplicas, ClampsToTheSafetyBounds) {
  EXPECT_EQ(effectiveReplicas(0, 2, 10), 2);
  EXPECT_EQ(effectiveReplicas(1, 2, 10), 2);
  EXPECT_EQ(effectiveReplicas(5, 2, 10), 5);
  EXPECT_EQ(effectiveReplicas(50, 2, 10), 10);
  EXPECT_EQ(effectiveReplicas(0, 0, 10), 0);
}

TEST(PickScaleInVictims, KubernetesReplicaSetOrder) {
  ManualClock clock;
  TimePoint t0 = clock.now();
  std::vector<ReplicaRank> r = {
      {ReplicaPhase::kReady, t0 + 1s, 1},     // 0: oldest ready
      {ReplicaPhase::kReady, t0 + 5s, 2},     // 1: most recently ready
      {ReplicaPhase::kStarting, std::nullopt, 3},  // 2
      {ReplicaPhase::kNotReady, std::nullopt, 4},  // 3
      {ReplicaPhase::kStopping, std::nullopt, 5},  // 4: never picked
      {ReplicaPhase::kStarting, std::nullopt, 6},  // 5: newest starting
      {ReplicaPhase::kReady, t0 + 3s, 7},     // 6
  };
  EXPECT_EQ(pickScaleInVictims(r, 10), (std::vector<size_t>{5, 2, 3, 1, 6, 0}));
  EXPECT_EQ(pickScaleInVictims(r, 2), (std::vector<size_t>{5, 2}));
  EXPECT_TRUE(pickScaleInVictims(r, 0).empty());
  // Equal ready times: the newer one goes first.
  std::vector<ReplicaRank> same = {{ReplicaPhase::kReady, t0, 1}, {ReplicaPhase::kReady, t0, 2}};
  EXPECT_EQ(pickScaleInVictims(same, 1), (std::vector<size_t>{1}));
}

TEST(PlanConverge, StartsOrStopsTheDifferenceIgnoringStoppingReplicas) {
  ManualClock clock;
  std::vector<ReplicaRank> r = {{ReplicaPhase::kReady, clock.now(), 1},
                                {ReplicaPhase::kStopping, std::nullopt, 2},
                                {ReplicaPhase::kStarting, std::nullopt, 3}};
  auto up = planConverge(4, r, true);
  EXPECT_EQ(up.start, 2);
  EXPECT_TRUE(up.stop.empty());
  auto gated = planConverge(4, r, false);
  EXPECT_EQ(gated.start, 0);
  auto down = planConverge(1, r, true);
  EXPECT_EQ(down.start, 0);
  EXPECT_EQ(down.stop, (std::vector<size_t>{2}));
  auto same = planConverge(2, r, true);
  EXPECT_EQ(same.start, 0);
  EXPECT_TRUE(same.stop.empty());
  auto zero = planConverge(0, r, false);  // scale-in is never gated by the backoff
  EXPECT_EQ(zero.stop.size(), 2u);
}

TEST(SlowStartWeight, RampsLinearlyFromTenPercent) {
  ManualClock clock;
  TimePoint t = clock.now();
  EXPECT_EQ(slowStartWeight(100, t, 10s, t), 10);
  EXPECT_EQ(slowStartWeight(100, t, 10s, t + 5s), 55);
  EXPECT_EQ(slowStartWeight(100, t, 10s, t + 10s), 100);
  EXPECT_EQ(slowStartWeight(100, t, 10s, t + 1h), 100);
  EXPECT_EQ(slowStartWeight(100, t, 0s, t), 100);  // off
  EXPECT_EQ(slowStartWeight(1, t, 10s, t), 1);     // never below 1
  EXPECT_EQ(slowStartWeight(3, t, 10s, t + 5s), 2);
}

}  // namespace
}  // namespace surge::autoscale
