// Property tests over seeded random inputs: desired stays within [min, max] when current is; with
// no behavior and constant load the decision settles and stays; a scale-up never exceeds the
// behavior rate limit over any policy period.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "autoscale/hpa/hpa.h"
#include "autoscale/hpa/test_util.h"
#include "common/random.h"

namespace surge::autoscale {
namespace {

using namespace testing;  // NOLINT
using std::chrono::seconds;

int pick(Random& rng, int lo, int hi) {  // uniform in [lo, hi]
  return lo + static_cast<int>(rng.uniform(static_cast<uint64_t>(hi - lo + 1)));
}

ScalingRules randomRules(Random& rng) {
  ScalingRules r;
  if (rng.uniform(2)) r.stabilization_window = seconds(pick(rng, 0, 600));
  if (rng.uniform(2)) {
    static const SelectPolicy kSelect[] = {SelectPolicy::kMax, SelectPolicy::kMin,
                                           SelectPolicy::kDisabled};
    r.select_policy = kSelect[rng.uniform(3)];
  }
  if (rng.uniform(2)) {
    std::vector<ScalingPolicy> ps;
    for (int i = pick(rng, 1, 3); i > 0; --i) {
      ps.push_back({rng.uniform(2) ? PolicyType::kPods : PolicyType::kPercent, pick(rng, 1, 200),
                    seconds(pick(rng, 1, 300))});
    }
    r.policies = ps;
  }
  return r;
}

SyncInput randomInput(Random& rng) {
  const int32_t min = pick(rng, 1, 5);
  const int32_t max = pick(rng, min, min + 30);
  const int32_t current = pick(rng, min, max);
  SyncInput in = input(current, min, max);
  in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
  if (rng.uniform(2)) in.spec.metrics.push_back(resourceUtilization("cpu", pick(rng, 10, 150)));
  for (int i = 0; i < current; ++i) {
    PodInfo p = pod("p" + std::to_string(i), 1000, in.now);
    if (rng.uniform(10) == 0) p.phase = "Pending";
    if (rng.uniform(10) == 0) p.ready = ReadyCondition{false, in.now - seconds(5)};
    in.pods.push_back(p);
    if (rng.uniform(8) != 0) {
      in.metrics.pod_metrics["rps"][p.name] = {pick(rng, 0, 1000) * 1000LL, in.now, seconds(30)};
      in.metrics.pod_metrics["cpu"][p.name] = {pick(rng, 0, 3000) * 1LL, in.now, seconds(30)};
    }
  }
  if (rng.uniform(6) == 0) in.metrics.failed["rps"] = "down";
  if (rng.uniform(3)) {
    Behavior b;
    if (rng.uniform(2)) b.scale_up = randomRules(rng);
    if (rng.uniform(2)) b.scale_down = randomRules(rng);
    in.spec.behavior = b;
  }
  if (rng.uniform(4) == 0) {
    in.history.reset();
  } else {
    for (int i = pick(rng, 0, 6); i > 0; --i) {
      in.history->recommendations.push_back({pick(rng, 0, 60), in.now - seconds(pick(rng, 0, 900))});
      in.history->scale_up_events.push_back(
          {pick(rng, 1, 10), in.now - seconds(pick(rng, 0, 900)), rng.uniform(2) == 0});
      in.history->scale_down_events.push_back(
          {pick(rng, 1, 10), in.now - seconds(pick(rng, 0, 900)), rng.uniform(2) == 0});
    }
  }
  return in;
}

TEST(HpaPropertyTest, DesiredWithinMinMaxWhenCurrentIsInRange) {
  Random rng(42);
  for (int iter = 0; iter < 3000; ++iter) {
    SyncInput in = randomInput(rng);
    SyncResult r = runSync(in);
    ASSERT_GE(r.desired_replicas, in.spec.min_replicas) << "iteration " << iter;
    ASSERT_LE(r.desired_replicas, in.spec.max_replicas) << "iteration " << iter;
    ASSERT_EQ(r.scaled, r.desired_replicas != in.scale.spec_replicas);
    if (!r.scaled) {
      EXPECT_TRUE(r.history.scale_up_events.size() ==
                      (in.history ? in.history->scale_up_events.size() : 0u) &&
                  r.history.scale_down_events.size() ==
                      (in.history ? in.history->scale_down_events.size() : 0u))
          << "an event was stored without a rescale, iteration " << iter;
    }
  }
}

// Replays syncs every `step`: `load` total rps spread over the current pods, history chained.
struct Loop {
  SyncInput in;
  std::vector<std::pair<TimePoint, int32_t>> up_changes;  // every scale-up, never dropped

  void setPods(int64_t total_load_milli) {
    in.pods.clear();
    in.metrics.pod_metrics.clear();
    const int32_t n = in.scale.spec_replicas;
    for (int i = 0; i < n; ++i) {
      std::string name = "p" + std::to_string(i);
      in.pods.push_back(pod(name, 1000, in.now));
      in.metrics.pod_metrics["rps"][name] = {total_load_milli / n, in.now, seconds(30)};
    }
  }
  SyncResult step(int64_t total_load_milli, Duration dt) {
    setPods(total_load_milli);
    SyncResult r = runSync(in);
    if (r.desired_replicas > in.scale.spec_replicas) {
      up_changes.push_back({in.now, r.desired_replicas - in.scale.spec_replicas});
    }
    in.history = r.history;
    in.scale = {r.desired_replicas, r.desired_replicas};
    in.now += dt;
    return r;
  }
};

TEST(HpaPropertyTest, LegacyConstantLoadSettlesAndStays) {
  Random rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    Loop loop;
    loop.in = input(pick(rng, 1, 40), 1, 100);
    loop.in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
    loop.in.history.reset();
    const int64_t load = pick(rng, 50, 6000) * 1000LL;
    int32_t last = -1;
    for (int i = 0; i < 100; ++i) {
      SyncResult r = loop.step(load, seconds(15));
      if (i >= 60) {  // past the 5-minute window and any doubling ramp
        EXPECT_FALSE(r.scaled) << "trial " << trial << " sync " << i;
        if (last >= 0) {
          EXPECT_EQ(r.desired_replicas, last);
        }
      }
      last = r.desired_replicas;
    }
    // And it settled where the load says: inside the tolerance band, or at the fixed point of
    // ceil(ratio × replicas) (e.g. 339 rps on 4 pods: 0.85 × 4 → 3.39 → 4).
    const double per_pod = static_cast<double>(load) / 100000.0 / last;
    EXPECT_TRUE((per_pod >= 0.9 - 1e-9 && per_pod <= 1.1 + 1e-9) ||
                static_cast<int32_t>(std::ceil(per_pod * last - 1e-9)) == last)
        << "trial " << trial << " replicas " << last << " per pod " << per_pod;
  }
}

TEST(HpaPropertyTest, ScaleUpNeverExceedsTheRateLimit) {
  Random rng(99);
  for (int trial = 0; trial < 100; ++trial) {
    const bool pods_policy = rng.uniform(2) == 0;
    const int value = pods_policy ? pick(rng, 1, 6) : pick(rng, 10, 200);
    const int period_s = 15 * pick(rng, 1, 8);
    Loop loop;
    loop.in = input(pick(rng, 1, 5), 1, 500);
    loop.in.spec.metrics = {averageValue(MetricSourceType::kPods, "rps", 100000)};
    Behavior b;
    b.scale_up = ScalingRules{};
    b.scale_up->policies = std::vector<ScalingPolicy>{
        {pods_policy ? PolicyType::kPods : PolicyType::kPercent, value, seconds(period_s)}};
    loop.in.spec.behavior = b;
    for (int i = 0; i < 40; ++i) {
      const int64_t load = pick(rng, 60000, 100000) * 1000LL;  // > max × target: always up
      loop.step(load, seconds(pick(rng, 5, 40)));
      // Every window (t − period, t] ending at a scale-up adds at most what a Pods policy allows.
      if (!pods_policy) continue;
      for (const auto& [t, change] : loop.up_changes) {
        int64_t added = 0;
        for (const auto& [u, c] : loop.up_changes) {
          if (u > t - seconds(period_s) && u <= t) added += c;
        }
        ASSERT_LE(added, value) << "trial " << trial;
      }
    }
    if (!pods_policy) {
      // Percent: replay replica counts and check each window's growth factor.
      std::vector<std::pair<TimePoint, int32_t>> counts;  // replicas after each scale-up
      int32_t replicas = 0;
      int32_t start = loop.in.scale.spec_replicas;
      for (const auto& [u, c] : loop.up_changes) start -= c;
      replicas = start;
      for (const auto& [u, c] : loop.up_changes) {
        replicas += c;
        counts.push_back({u, replicas});
      }
      for (size_t k = 0; k < counts.size(); ++k) {
        const TimePoint t = counts[k].first;
        int32_t before = start;  // replicas just before the window (t − period, t]
        for (size_t j = 0; j < counts.size(); ++j) {
          if (counts[j].first <= t - seconds(period_s)) before = counts[j].second;
        }
        const double limit = std::ceil(before * (1.0 + value / 100.0));
        ASSERT_LE(counts[k].second, static_cast<int32_t>(limit)) << "trial " << trial;
      }
    }
  }
}

}  // namespace
}  // namespace surge::autoscale
