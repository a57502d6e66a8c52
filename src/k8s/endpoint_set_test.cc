// Pure rules of gateway discovery: slices → desired set, watch events, host diff, backoff.
#include "k8s/endpoint_set.h"

#include <gtest/gtest.h>

#include "support/k8s_stub_api.h"

namespace surge::k8s {
namespace {

using nlohmann::json;
using testing::stubEndpoint;
using testing::stubEndpointSlice;

TEST(DesiredFromSlices, ReadyServeTerminatingDrainNotReadyAbsent) {
  json slice = stubEndpointSlice(
      "s1", "svc", 8000,
      json::array({stubEndpoint("10.0.0.1", true, false, "zone-a"),
                   stubEndpoint("10.0.0.2", false, true, "zone-b"),
                   stubEndpoint("10.0.0.3", false, false, "zone-a")}));
  auto d = desiredFromSlices({slice}, 9000);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], (DesiredHost{"10.0.0.1:9000", "zone-a", false}));
  EXPECT_EQ(d[1], (DesiredHost{"10.0.0.2:9000", "zone-b", true}));
}

TEST(DesiredFromSlices, MissingConditionsMeanReadyAndDuplicatesPreferServing) {
  json a = stubEndpointSlice("a", "svc", 8000,
                             json::array({{{"addresses", json::array({"10.0.0.9"})}}}));
  json b = stubEndpointSlice("b", "svc", 8000,
                             json::array({stubEndpoint("10.0.0.9", false, true, "")}));
  json empty = stubEndpointSlice("c", "svc", 8000, nullptr);
  auto d = desiredFromSlices({b, a, empty}, 8000);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].draining);
  json v6 = stubEndpointSlice("v6", "svc", 8000, json::array({stubEndpoint("fd00::1", true,
                                                                           false, "")}));
  EXPECT_EQ(desiredFromSlices({v6}, 80)[0].address, "[fd00::1]:80");
}

TEST(SliceCache, AppliesAddModifyDeleteAndRejectsGarbage) {
  SliceCache c;
  c.replace({stubEndpointSlice("s1", "svc", 8000,
                               json::array({stubEndpoint("10.0.0.1", true, false, "")}))});
  ASSERT_TRUE(c.apply({{"type", "ADDED"},
                       {"object", stubEndpointSlice("s2", "svc", 8000,
                                                    json::array({stubEndpoint("10.0.0.2", true,
                                                                              false, "")}))}})
                  .isOk());
  EXPECT_EQ(c.desired(8000).size(), 2u);
  ASSERT_TRUE(c.apply({{"type", "MODIFIED"},
                       {"object", stubEndpointSlice("s1", "svc", 8000,
                                                    json::array({stubEndpoint("10.0.0.1", false,
                                                                              true, "")}))}})
                  .isOk());
  auto d = c.desired(8000);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[0].draining);
  ASSERT_TRUE(c.apply({{"type", "DELETED"}, {"object", stubEndpointSlice("s1", "svc", 8000,
                                                                           json::array())}})
                  .isOk());
  EXPECT_EQ(c.desired(8000).size(), 1u);
  EXPECT_TRUE(c.apply({{"type", "BOOKMARK"}, {"object", {{"metadata", json::object()}}}}).isOk());
  EXPECT_FALSE(c.apply({{"type", "ADDED"}}).isOk());
  EXPECT_FALSE(c.apply({{"type", "WEIRD"}, {"object", {{"metadata", {{"name", "x"}}}}}}).isOk());
  EXPECT_FALSE(c.apply(json::array()).isOk());
}

TEST(DiffHosts, AddsDrainsRemovesAndReAdds) {
  std::vector<CurrentHost> cur{{"a:1", false}, {"b:1", false}, {"c:1", false}, {"d:1", true}};
  std::vector<DesiredHost> want{{"a:1", "", false}, {"b:1", "", true}, {"d:1", "", false},
                                {"e:1", "z", false}};
  HostActions a = diffHosts(cur, want);
  ASSERT_EQ(a.add.size(), 2u);
  EXPECT_EQ(a.add[0].address, "d:1");  // back from draining
  EXPECT_EQ(a.add[1].address, "e:1");
  EXPECT_EQ(a.add[1].zone, "z");
  EXPECT_EQ(a.drain, std::vector<std::string>{"b:1"});
  EXPECT_EQ(a.remove, std::vector<std::string>{"c:1"});
  // Applying the same set again is a no-op.
  EXPECT_TRUE(diffHosts({{"a:1", false}, {"b:1", true}}, {{"a:1", "", false}, {"b:1", "", true}})
                  .empty());
  // A draining host that vanished is left to finish its drain.
  EXPECT_TRUE(diffHosts({{"b:1", true}}, {}).empty());
}

TEST(Backoff, GrowsExponentiallyWithJitterUpToTheCap) {
  Random r(42);
  BackoffPolicy p{std::chrono::milliseconds(100), std::chrono::seconds(2)};
  for (int attempt = 0; attempt < 10; ++attempt) {
    Duration full = std::min<Duration>(std::chrono::milliseconds(100) * (1 << attempt),
                                       std::chrono::seconds(2));
    for (int i = 0; i < 20; ++i) {
      Duration d = backoffDelay(p, attempt, r);
      EXPECT_GE(d, full / 2) << attempt;
      EXPECT_LE(d, full) << attempt;
    }
  }
  EXPECT_LE(backoffDelay(p, 1000, r), std::chrono::seconds(2));
}

}  // namespace
}  // namespace surge::k8s
