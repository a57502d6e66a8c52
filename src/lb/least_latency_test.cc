#include "lb/least_latency.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ctxAt;

TEST(LeastLatencyTest, HostWithoutSamplesCostsTheDefaultRtt) {
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  hosts[0]->latency().observe(milliseconds(50), clock.now(), seconds(10));
  BalancerOptions o;
  o.default_rtt = milliseconds(30);
  Random random(51);
  LeastLatencyBalancer b(o, &random);
  b.update(testing::setOf(hosts));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(b.pick(ctxAt()), hosts[1].get());
  o.default_rtt = milliseconds(80);  // unknown hosts now look slower than the measured one
  LeastLatencyBalancer cautious(o, &random);
  cautious.update(testing::setOf(hosts));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(cautious.pick(ctxAt()), hosts[0].get());
}

TEST(LeastLatencyTest, CostIsEstimateTimesInFlightPlusOne) {
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  hosts[0]->latency().observe(milliseconds(10), clock.now(), seconds(10));
  hosts[1]->latency().observe(milliseconds(30), clock.now(), seconds(10));
  Random random(52);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  EXPECT_DOUBLE_EQ(b.cost(*hosts[0], 1, clock.now()), 10e6);
  EXPECT_EQ(b.pick(ctxAt()), hosts[0].get());
  for (int i = 0; i < 3; ++i) hosts[0]->onRequestStart();  // 10 ms x 4 = 40 > 30
  EXPECT_DOUBLE_EQ(b.cost(*hosts[0], 1, clock.now()), 40e6);
  EXPECT_EQ(b.pick(ctxAt()), hosts[1].get());
}

TEST(LeastLatencyTest, ZeroSampleDoesNotMakeAHostFree) {
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  hosts[0]->latency().observe(Duration(0), clock.now(), seconds(10));
  hosts[1]->latency().observe(Duration(0), clock.now(), seconds(10));
  for (int i = 0; i < 5; ++i) hosts[0]->onRequestStart();
  Random random(53);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(b.pick(ctxAt()), hosts[1].get());
}

TEST(LeastLatencyTest, SlowSampleIsAvoidedThenForgiven) {
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  const auto tau = seconds(10);
  for (auto& h : hosts) h->latency().observe(milliseconds(10), clock.now(), tau);
  Random random(54);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  hosts[0]->latency().observe(seconds(1), clock.now(), tau);  // one very slow answer
  for (int i = 0; i < 50; ++i) ASSERT_EQ(b.pick(ctxAt(clock.now())), hosts[1].get());
  clock.advance(seconds(60));  // six time constants later, a fast answer
  hosts[0]->latency().observe(milliseconds(10), clock.now(), tau);
  hosts[1]->latency().observe(milliseconds(10), clock.now(), tau);  // host 1 kept answering
  // ~12.5 ms against 10 ms now: with requests piling up, host 0 takes a fair part of them.
  std::map<const Host*, int> count;
  for (int i = 0; i < 1000; ++i) {
    Host* h = b.pick(ctxAt(clock.now()));
    h->onRequestStart();
    ++count[h];
  }
  EXPECT_GT(count[hosts[0].get()], 300) << "the estimate decayed back toward 10 ms";
}

TEST(LeastLatencyTest, NeverPicksTheCostlierOfTheTwoSampled) {
  const size_t n = 8;
  auto hosts = testing::makeHosts(n);
  ManualClock clock;
  Random random(55), oracle(55), noise(7);
  for (size_t i = 0; i < n; ++i) {
    hosts[i]->latency().observe(milliseconds(5 + 7 * i % 23), clock.now(), seconds(10));
  }
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  for (int step = 0; step < 5000; ++step) {
    const IndexPair p = sampleTwoDistinct(n, oracle);
    const double ca = b.cost(*hosts[p.first], 1, clock.now());
    const double cb = b.cost(*hosts[p.second], 1, clock.now());
    const Host* expected = cb < ca ? hosts[p.second].get() : hosts[p.first].get();
    Host* got = b.pick(ctxAt(clock.now()));
    ASSERT_EQ(got, expected);
    got->onRequestStart();
    const size_t j = noise.uniform(n);
    if (hosts[j]->inFlight() > 0) hosts[j]->onRequestEnd();
  }
}

TEST(LeastLatencyTest, IdleSlowHostDecaysAndIsTriedAgain) {
  // Finagle/tower semantics: without new samples the estimate decays toward 0, so a host that was
  // slow once is not starved for ever under light (sequential) load.
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  const auto tau = seconds(10);
  hosts[0]->latency().observe(milliseconds(100), clock.now(), tau);
  hosts[1]->latency().observe(milliseconds(10), clock.now(), tau);
  Random random(57);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  EXPECT_DOUBLE_EQ(b.cost(*hosts[0], 1, clock.now()), 100e6);
  for (int i = 0; i < 20; ++i) {
    clock.advance(milliseconds(100));
    hosts[1]->latency().observe(milliseconds(10), clock.now(), tau);  // host 1 keeps answering
    ASSERT_EQ(b.pick(ctxAt(clock.now())), hosts[1].get());
  }
  clock.advance(seconds(30));  // host 0 idle for 32 s: 100 ms x e^-3.2 = 4 ms < host 1's ~10 ms x e^-3
  hosts[1]->latency().observe(milliseconds(10), clock.now(), tau);
  EXPECT_NEAR(b.cost(*hosts[0], 1, clock.now()), 100e6 * std::exp(-3.2), 1e3);
  EXPECT_EQ(b.pick(ctxAt(clock.now())), hosts[0].get());
}

TEST(LeastLatencyTest, UnsampledHostIsNotStarvedForEver) {
  // A new host costs default_rtt (30 ms), pessimistic next to 1 ms replicas; its default decays
  // from the time it became healthy, so under sequential load it is tried within tau x ln(30).
  auto hosts = testing::makeHosts(2);
  ManualClock clock;
  const auto tau = seconds(10);
  hosts[0]->latency().observe(milliseconds(1), clock.now(), tau);
  hosts[1]->setHealthySince(clock.now());  // joined now, no sample
  Random random(58);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  EXPECT_DOUBLE_EQ(b.cost(*hosts[1], 1, clock.now()), 30e6);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(b.pick(ctxAt(clock.now())), hosts[0].get());
  int first_pick_s = -1;
  for (int s = 1; s <= 60 && first_pick_s < 0; ++s) {
    clock.advance(seconds(1));
    hosts[0]->latency().observe(milliseconds(1), clock.now(), tau);  // host 0 keeps serving
    if (b.pick(ctxAt(clock.now())) == hosts[1].get()) first_pick_s = s;
  }
  EXPECT_EQ(first_pick_s, 35) << "30 ms x e^(-t/10 s) < 1 ms from t = 10 ln 30 = 34 s";
}

TEST(LeastLatencyTest, WeightsDivideTheCost) {
  auto hosts = testing::makeHosts(2);
  hosts[1]->setWeight(4);
  ManualClock clock;
  hosts[0]->latency().observe(milliseconds(10), clock.now(), seconds(10));
  hosts[1]->latency().observe(milliseconds(30), clock.now(), seconds(10));
  Random random(56);
  LeastLatencyBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  EXPECT_EQ(b.pick(ctxAt()), hosts[1].get()) << "30 ms / 4 < 10 ms / 1";
}

}  // namespace
}  // namespace surge::lb
