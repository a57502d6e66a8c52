#include "loadgen/schedule.h"

#include <gtest/gtest.h>

namespace surge::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ParseDuration, Units) {
  EXPECT_EQ(*parseDuration("10s"), seconds(10));
  EXPECT_EQ(*parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*parseDuration("1m"), seconds(60));
  EXPECT_EQ(*parseDuration("2.5s"), milliseconds(2500));
  EXPECT_EQ(*parseDuration("3"), seconds(3));
  EXPECT_FALSE(parseDuration("abc").isOk());
  EXPECT_FALSE(parseDuration("10x").isOk());
  EXPECT_FALSE(parseDuration("").isOk());
}

TEST(Schedule, ConstantRateIsEvenlySpaced) {
  auto times = arrivalTimes(RateProfile::constant(100, seconds(1)));
  ASSERT_EQ(times.size(), 100u);
  EXPECT_EQ(times[0], Duration(0));
  EXPECT_NEAR(std::chrono::duration<double>(times[1]).count(), 0.01, 1e-9);
  EXPECT_NEAR(std::chrono::duration<double>(times[99]).count(), 0.99, 1e-9);
}

TEST(Schedule, ZeroRateSendsNothing) {
  EXPECT_TRUE(arrivalTimes(RateProfile::constant(0, seconds(5))).empty());
}

TEST(Schedule, StepsHoldEachRate) {
  auto p = RateProfile::parse("step:10,20,40@1s");
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  ASSERT_EQ(p->segments().size(), 3u);
  EXPECT_EQ(p->totalLength(), seconds(3));
  EXPECT_DOUBLE_EQ(p->expectedRequests(), 70);
  EXPECT_DOUBLE_EQ(p->peakRps(), 40);
  auto times = arrivalTimes(*p);
  ASSERT_EQ(times.size(), 70u);
  int first = 0, second = 0, third = 0;
  for (auto t : times) {
    if (t < seconds(1)) ++first;
    else if (t < seconds(2)) ++second;
    else ++third;
  }
  EXPECT_EQ(first, 10);
  EXPECT_EQ(second, 20);
  EXPECT_EQ(third, 40);
}

TEST(Schedule, RampIncreasesDensity) {
  auto p = RateProfile::parse("ramp:0..200@2s");
  ASSERT_TRUE(p.isOk());
  auto times = arrivalTimes(*p);
  EXPECT_EQ(times.size(), 200u);  // integral = 200
  int first_half = 0;
  for (auto t : times) first_half += t < seconds(1) ? 1 : 0;
  EXPECT_EQ(first_half, 50);  // integral over [0,1] of 100 t
  for (size_t i = 1; i < times.size(); ++i) EXPECT_LE(times[i - 1], times[i]);
  EXPECT_LT(times.back(), seconds(2));
}

TEST(Schedule, BadProfilesNameTheProblem) {
  auto a = RateProfile::parse("step:10,x@1s");
  ASSERT_FALSE(a.isOk());
  EXPECT_NE(a.status().message().find("'x'"), std::string::npos);
  EXPECT_FALSE(RateProfile::parse("ramp:10-20@1s").isOk());
  EXPECT_FALSE(RateProfile::parse("wave:10@1s").isOk());
  EXPECT_FALSE(RateProfile::parse("step:10").isOk());
  EXPECT_FALSE(RateProfile::parse("step:10@0s").isOk());
  EXPECT_FALSE(RateProfile::parse("step:-5@1s").isOk());
}

TEST(Trace, ParsesRowsWithHeaderAndComments) {
  auto p = RateProfile::parseTrace("timestamp,rps\n# warm\n0,10\n1,30\n\n2.5,0\n", "t.csv",
                                   seconds(2));
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  ASSERT_EQ(p->segments().size(), 3u);
  EXPECT_EQ(p->segments()[1].length, milliseconds(1500));
  EXPECT_EQ(p->totalLength(), milliseconds(4500));
  EXPECT_EQ(arrivalTimes(*p).size(), 10u + 45u);
}

TEST(Trace, LeadingGapIsSilent) {
  auto p = RateProfile::parseTrace("2,10\n", "t.csv", seconds(1));
  ASSERT_TRUE(p.isOk());
  auto times = arrivalTimes(*p);
  ASSERT_EQ(times.size(), 10u);
  EXPECT_EQ(times[0], seconds(2));
}

TEST(Trace, ErrorsNameFileAndLine) {
  auto a = RateProfile::parseTrace("0,10\n1,abc\n", "load.csv");
  ASSERT_FALSE(a.isOk());
  EXPECT_NE(a.status().message().find("load.csv:2:"), std::string::npos) << a.status().message();
  auto b = RateProfile::parseTrace("ts,rps\n0,10\n0,20\n", "x.csv");
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("x.csv:3:"), std::string::npos) << b.status().message();
  auto c = RateProfile::parseTrace("0 10\n", "y.csv");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("y.csv:1:"), std::string::npos);
  EXPECT_FALSE(RateProfile::parseTrace("# only\n", "z.csv").isOk());
}

}  // namespace
}  // namespace surge::loadgen
