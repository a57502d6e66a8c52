#include "planner/sizing.h"

#include <gtest/gtest.h>

#include <cmath>

namespace surge::planner {
namespace {

QueueSpec exampleSpec(ServiceDistribution d = ServiceDistribution::kExponential) {
  QueueSpec s;  // the worked example: 5000 req/s, 200 req/s per replica (S = 5 ms), p99 ≤ 50 ms
  s.arrival_rate = 5000;
  s.service_time = 0.005;
  s.distribution = d;
  return s;
}

TEST(Sizing, WorkedExamplePooledVersusRandomRouting) {
  auto pooled = sizeForLatency(exampleSpec(), 0.050);
  ASSERT_TRUE(pooled.isOk()) << pooled.status().toString();
  ASSERT_TRUE(pooled->feasible) << pooled->reason;
  EXPECT_EQ(pooled->metrics->replicas, 26);  // A = 25: the first stable count already meets it
  EXPECT_EQ(pooled->metrics->model, "M/M/c");
  EXPECT_LE(pooled->metrics->response_percentile, 0.050);
  // Random routing: each replica M/M/1 at 5000/c; ln(100)/(200 − 5000/c) ≤ 0.05 → c = 47.
  auto random = sizeRandomRouting(exampleSpec(), 0.050);
  ASSERT_TRUE(random.isOk());
  ASSERT_TRUE(random->has_value());
  EXPECT_EQ(**random, 47);
}

TEST(Sizing, SmallestCountMeetingTheTarget) {
  for (auto d : {ServiceDistribution::kExponential, ServiceDistribution::kDeterministic,
                 ServiceDistribution::kGeneral}) {
    for (double target : {0.025, 0.03, 0.04}) {
      QueueSpec s = exampleSpec(d);
      s.cs2 = 0.5;
      auto r = sizeForLatency(s, target);
      ASSERT_TRUE(r.isOk());
      ASSERT_TRUE(r->feasible) << modelName(d) << " " << target << ": " << r->reason;
      const int64_t c = r->metrics->replicas;
      EXPECT_LE(r->metrics->response_percentile, target);
      EXPECT_EQ(r->metrics->percentile_is_heuristic, d == ServiceDistribution::kGeneral);
      if (c > 26) {
        auto below = evaluateQueue(s, c - 1);
        ASSERT_TRUE(below.isOk());
        EXPECT_GT(below->response_percentile, target) << modelName(d) << " " << target;
      }
    }
  }
}

TEST(Sizing, InfeasibleWhenTheServiceTailAloneExceedsTheTarget) {
  // S = 10 ms exponential: p99 of service alone = 46.05 ms ≥ 40 ms — no count helps.
  QueueSpec s = exampleSpec();
  s.service_time = 0.010;
  auto r = sizeForLatency(s, 0.040);
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r->feasible);
  EXPECT_FALSE(r->metrics.has_value());
  EXPECT_NE(r->reason.find("exponential"), std::string::npos) << r->reason;
  EXPECT_NE(r->reason.find("46.05 ms"), std::string::npos) << r->reason;
  // Exactly at the bound is still infeasible (C > 0 for every finite count).
  EXPECT_FALSE(sizeForLatency(s, 0.010 * std::log(100))->feasible);
  // The same inputs with constant service are feasible: the service model matters.
  s.distribution = ServiceDistribution::kDeterministic;
  auto det = sizeForLatency(s, 0.040);
  ASSERT_TRUE(det.isOk());
  EXPECT_TRUE(det->feasible) << det->reason;
  // Deterministic: a target below D is infeasible, a target of exactly D is reachable.
  EXPECT_FALSE(sizeForLatency(s, 0.009)->feasible);
  auto exact = sizeForLatency(s, 0.010);
  ASSERT_TRUE(exact.isOk());
  EXPECT_TRUE(exact->feasible);
  EXPECT_EQ(exact->metrics->wait_percentile, 0);
}

TEST(Sizing, SlotsMultiplyServers) {
  QueueSpec s = exampleSpec();
  s.slots = 4;
  auto r = sizeForLatency(s, 0.050);
  ASSERT_TRUE(r.isOk() && r->feasible);
  EXPECT_EQ(r->metrics->servers, r->metrics->replicas * 4);
  EXPECT_GE(r->metrics->replicas, 7);  // 25/4 → at least 7 replicas for stability
}

TEST(Sizing, PercentileFallsAsReplicasAreAdded) {
  for (auto d : {ServiceDistribution::kExponential, ServiceDistribution::kDeterministic}) {
    double prev = INFINITY;
    for (int64_t c = 26; c <= 40; ++c) {
      auto m = evaluateQueue(exampleSpec(d), c);
      ASSERT_TRUE(m.isOk());
      EXPECT_LE(m->response_percentile, prev) << c;
      EXPECT_LE(m->mean_wait, m->wait_percentile + 1) << c;
      prev = m->response_percentile;
    }
  }
}

TEST(Sizing, ThousandsOfServers) {
  QueueSpec s;
  s.arrival_rate = 400000;  // A = 4000 Erlangs
  s.service_time = 0.01;
  for (auto d : {ServiceDistribution::kExponential, ServiceDistribution::kDeterministic}) {
    s.distribution = d;
    auto r = sizeForLatency(s, 0.05);
    ASSERT_TRUE(r.isOk());
    ASSERT_TRUE(r->feasible) << r->reason;
    EXPECT_GT(r->metrics->replicas, 4000);
    EXPECT_LT(r->metrics->replicas, 4200);
    EXPECT_LE(r->metrics->response_percentile, 0.05);
    auto below = evaluateQueue(s, r->metrics->replicas - 1);
    ASSERT_TRUE(below.isOk());
    EXPECT_GT(below->response_percentile, 0.05);
  }
}

TEST(Sizing, EvaluateUnstable) {
  auto m = evaluateQueue(exampleSpec(), 25);  // ρ = 1 exactly
  ASSERT_TRUE(m.isOk());
  EXPECT_FALSE(m->stable);
  EXPECT_EQ(m->p_wait, 1);
  EXPECT_TRUE(std::isinf(m->response_percentile));
}

TEST(Sizing, ValidationNamesTheField) {
  QueueSpec s = exampleSpec();
  s.percentile = 99;
  EXPECT_NE(validateQueueSpec(s).message().find("percentile"), std::string::npos);
  s = exampleSpec();
  s.slots = 0;
  EXPECT_NE(validateQueueSpec(s).message().find("slots"), std::string::npos);
  s = exampleSpec();
  s.service_time = -1;
  EXPECT_NE(validateQueueSpec(s).message().find("service_time"), std::string::npos);
  EXPECT_FALSE(sizeForLatency(exampleSpec(), 0).isOk());
  EXPECT_FALSE(evaluateQueue(exampleSpec(), 0).isOk());
}

TEST(Sizing, Labels) {
  EXPECT_EQ(percentileLabel(0.99), "p99");
  EXPECT_EQ(percentileLabel(0.999), "p99.9");
  EXPECT_EQ(percentileLabel(0.5), "p50");
  EXPECT_EQ(formatSeconds(0.0230258), "23.03 ms");
  EXPECT_EQ(formatSeconds(1.5), "1.5 s");
  EXPECT_EQ(formatSeconds(0.00085), "850 µs");
  EXPECT_EQ(parseServiceDistribution("deterministic"), ServiceDistribution::kDeterministic);
  EXPECT_FALSE(parseServiceDistribution("normal").has_value());
}

}  // namespace
}  // namespace surge::planner
