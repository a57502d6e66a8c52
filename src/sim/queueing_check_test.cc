// The simulator against `surge plan`'s analytic models: with a fixed replica count and one shared
// queue, the simulated p99 response time must be within 3% of the exact M/M/c (Erlang C) and
// M/D/c (Crommelin) percentiles, computed by the planner library itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "planner/sizing.h"
#include "sim/simulator.h"
#include "sim/test_util.h"

namespace surge::sim {
namespace {

struct Case {
  const char* distribution;
  double rate;
  double service_s;
  int replicas;
  int slots;
  uint64_t seed;
};

double analyticP99(const Case& k) {
  planner::QueueSpec spec;
  spec.arrival_rate = k.rate;
  spec.service_time = k.service_s;
  spec.slots = k.slots;
  spec.distribution = std::string(k.distribution) == "exponential"
                          ? planner::ServiceDistribution::kExponential
                          : planner::ServiceDistribution::kDeterministic;
  spec.percentile = 0.99;
  auto m = planner::evaluateQueue(spec, k.replicas);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? m->response_percentile : 0;
}

SimResult simulate(const Case& k, double seconds) {
  std::string yaml = "seed: " + std::to_string(k.seed) + "\nduration: " +
                     std::to_string(static_cast<int>(seconds)) +
                     "s\n"
                     "traffic: {rps: " +
                     std::to_string(k.rate) +
                     "}\n"
                     "service: {distribution: " +
                     k.distribution + ", mean: " + std::to_string(k.service_s) +
                     "}\n"
                     "replicas: {count: " +
                     std::to_string(k.replicas) + ", slots: " + std::to_string(k.slots) +
                     "}\n"
                     "gateway: {mode: shared_queue}\n";
  SimConfig c = testing::configFromYaml(yaml);
  RateCurve curve = makeRateCurve(c);
  auto r = runSimulation(c, curve);
  EXPECT_TRUE(r.isOk());
  return r.isOk() ? *r : SimResult{};
}

void check(const Case& k, double requests) {
  double expected = analyticP99(k);
  SimResult r = simulate(k, requests / k.rate);
  double got = r.summary.p99_s;
  std::printf("  %s λ=%g S=%g c=%d×%d: simulated p99 %.5f s, analytic %.5f s (%+.2f%%)\n",
              k.distribution, k.rate, k.service_s, k.replicas, k.slots, got, expected,
              100 * (got / expected - 1));
  EXPECT_NEAR(got / expected, 1.0, 0.03)
      << k.distribution << " λ=" << k.rate << " S=" << k.service_s << " c=" << k.replicas
      << "×" << k.slots << ": simulated p99 " << got << " s, analytic " << expected << " s";
  EXPECT_EQ(r.summary.rejected, 0u);
  // The utilisation the simulator measured is the offered load over the servers.
  double rho = k.rate * k.service_s / (k.replicas * k.slots);
  EXPECT_NEAR(r.summary.mean_utilization, rho, 0.01);
}

TEST(QueueingCheck, MMcSharedQueueP99MatchesErlangC) {
  check({"exponential", 800, 0.010, 10, 1, 7}, 3e6);
}

TEST(QueueingCheck, MMcWithSlotsAndHighUtilization) {
  // 4 replicas × 4 slots at ρ = 0.9: a long queue, the Erlang C tail dominates.
  check({"exponential", 1440, 0.010, 4, 4, 11}, 4e6);
}

TEST(QueueingCheck, MDcSharedQueueP99MatchesCrommelin) {
  check({"deterministic", 800, 0.010, 10, 1, 5}, 3e6);
}

TEST(QueueingCheck, MD1MatchesCrommelin) {
  check({"deterministic", 80, 0.010, 1, 1, 3}, 2e6);
}

}  // namespace
}  // namespace surge::sim
