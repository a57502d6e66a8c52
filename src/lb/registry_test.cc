#include <gtest/gtest.h>

#include "lb/balancer.h"

namespace surge::lb {
namespace {

TEST(RegistryTest, NamesInRegistryOrder) {
  EXPECT_EQ(balancerNames(),
            (std::vector<std::string>{"round_robin", "weighted", "random", "least_connections",
                                      "power_of_two", "least_latency", "consistent_hash"}));
}

TEST(RegistryTest, BuildsEveryRegisteredAlgorithm) {
  Random random(1);
  for (const std::string& name : balancerNames()) {
    BalancerOptions o;
    o.algorithm = name;
    auto b = makeBalancer(o, &random);
    ASSERT_TRUE(b.isOk()) << name << ": " << b.status().toString();
    EXPECT_NE(b.value(), nullptr);
  }
  EXPECT_TRUE(validateBalancerOptions(BalancerOptions{}).isOk()) << "defaults are valid";
}

TEST(RegistryTest, UnknownAlgorithmListsTheValidNames) {
  BalancerOptions o;
  o.algorithm = "fastest";
  auto b = makeBalancer(o, nullptr);
  ASSERT_FALSE(b.isOk());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("\"fastest\""), std::string::npos);
  for (const std::string& name : balancerNames()) {
    EXPECT_NE(b.status().message().find(name), std::string::npos) << name;
  }
}

Status withOptions(void (*edit)(BalancerOptions&)) {
  BalancerOptions o;
  o.algorithm = "consistent_hash";
  edit(o);
  return validateBalancerOptions(o);
}

TEST(RegistryTest, RejectsBadOptionsWithAClearMessage) {
  const Status factor = withOptions([](BalancerOptions& o) { o.hash_balance_factor = 0.9; });
  EXPECT_EQ(factor.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(factor.message().find("hash_balance_factor"), std::string::npos);
  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.hash_balance_factor = 1.0; }).isOk());
  EXPECT_TRUE(withOptions([](BalancerOptions& o) { o.hash_balance_factor = 1.25; }).isOk());
  EXPECT_TRUE(withOptions([](BalancerOptions& o) { o.hash_balance_factor = 0; }).isOk());

  const Status table = withOptions([](BalancerOptions& o) { o.maglev_table_size = 65536; });
  EXPECT_EQ(table.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(table.message().find("maglev_table_size"), std::string::npos);
  EXPECT_NE(table.message().find("65536"), std::string::npos);
  EXPECT_TRUE(withOptions([](BalancerOptions& o) { o.maglev_table_size = 655373; }).isOk());
  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.maglev_table_size = 0; }).isOk());

  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.hash_method = "rendezvous"; }).isOk());
  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.ring_vnodes_per_weight = 0; }).isOk());
  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.ewma_tau = Duration(0); }).isOk());
  EXPECT_FALSE(withOptions([](BalancerOptions& o) { o.default_rtt = Duration(-1); }).isOk());
  BalancerOptions bad;
  bad.hash_balance_factor = 0.5;
  EXPECT_FALSE(makeBalancer(bad, nullptr).isOk()) << "makeBalancer validates too";
}

}  // namespace
}  // namespace surge::lb
