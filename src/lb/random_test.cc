#include "lb/random.h"

#include <map>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::ctxAt;

TEST(RandomTest, WeightedSharesWithinOnePercent) {
  auto hosts = testing::makeHosts(4);
  for (size_t i = 0; i < 4; ++i) hosts[i]->setWeight(static_cast<uint32_t>(i + 1));
  Random random(21);
  RandomBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 100000; ++i) ++count[b.pick(ctxAt())];
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(count[hosts[i].get()] / 100000.0, (i + 1) / 10.0, 0.01);
  }
}

TEST(RandomTest, EqualSharesWithinOnePercent) {
  auto hosts = testing::makeHosts(10);
  Random random(22);
  RandomBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 100000; ++i) ++count[b.pick(ctxAt())];
  for (const auto& h : hosts) EXPECT_NEAR(count[h.get()] / 100000.0, 0.1, 0.01);
}

TEST(RandomTest, ExclusionKeepsTheOthersInProportion) {
  auto hosts = testing::makeHosts(3);
  hosts[0]->setWeight(6);
  hosts[1]->setWeight(1);
  hosts[2]->setWeight(3);
  Random random(23);
  RandomBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  const Host* ex[] = {hosts[0].get()};
  PickContext c = ctxAt();
  c.exclude = ex;
  std::map<const Host*, int> count;
  for (int i = 0; i < 40000; ++i) ++count[b.pick(c)];
  EXPECT_EQ(count[hosts[0].get()], 0);
  EXPECT_NEAR(count[hosts[2].get()] / 40000.0, 0.75, 0.01);
}

}  // namespace
}  // namespace surge::lb
