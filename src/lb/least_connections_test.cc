#include "lb/least_connections.h"

#include <map>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::ctxAt;

void load(const HostPtr& h, int n) {
  for (int i = 0; i < n; ++i) h->onRequestStart();
}

TEST(LeastConnectionsTest, PicksTheFewestInFlight) {
  auto hosts = testing::makeHosts(5);
  const int loads[] = {3, 1, 4, 0, 2};
  for (size_t i = 0; i < 5; ++i) load(hosts[i], loads[i]);
  Random random(31);
  LeastConnectionsBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(b.pick(ctxAt()), hosts[3].get());
}

TEST(LeastConnectionsTest, TiesAreBrokenAtRandom) {
  auto hosts = testing::makeHosts(4);
  load(hosts[2], 5);
  load(hosts[3], 5);
  Random random(32);
  LeastConnectionsBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 4000; ++i) ++count[b.pick(ctxAt())];
  EXPECT_EQ(count[hosts[2].get()] + count[hosts[3].get()], 0);
  EXPECT_NEAR(count[hosts[0].get()] / 4000.0, 0.5, 0.05) << "not always the first index";
  EXPECT_NEAR(count[hosts[1].get()] / 4000.0, 0.5, 0.05);
}

TEST(LeastConnectionsTest, AllIdleSpreadsEvenly) {
  auto hosts = testing::makeHosts(8);
  Random random(33);
  LeastConnectionsBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 8000; ++i) ++count[b.pick(ctxAt())];
  for (const auto& h : hosts) EXPECT_NEAR(count[h.get()] / 8000.0, 0.125, 0.025);
}

TEST(LeastConnectionsTest, WeightedScoreIsWeightOverInFlightPlusOne) {
  auto hosts = testing::makeHosts(2);
  hosts[1]->setWeight(3);
  Random random(34);
  LeastConnectionsBalancer b({}, &random);
  load(hosts[0], 1);  // 1/2 = 0.5
  load(hosts[1], 3);  // 3/4 = 0.75 → wins although busier
  b.update(testing::setOf(hosts));
  EXPECT_EQ(b.pick(ctxAt()), hosts[1].get());
  hosts[0]->onRequestEnd();  // 1/1 = 1 > 0.75
  EXPECT_EQ(b.pick(ctxAt()), hosts[0].get());
}

TEST(LeastConnectionsTest, SeesInFlightOfOtherWorkers) {
  auto hosts = testing::makeHosts(3);
  auto set = testing::setOf(hosts);
  Random r1(35), r2(36);
  LeastConnectionsBalancer worker1({}, &r1), worker2({}, &r2);
  worker1.update(set);
  worker2.update(set);
  for (int i = 0; i < 30; ++i) {
    LeastConnectionsBalancer& w = i % 2 ? worker1 : worker2;
    w.pick(ctxAt())->onRequestStart();
  }
  for (const auto& h : hosts) EXPECT_EQ(h->inFlight(), 10);
}

TEST(LeastConnectionsTest, AboveScanLimitUsesTwoDistinctChoices) {
  auto hosts = testing::makeHosts(3);
  load(hosts[1], 5);
  load(hosts[2], 9);
  BalancerOptions o;
  o.full_scan_max_hosts = 2;
  Random random(37);
  LeastConnectionsBalancer b(o, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 30000; ++i) ++count[b.pick(ctxAt())];
  // A full scan would always take host 0; two distinct choices take it when it is drawn (2/3),
  // host 1 otherwise, and never the busiest.
  EXPECT_NEAR(count[hosts[0].get()] / 30000.0, 2.0 / 3, 0.02);
  EXPECT_NEAR(count[hosts[1].get()] / 30000.0, 1.0 / 3, 0.02);
  EXPECT_EQ(count[hosts[2].get()], 0);
}

TEST(LeastConnectionsTest, TwoHostsAboveScanLimitNeverPickTheBusier) {
  auto hosts = testing::makeHosts(2);
  load(hosts[0], 2);
  BalancerOptions o;
  o.full_scan_max_hosts = 0;
  Random random(38);
  LeastConnectionsBalancer b(o, &random);
  b.update(testing::setOf(hosts));
  // Envoy's draw with replacement would take the busier host 25% of the time.
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.pick(ctxAt()), hosts[1].get());
}

}  // namespace
}  // namespace surge::lb
