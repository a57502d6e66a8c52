#include "planner/plan.h"

#include <gtest/gtest.h>

namespace surge::planner {
namespace {

PlanInputs exampleInputs() {
  PlanInputs in;
  in.classic.peak_rps = 5000;
  in.classic.instance_rps = 200;
  return in;
}

TEST(Plan, ClassicOnly) {
  auto p = makePlan(exampleInputs());
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->classic.total_replicas, 32);
  EXPECT_DOUBLE_EQ(p->design_rate, 6000);
  EXPECT_FALSE(p->littles_law || p->queueing || p->availability);
  ASSERT_TRUE(p->cost.has_value());
  EXPECT_EQ(p->recommended_replicas, 32);
  EXPECT_EQ(p->cost->monthly_cost, 2304);
}

TEST(Plan, LatencyTargetAloneGivesLittlesConcurrency) {
  PlanInputs in = exampleInputs();
  in.latency_target = 0.05;
  auto p = makePlan(in);
  ASSERT_TRUE(p.isOk());
  ASSERT_TRUE(p->littles_law.has_value());
  EXPECT_DOUBLE_EQ(*p->littles_law->concurrency, 250);  // peak × target
  EXPECT_FALSE(p->littles_law->min_stable_replicas.has_value());
  EXPECT_FALSE(p->queueing.has_value());
}

TEST(Plan, QueueingSizesForTheDesignRate) {
  PlanInputs in = exampleInputs();
  in.service_time = 0.005;
  in.latency_target = 0.05;
  in.replica_availability = 0.99;
  auto p = makePlan(in);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  ASSERT_TRUE(p->queueing && p->queueing->feasible);
  EXPECT_DOUBLE_EQ(p->queueing->offered_load, 30);  // 6000 × 0.005
  EXPECT_EQ(*p->littles_law->min_stable_replicas, 31);
  const int64_t sized = p->queueing->metrics->replicas;
  EXPECT_GE(sized, 31);
  ASSERT_TRUE(p->availability.has_value());
  EXPECT_EQ(p->availability->required_replicas, sized);
  EXPECT_EQ(p->recommended_replicas, p->availability->total_replicas);
  EXPECT_EQ(p->cost->monthly_cost, monthlyCost(p->recommended_replicas, 0.10));
}

TEST(Plan, EvaluateAGivenCount) {
  PlanInputs in = exampleInputs();
  in.service_time = 0.005;
  in.replicas = 30;  // A = 30 at the design rate: unstable
  auto p = makePlan(in);
  ASSERT_TRUE(p.isOk());
  EXPECT_FALSE(p->queueing->feasible);
  EXPECT_NE(p->queueing->reason.find("unstable"), std::string::npos);
  EXPECT_NE(p->queueing->reason.find("31"), std::string::npos);
  in.replicas = 40;
  in.latency_target = 0.010;  // p99 of 5 ms exponential service alone is 23 ms
  p = makePlan(in);
  ASSERT_TRUE(p.isOk());
  EXPECT_FALSE(p->queueing->feasible);
  EXPECT_NE(p->queueing->reason.find("exceeds"), std::string::npos);
  EXPECT_EQ(p->recommended_replicas, 40);
}

TEST(Plan, InfeasibleSizingHasNoCost) {
  PlanInputs in = exampleInputs();
  in.service_time = 0.010;
  in.latency_target = 0.040;
  auto p = makePlan(in);
  ASSERT_TRUE(p.isOk());
  EXPECT_FALSE(p->queueing->feasible);
  EXPECT_FALSE(p->cost.has_value());
}

TEST(Plan, AvailabilityWithoutAQueueingModel) {
  PlanInputs in = exampleInputs();
  in.replica_availability = 0.9;
  auto p = makePlan(in);
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->availability->required_replicas, 30);  // ceil(6000 / 200)
  EXPECT_GT(p->availability->spares, 1);
}

TEST(Plan, InconsistentInputs) {
  PlanInputs in = exampleInputs();
  in.service_time = 0.005;
  auto p = makePlan(in);
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("latency_target"), std::string::npos);
  in = exampleInputs();
  in.replicas = 3;
  EXPECT_NE(makePlan(in).status().message().find("service_time"), std::string::npos);
}

}  // namespace
}  // namespace surge::planner
