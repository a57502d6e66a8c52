#include "lb/power_of_two.h"

#include <map>

#include <gtest/gtest.h>

#include "lb/test_util.h"

namespace surge::lb {
namespace {

using testing::ctxAt;

// Replays the balancer's draws with a second Random of the same seed and checks every pick is the
// less loaded (weighted: higher weight / (in_flight + 1)) of the two sampled hosts.
void checkNeverWorseOfTwo(const std::vector<uint32_t>& weights) {
  const size_t n = weights.size();
  auto hosts = testing::makeHosts(n);
  for (size_t i = 0; i < n; ++i) hosts[i]->setWeight(weights[i]);
  Random random(41), oracle(41), loads(99);
  PowerOfTwoBalancer b({}, &random);
  auto set = testing::setOf(hosts);
  b.update(set);
  for (int step = 0; step < 20000; ++step) {
    const IndexPair p = sampleTwoDistinct(n, oracle);
    ASSERT_NE(p.first, p.second);
    const uint64_t fa = activeRequests(*hosts[p.first]);
    const uint64_t fb = activeRequests(*hosts[p.second]);
    const double sa = weights[p.first] / static_cast<double>(fa + 1);
    const double sb = weights[p.second] / static_cast<double>(fb + 1);
    const Host* expected = sb > sa ? hosts[p.second].get() : hosts[p.first].get();
    Host* got = b.pick(ctxAt());
    ASSERT_EQ(got, expected) << "step " << step;
    got->onRequestStart();
    // Complete a random in-flight request now and then to keep the loads moving.
    const size_t j = loads.uniform(n);
    if (hosts[j]->inFlight() > 0 && loads.uniform(10) < 9) hosts[j]->onRequestEnd();
  }
}

TEST(PowerOfTwoTest, NeverPicksTheWorseOfTheTwoSampled) { checkNeverWorseOfTwo({1, 1, 1, 1, 1, 1, 1}); }

TEST(PowerOfTwoTest, NeverPicksTheWorseOfTheTwoSampledWeighted) {
  checkNeverWorseOfTwo({1, 4, 2, 8, 1, 3});
}

TEST(PowerOfTwoTest, BusiestHostNeverPickedLeastBusyAtTwoOverN) {
  auto hosts = testing::makeHosts(10);
  for (size_t i = 0; i < 10; ++i) {
    for (size_t k = 0; k < i + 1; ++k) hosts[i]->onRequestStart();
  }
  Random random(42);
  PowerOfTwoBalancer b({}, &random);
  b.update(testing::setOf(hosts));
  std::map<const Host*, int> count;
  for (int i = 0; i < 50000; ++i) ++count[b.pick(ctxAt())];
  EXPECT_EQ(count[hosts[9].get()], 0);
  EXPECT_NEAR(count[hosts[0].get()] / 50000.0, 2.0 / 10, 0.01);
}

}  // namespace
}  // namespace surge::lb
