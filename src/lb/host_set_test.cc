#include "lb/host_set.h"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using std::chrono::seconds;
using testing::kNow;
using testing::makeHosts;

std::vector<std::string> addresses(const HostSet& s) {
  std::vector<std::string> v;
  for (const auto& h : s.hosts) v.push_back(h->address());
  return v;
}

TEST(HostSetTest, SortedByAddressWhateverTheInputOrder) {
  auto hosts = makeHosts(8);
  std::vector<HostPtr> shuffled = hosts;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  auto set = buildHostSet(shuffled, {}, kNow, 9);
  ASSERT_EQ(set->size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(set->hosts[i], hosts[i]);
  EXPECT_EQ(set->version, 9u);
  EXPECT_FALSE(set->panic);
  EXPECT_FALSE(set->local_zone_only);
}

TEST(HostSetTest, IneligibleHostsLeaveTheSet) {
  auto hosts = makeHosts(5);
  hosts[0]->setHealthy(false);
  hosts[2]->setEjectedUntil(kNow + seconds(1));
  hosts[3]->setDraining(true);
  auto set = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_EQ(addresses(*set), (std::vector<std::string>{"h0001:80", "h0004:80"}));
  EXPECT_FALSE(set->panic);  // 2 of 4 non-draining = 50%: not below the threshold
  // The ejection expires.
  auto later = buildHostSet(hosts, {}, kNow + seconds(1), 2);
  EXPECT_EQ(addresses(*later), (std::vector<std::string>{"h0001:80", "h0002:80", "h0004:80"}));
}

TEST(HostSetTest, PanicBelowThresholdUsesAllNonDrainingHosts) {
  auto hosts = makeHosts(5);
  hosts[0]->setHealthy(false);
  hosts[1]->setHealthy(false);
  hosts[2]->setEjectedUntil(kNow + seconds(5));
  hosts[4]->setDraining(true);
  // 1 of 4 non-draining hosts eligible = 25% < 50%.
  auto set = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_TRUE(set->panic);
  EXPECT_EQ(addresses(*set),
            (std::vector<std::string>{"h0000:80", "h0001:80", "h0002:80", "h0003:80"}));
  HostSetOptions strict;
  strict.panic_threshold_percent = 20;
  auto no_panic = buildHostSet(hosts, strict, kNow, 1);
  EXPECT_FALSE(no_panic->panic);
  EXPECT_EQ(addresses(*no_panic), (std::vector<std::string>{"h0003:80"}));
}

TEST(HostSetTest, NoEligibleHost) {
  auto hosts = makeHosts(3);
  for (auto& h : hosts) h->setHealthy(false);
  auto panic = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_TRUE(panic->panic);
  EXPECT_EQ(panic->size(), 3u);
  HostSetOptions off;
  off.panic_threshold_percent = 0;
  auto empty = buildHostSet(hosts, off, kNow, 1);
  EXPECT_FALSE(empty->panic);
  EXPECT_TRUE(empty->empty());
}

TEST(HostSetTest, DrainingNeverIncludedEvenInPanic) {
  auto hosts = makeHosts(3);
  hosts[0]->setHealthy(false);
  hosts[1]->setHealthy(false);
  hosts[2]->setDraining(true);
  auto set = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_TRUE(set->panic);
  EXPECT_EQ(addresses(*set), (std::vector<std::string>{"h0000:80", "h0001:80"}));
  for (auto& h : hosts) h->setDraining(true);
  auto none = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->panic);
}

TEST(HostSetTest, WeightsAndEqualWeightsFlag) {
  auto hosts = makeHosts(3, 4);
  auto equal = buildHostSet(hosts, {}, kNow, 1);
  EXPECT_TRUE(equal->equal_weights);
  EXPECT_EQ(equal->weights, (std::vector<uint32_t>{4, 4, 4}));
  EXPECT_EQ(equal->weight_scale, 1u);
  hosts[1]->setWeight(7);
  hosts[2]->setWeight(0);  // invalid config slipped through: still >= 1
  auto unequal = buildHostSet(hosts, {}, kNow, 2);
  EXPECT_FALSE(unequal->equal_weights);
  EXPECT_EQ(unequal->weights, (std::vector<uint32_t>{4, 7, 1}));
}

TEST(HostSetTest, SlowStartRampsLinearlyFromMinimumToFullWeight) {
  auto hosts = makeHosts(2, 1);
  HostSetOptions o;
  o.slow_start = seconds(10);
  o.slow_start_min_weight_percent = 10;
  hosts[0]->setHealthySince(kNow - seconds(60));  // long healthy
  hosts[1]->setHealthySince(kNow);                // just recovered
  const auto share = [&](TimePoint t) {
    auto s = buildHostSet(hosts, o, t, 1);
    EXPECT_EQ(s->weight_scale, kRampWeightScale);
    return static_cast<double>(s->weights[1]) / s->weight_scale;
  };
  EXPECT_NEAR(share(kNow), 0.10, 1e-3);
  EXPECT_NEAR(share(kNow + seconds(5)), 0.55, 1e-3);
  EXPECT_NEAR(share(kNow + std::chrono::milliseconds(9000)), 0.91, 1e-3);
  auto s0 = buildHostSet(hosts, o, kNow + seconds(5), 1);
  EXPECT_EQ(s0->weights[0], kRampWeightScale) << "a host outside its window keeps full weight";
  EXPECT_FALSE(s0->equal_weights);
  auto done = buildHostSet(hosts, o, kNow + seconds(10), 1);
  EXPECT_EQ(done->weight_scale, 1u);
  EXPECT_EQ(done->weights, (std::vector<uint32_t>{1, 1}));
  EXPECT_TRUE(done->equal_weights);
}

TEST(HostSetTest, SlowStartScalesConfiguredWeight) {
  auto hosts = makeHosts(1, 50);
  HostSetOptions o;
  o.slow_start = seconds(4);
  o.slow_start_min_weight_percent = 20;
  hosts[0]->setHealthySince(kNow);
  auto s = buildHostSet(hosts, o, kNow + seconds(2), 1);
  EXPECT_EQ(s->weights[0], 50u * kRampWeightScale * 60 / 100);
}

TEST(HostSetTest, AnyHostRamping) {
  auto hosts = makeHosts(2);
  HostSetOptions o;
  hosts[1]->setHealthySince(kNow);
  EXPECT_FALSE(anyHostRamping(hosts, o, kNow)) << "slow start off";
  o.slow_start = seconds(10);
  EXPECT_TRUE(anyHostRamping(hosts, o, kNow + seconds(9)));
  EXPECT_FALSE(anyHostRamping(hosts, o, kNow + seconds(10)));
  hosts[1]->setDraining(true);
  EXPECT_FALSE(anyHostRamping(hosts, o, kNow + seconds(1)));
}

TEST(HostSetTest, ZoneAwareKeepsLocalZoneWhileHealthyEnough) {
  std::vector<HostPtr> hosts;
  for (int i = 0; i < 4; ++i) {
    hosts.push_back(std::make_shared<Host>("a" + std::to_string(i) + ":80", 1, "zone-a"));
  }
  for (int i = 0; i < 4; ++i) {
    hosts.push_back(std::make_shared<Host>("b" + std::to_string(i) + ":80", 1, "zone-b"));
  }
  HostSetOptions o;
  o.zone_aware = true;
  o.local_zone = "zone-a";
  o.zone_min_healthy_percent = 70;
  auto local = buildHostSet(hosts, o, kNow, 1);
  EXPECT_TRUE(local->local_zone_only);
  EXPECT_EQ(addresses(*local), (std::vector<std::string>{"a0:80", "a1:80", "a2:80", "a3:80"}));

  hosts[0]->setHealthy(false);  // 3/4 = 75% >= 70%: stay local, without the unhealthy one
  auto still = buildHostSet(hosts, o, kNow, 2);
  EXPECT_TRUE(still->local_zone_only);
  EXPECT_EQ(addresses(*still), (std::vector<std::string>{"a1:80", "a2:80", "a3:80"}));

  hosts[1]->setHealthy(false);  // 2/4 = 50% < 70%: spill over to every eligible host
  auto spill = buildHostSet(hosts, o, kNow, 3);
  EXPECT_FALSE(spill->local_zone_only);
  EXPECT_EQ(spill->size(), 6u);

  o.zone_aware = false;
  hosts[1]->setHealthy(true);
  EXPECT_EQ(buildHostSet(hosts, o, kNow, 4)->size(), 7u);
}

TEST(HostSetTest, ZoneAwarenessIsOffInPanic) {
  std::vector<HostPtr> hosts;
  hosts.push_back(std::make_shared<Host>("a0:80", 1, "zone-a"));
  for (int i = 0; i < 4; ++i) {
    auto h = std::make_shared<Host>("b" + std::to_string(i) + ":80", 1, "zone-b");
    h->setHealthy(false);
    hosts.push_back(h);
  }
  HostSetOptions o;
  o.zone_aware = true;
  o.local_zone = "zone-a";
  auto set = buildHostSet(hosts, o, kNow, 1);  // 1/5 eligible: panic
  EXPECT_TRUE(set->panic);
  EXPECT_FALSE(set->local_zone_only);
  EXPECT_EQ(set->size(), 5u);
}

TEST(HostSetTest, LocalZoneWithNoEligibleHostIsNotUsed) {
  std::vector<HostPtr> hosts = {std::make_shared<Host>("a:80", 1, "zone-a"),
                                std::make_shared<Host>("b:80", 1, "zone-b"),
                                std::make_shared<Host>("c:80", 1, "zone-b")};
  hosts[0]->setHealthy(false);
  HostSetOptions o;
  o.zone_aware = true;
  o.local_zone = "zone-a";
  o.zone_min_healthy_percent = 0;
  auto set = buildHostSet(hosts, o, kNow, 1);
  EXPECT_FALSE(set->local_zone_only);
  EXPECT_EQ(addresses(*set), (std::vector<std::string>{"b:80", "c:80"}));
}

}  // namespace
}  // namespace surge::lb
