#include "planner/classic_formula.h"

#include <gtest/gtest.h>

#include <cmath>

#include "planner/cost.h"
#include "planner/exact.h"

namespace surge::planner {
namespace {

TEST(ClassicFormula, WorkedExample) {
  // The worked example: peak 5000 rps, 200 per replica, failure 0.01, $0.10/h → 32 replicas, $2304/month.
  ClassicInputs in;
  in.peak_rps = 5000;
  in.instance_rps = 200;
  auto r = classicFormula(in);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->base_replicas, 25);
  EXPECT_EQ(r->spike_headroom_replicas, 5);
  EXPECT_EQ(r->redundancy_replicas, 1);
  EXPECT_EQ(r->failure_buffer_replicas, 0.25);
  EXPECT_EQ(r->total_replicas, 32);
  EXPECT_EQ(r->monthly_cost, 2304.0);
  EXPECT_DOUBLE_EQ(r->cost_per_million_requests, 2304.0 / (5000 * 3600.0 * 24 * 30 / 1e6));
}

TEST(ClassicFormula, CeilingOfTheExactSum) {
  // 1880/50 = 37.6; 37.6 × (1 + 0.2 + 0.05) + 1 = 48 exactly.
  const double base = 1880.0 / 50.0;
  const double naive = std::ceil(base + base * 0.2 + 1 + base * 0.05);
  EXPECT_EQ(naive, 49) << "the floating-point pitfall this test guards against";
  ClassicInputs in;
  in.peak_rps = 1880;
  in.instance_rps = 50;
  in.failure_rate = 0.05;
  auto r = classicFormula(in);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->total_replicas, 48);
  EXPECT_EQ(r->spike_headroom_replicas, 7.52);
  EXPECT_EQ(r->failure_buffer_replicas, 1.88);
}

TEST(ClassicFormula, JustAboveAWholeNumberRoundsUp) {
  ClassicInputs in;
  in.peak_rps = 1881;  // 37.62 × 1.25 + 1 = 48.025
  in.instance_rps = 50;
  in.failure_rate = 0.05;
  EXPECT_EQ(classicFormula(in)->total_replicas, 49);
  in.peak_rps = 100;  // 10 × 1.3 + 1 = 14 exactly (0.3 is not exact in binary)
  in.instance_rps = 10;
  in.spike_headroom = 0.1;
  in.failure_rate = 0.2;
  EXPECT_EQ(classicFormula(in)->total_replicas, 14);
  in.redundancy = 0;
  in.failure_rate = 0;
  in.spike_headroom = 0;
  EXPECT_EQ(classicFormula(in)->total_replicas, 10);
}

TEST(ClassicFormula, FractionalInputs) {
  ClassicInputs in;
  in.peak_rps = 0.3;  // 0.3 / 0.1 = 3 exactly as decimals (2.9999999999999996 in binary)
  in.instance_rps = 0.1;
  in.spike_headroom = 0;
  in.failure_rate = 0;
  in.redundancy = 0;
  EXPECT_EQ(classicFormula(in)->total_replicas, 3);
}

TEST(ClassicFormula, RejectsBadInputsNamingTheField) {
  ClassicInputs in;
  in.peak_rps = 0;
  in.instance_rps = 200;
  auto r = classicFormula(in);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("peak_rps"), std::string::npos);
  in.peak_rps = 10;
  in.failure_rate = 1.5;
  EXPECT_NE(classicFormula(in).status().message().find("failure_rate"), std::string::npos);
  in.failure_rate = 0.01;
  in.instance_rps = NAN;
  EXPECT_NE(classicFormula(in).status().message().find("instance_rps"), std::string::npos);
  in.instance_rps = 1e-9;  // 1e10 replicas
  EXPECT_EQ(classicFormula(in).status().code(), StatusCode::kOutOfRange);
}

TEST(Exact, DecimalOfIsTheShortestRoundTrip) {
  Decimal d = decimalOf(0.05);
  EXPECT_EQ(d.mantissa, 5u);
  EXPECT_EQ(d.exponent, -2);
  d = decimalOf(123.456);
  EXPECT_EQ(d.mantissa, 123456u);
  EXPECT_EQ(d.exponent, -3);
  d = decimalOf(1e20);
  EXPECT_EQ(d.mantissa, 1u);
  EXPECT_EQ(d.exponent, 20);
  d = decimalOf(0);
  EXPECT_EQ(d.mantissa, 0u);
}

TEST(Exact, RationalCeil) {
  const Rational third = Rational::integer(1) * Rational::integer(3).inverse();
  EXPECT_EQ(*(third + third + third).ceil(100), 1u);
  EXPECT_EQ(*(third + third).ceil(100), 1u);
  EXPECT_EQ(*Rational::integer(0).ceil(100), 0u);
  EXPECT_EQ(*(Rational::fromDouble(0.1) + Rational::fromDouble(0.2)).ceil(100), 1u);
  EXPECT_FALSE(Rational::integer(101).ceil(100).isOk());
  // Big numbers: (10^30 + 1) / 10^20 → ceil = 10^10 + 1.
  const Rational big(BigUint::pow10(30) + BigUint(1), BigUint::pow10(20));
  EXPECT_EQ(*big.ceil(uint64_t{1} << 62), 10000000001u);
}

TEST(Cost, ClassicArithmetic) {
  EXPECT_EQ(monthlyCost(32, 0.10), 2304.0);
  EXPECT_EQ(costPerMillionRequests(2304, 0), 0);
  const CostResult c = cost(10, 1.0, 1000);
  EXPECT_EQ(c.monthly_cost, 7200);
  EXPECT_DOUBLE_EQ(c.cost_per_million_requests, 7200 / 2592.0);
}

}  // namespace
}  // namespace surge::planner
