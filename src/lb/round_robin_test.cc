#include "lb/round_robin.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::ctxAt;
using testing::makeHosts;
using testing::setOf;

size_t indexOf(const std::vector<HostPtr>& hosts, const Host* h) {
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].get() == h) return i;
  }
  return hosts.size();
}

TEST(RoundRobinTest, CyclesInAddressOrderFromARandomStart) {
  auto hosts = makeHosts(5);
  Random random(1);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf(hosts));
  const size_t start = indexOf(hosts, rr.pick(ctxAt()));
  for (size_t k = 1; k < 23; ++k) {
    ASSERT_EQ(indexOf(hosts, rr.pick(ctxAt())), (start + k) % 5);
  }
}

TEST(RoundRobinTest, StartDependsOnTheSeed) {
  auto hosts = makeHosts(10);
  std::set<size_t> starts;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Random random(seed);
    RoundRobinBalancer rr({}, &random);
    rr.update(setOf(hosts));
    starts.insert(indexOf(hosts, rr.pick(ctxAt())));
  }
  EXPECT_GE(starts.size(), 5u) << "workers must not all start on the same host";
}

TEST(RoundRobinTest, EqualSharesExactly) {
  auto hosts = makeHosts(7, 3);
  hosts[2]->setWeight(100);  // round_robin ignores weights
  Random random(2);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf(hosts));
  std::map<const Host*, int> count;
  const int picks = 100002;  // a multiple of 7 in 7 x 14286
  for (int i = 0; i < picks; ++i) ++count[rr.pick(ctxAt())];
  for (const auto& h : hosts) {
    EXPECT_NEAR(count[h.get()] / static_cast<double>(picks), 1.0 / 7, 0.01);
    EXPECT_EQ(count[h.get()], picks / 7);
  }
}

// Picks until `target` was the last pick.
void pickUntil(RoundRobinBalancer& rr, const Host* target) {
  for (int i = 0; i < 100; ++i) {
    if (rr.pick(ctxAt()) == target) return;
  }
  FAIL() << "never picked " << target->address();
}

TEST(RoundRobinTest, HostLeavingDoesNotMakeOthersSkipOrRepeat) {
  auto h = makeHosts(5);  // a b c d e
  Random random(3);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf(h));
  pickUntil(rr, h[2].get());  // ... c
  // c leaves right after its turn: d is next, not e (skip) and not a (restart).
  rr.update(setOf({h[0], h[1], h[3], h[4]}, testing::kNow, 2));
  EXPECT_EQ(rr.pick(ctxAt()), h[3].get());
  EXPECT_EQ(rr.pick(ctxAt()), h[4].get());
  EXPECT_EQ(rr.pick(ctxAt()), h[0].get());
  // d (not yet due) leaves: after a comes b, then e.
  rr.update(setOf({h[0], h[1], h[4]}, testing::kNow, 3));
  EXPECT_EQ(rr.pick(ctxAt()), h[1].get());
  EXPECT_EQ(rr.pick(ctxAt()), h[4].get());
}

TEST(RoundRobinTest, HostReturningTakesItsTurnInOrder) {
  auto h = makeHosts(5);
  Random random(4);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf({h[0], h[1], h[3], h[4]}));
  pickUntil(rr, h[1].get());  // ... b
  rr.update(setOf(h, testing::kNow, 2));  // c returns
  EXPECT_EQ(rr.pick(ctxAt()), h[2].get());
  EXPECT_EQ(rr.pick(ctxAt()), h[3].get());
  // The last-picked host itself leaves and returns within two updates.
  rr.update(setOf({h[0], h[1], h[2], h[4]}, testing::kNow, 3));
  rr.update(setOf(h, testing::kNow, 4));
  EXPECT_EQ(rr.pick(ctxAt()), h[4].get());
}

TEST(RoundRobinTest, ResumesAfterAnEmptySet) {
  auto h = makeHosts(4);
  Random random(5);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf(h));
  pickUntil(rr, h[1].get());
  rr.update(setOf({}));
  EXPECT_EQ(rr.pick(ctxAt()), nullptr);
  rr.update(setOf(h, testing::kNow, 3));
  EXPECT_EQ(rr.pick(ctxAt()), h[2].get());
}

TEST(RoundRobinTest, ExcludedHostIsSteppedOver) {
  auto h = makeHosts(4);
  Random random(6);
  RoundRobinBalancer rr({}, &random);
  rr.update(setOf(h));
  pickUntil(rr, h[0].get());
  const Host* ex[] = {h[1].get()};
  PickContext c = ctxAt();
  c.exclude = ex;
  EXPECT_EQ(rr.pick(c), h[2].get());
  EXPECT_EQ(rr.pick(ctxAt()), h[3].get());
}

}  // namespace
}  // namespace surge::lb
