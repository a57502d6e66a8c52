// The conformance suite every registered algorithm must pass (parameterized over balancerNames(),
// plus the consistent_hash variants: ring, bounded loads, keyless requests).
#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lb/balancer.h"
#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::kNow;
using testing::makeHosts;
using testing::setOf;

struct Variant {
  std::string label;
  BalancerOptions options;
  bool keyed = false;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.label; }

std::vector<Variant> allVariants() {
  std::vector<Variant> v;
  for (const std::string& name : balancerNames()) {
    BalancerOptions o;
    o.algorithm = name;
    if (name != "consistent_hash") {
      v.push_back({name, o, false});
      continue;
    }
    v.push_back({name + "_maglev", o, true});
    v.push_back({name + "_keyless", o, false});
    BalancerOptions bounded = o;
    bounded.hash_balance_factor = 1.25;
    v.push_back({name + "_maglev_bounded", bounded, true});
    BalancerOptions ring = o;
    ring.hash_method = "ring";
    v.push_back({name + "_ring", ring, true});
    ring.hash_balance_factor = 1.25;
    v.push_back({name + "_ring_bounded", ring, true});
  }
  return v;
}

class ConformanceTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override { balancer_ = testing::mustMake(GetParam().options, &random_); }

  PickContext ctx(uint64_t i, std::span<const Host* const> exclude = {}) const {
    PickContext c = testing::ctxAt(kNow);
    if (GetParam().keyed) c.hash_key = i * 7919 + 13;
    c.exclude = exclude;
    return c;
  }

  // Picks, and keeps a bounded number of requests in flight the way the gateway would.
  Host* pickAndLoad(uint64_t i, std::span<const Host* const> exclude = {}) {
    Host* h = balancer_->pick(ctx(i, exclude));
    if (h) {
      h->onRequestStart();
      started_.push_back(h);
      if (started_.size() > 8) {
        started_.front()->onRequestEnd();
        started_.erase(started_.begin());
      }
    }
    return h;
  }

  void TearDown() override {
    for (Host* h : started_) h->onRequestEnd();
  }

  Random random_{42};
  std::unique_ptr<Balancer> balancer_;
  std::vector<Host*> started_;
};

bool contains(const HostSet& set, const Host* h) {
  return std::any_of(set.hosts.begin(), set.hosts.end(),
                     [&](const HostPtr& p) { return p.get() == h; });
}

TEST_P(ConformanceTest, EmptySetReturnsNull) {
  EXPECT_EQ(balancer_->pick(ctx(1)), nullptr) << "before any update";
  balancer_->update(setOf({}));
  EXPECT_EQ(balancer_->pick(ctx(1)), nullptr);
  auto hosts = makeHosts(3);
  balancer_->update(setOf(hosts));
  EXPECT_NE(balancer_->pick(ctx(1)), nullptr);
  balancer_->update(setOf({}));
  EXPECT_EQ(balancer_->pick(ctx(2)), nullptr) << "after the set became empty";
}

TEST_P(ConformanceTest, PicksOnlyHostsInTheSetAndReachesAllOfThem) {
  auto hosts = makeHosts(10);
  auto set = setOf(hosts);
  balancer_->update(set);
  std::set<const Host*> seen;
  for (uint64_t i = 0; i < 2000; ++i) {
    Host* h = pickAndLoad(i);
    ASSERT_TRUE(contains(*set, h));
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), hosts.size());
}

TEST_P(ConformanceTest, NeverPicksHostsBuildHostSetExcluded) {
  auto hosts = makeHosts(10);
  hosts[1]->setHealthy(false);
  hosts[4]->setHealthy(false);
  hosts[6]->setEjectedUntil(kNow + std::chrono::seconds(30));
  hosts[8]->setDraining(true);
  auto set = setOf(hosts);
  ASSERT_FALSE(set->panic);
  ASSERT_EQ(set->size(), 6u);
  balancer_->update(set);
  std::set<const Host*> seen;
  for (uint64_t i = 0; i < 3000; ++i) {
    Host* h = pickAndLoad(i);
    ASSERT_NE(h, nullptr);
    ASSERT_TRUE(h->eligible(kNow)) << h->address();
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST_P(ConformanceTest, RetryGoesToAnotherHost) {
  auto hosts = makeHosts(5);
  balancer_->update(setOf(hosts));
  for (uint64_t i = 0; i < 500; ++i) {
    Host* first = pickAndLoad(i);
    ASSERT_NE(first, nullptr);
    const Host* tried[] = {first};
    Host* second = pickAndLoad(i, tried);
    ASSERT_NE(second, nullptr);
    ASSERT_NE(second, first) << "retry " << i;
    const Host* tried2[] = {first, second};
    Host* third = pickAndLoad(i, tried2);
    ASSERT_NE(third, first);
    ASSERT_NE(third, second);
  }
}

TEST_P(ConformanceTest, ExcludingAllButOneLeavesThatOne) {
  auto hosts = makeHosts(6);
  balancer_->update(setOf(hosts));
  for (size_t keep = 0; keep < hosts.size(); ++keep) {
    std::vector<const Host*> ex;
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (i != keep) ex.push_back(hosts[i].get());
    }
    for (uint64_t i = 0; i < 20; ++i) ASSERT_EQ(pickAndLoad(i, ex), hosts[keep].get());
  }
}

TEST_P(ConformanceTest, EverythingExcludedStillReturnsAHostOfTheSet) {
  auto hosts = makeHosts(4);
  auto set = setOf(hosts);
  balancer_->update(set);
  std::vector<const Host*> ex;
  for (const auto& h : hosts) ex.push_back(h.get());
  for (uint64_t i = 0; i < 50; ++i) {
    Host* h = pickAndLoad(i, ex);
    ASSERT_NE(h, nullptr);
    ASSERT_TRUE(contains(*set, h));
  }
}

TEST_P(ConformanceTest, SingleHost) {
  auto hosts = makeHosts(1);
  balancer_->update(setOf(hosts));
  for (uint64_t i = 0; i < 100; ++i) ASSERT_EQ(pickAndLoad(i), hosts[0].get());
  const Host* ex[] = {hosts[0].get()};
  EXPECT_EQ(pickAndLoad(7, ex), hosts[0].get()) << "the only host, even when already tried";
}

TEST_P(ConformanceTest, FollowsSetUpdates) {
  auto hosts = makeHosts(12);
  std::vector<HostPtr> a(hosts.begin(), hosts.begin() + 8);
  balancer_->update(setOf(a));
  for (uint64_t i = 0; i < 100; ++i) pickAndLoad(i);
  // Remove three, add two new ones.
  std::vector<HostPtr> b = {hosts[0], hosts[2], hosts[3], hosts[5], hosts[7], hosts[9], hosts[11]};
  auto set_b = setOf(b, kNow, 2);
  balancer_->update(set_b);
  std::set<const Host*> seen;
  for (uint64_t i = 0; i < 3000; ++i) {
    Host* h = pickAndLoad(i);
    ASSERT_TRUE(contains(*set_b, h)) << h->address();
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), b.size());
  // Back to a subset of the original hosts.
  std::vector<HostPtr> c = {hosts[1], hosts[2]};
  auto set_c = setOf(c, kNow, 3);
  balancer_->update(set_c);
  for (uint64_t i = 0; i < 200; ++i) ASSERT_TRUE(contains(*set_c, pickAndLoad(i)));
}

TEST_P(ConformanceTest, SameSeedSameChoices) {
  auto hosts = makeHosts(20);
  auto set = setOf(hosts);
  Random r1(7), r2(7);
  auto b1 = testing::mustMake(GetParam().options, &r1);
  auto b2 = testing::mustMake(GetParam().options, &r2);
  b1->update(set);
  b2->update(set);
  for (uint64_t i = 0; i < 500; ++i) ASSERT_EQ(b1->pick(ctx(i)), b2->pick(ctx(i)));
}

TEST_P(ConformanceTest, PanicSetIsBalancedOverAllNonDrainingHosts) {
  auto hosts = makeHosts(6);
  for (size_t i = 0; i < 5; ++i) hosts[i]->setHealthy(false);
  hosts[5]->setDraining(true);
  auto set = setOf(hosts);
  ASSERT_TRUE(set->panic);
  balancer_->update(set);
  for (uint64_t i = 0; i < 500; ++i) {
    Host* h = pickAndLoad(i);
    ASSERT_NE(h, hosts[5].get()) << "draining hosts are never picked, not even in panic";
    ASSERT_TRUE(contains(*set, h));
  }
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, ConformanceTest, ::testing::ValuesIn(allVariants()),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           return info.param.label;
                         });

TEST(ConformanceCoverage, EveryRegisteredNameIsInTheSuite) {
  const auto variants = allVariants();
  for (const std::string& name : balancerNames()) {
    EXPECT_TRUE(std::any_of(variants.begin(), variants.end(),
                            [&](const Variant& v) { return v.options.algorithm == name; }))
        << name;
  }
  EXPECT_EQ(balancerNames().size(), 7u);
}

}  // namespace
}  // namespace surge::lb
