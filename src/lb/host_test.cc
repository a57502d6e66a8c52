#include "lb/host.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace surge::lb {
namespace {

TEST(HostTest, IdentityAndAddressHash) {
  Host h("10.0.0.1:8080", 3, "zone-a");
  EXPECT_EQ(h.address(), "10.0.0.1:8080");
  EXPECT_EQ(h.zone(), "zone-a");
  EXPECT_EQ(h.weight(), 3u);
  EXPECT_EQ(h.addressHash(), hash64("10.0.0.1:8080"));
  EXPECT_EQ(h.addressHash(), Host("10.0.0.1:8080", 1, "").addressHash()) << "address only";
  EXPECT_NE(h.addressHash(), Host("10.0.0.1:8081", 3, "zone-a").addressHash());
}

TEST(HostTest, LoadCounters) {
  Host h("a:1", 1, "");
  h.onRequestStart();
  h.onRequestStart();
  h.onRequestEnd();
  h.recordFailure();
  EXPECT_EQ(h.inFlight(), 1);
  EXPECT_EQ(h.requestsTotal(), 2u);
  EXPECT_EQ(h.failuresTotal(), 1u);
}

TEST(HostTest, Eligibility) {
  const TimePoint now(std::chrono::hours(1));
  Host h("a:1", 1, "");
  EXPECT_TRUE(h.eligible(now)) << "a host with no checks is healthy";
  h.setEjectedUntil(now + std::chrono::seconds(1));
  EXPECT_FALSE(h.eligible(now));
  EXPECT_TRUE(h.eligible(now + std::chrono::seconds(1)));
  h.setDraining(true);
  EXPECT_FALSE(h.eligible(now + std::chrono::seconds(1)));
  h.setDraining(false);
  h.setHealthy(false);
  EXPECT_FALSE(h.eligible(now + std::chrono::seconds(1)));
}

}  // namespace
}  // namespace surge::lb
