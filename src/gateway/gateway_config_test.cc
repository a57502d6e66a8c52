// gateway.yaml `timeouts` (per_try in particular): parsed values, defaults, and errors naming
// file:line:col and the field.
#include <gtest/gtest.h>

#include "config/node.h"
#include "gateway/gateway_config.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;

StatusOr<GatewayConfig> parse(const std::string& yaml) {
  auto n = config::Node::loadString(yaml, "gateway.yaml");
  if (!n.isOk()) return n.status();
  return parseGatewayConfig(*n);
}

TEST(GatewayConfigTimeouts, PerTryIsOffByDefault) {
  auto c = parse("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->per_try_timeout, Duration::zero());
  auto t = parse("timeouts: {connect: 2s}\n");
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->per_try_timeout, Duration::zero());
  EXPECT_EQ(t->connect_timeout, 2s);
}

TEST(GatewayConfigTimeouts, PerTryParses) {
  auto c = parse("retries: 2\ntimeouts: {per_try: 1s, request: 30s}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->per_try_timeout, 1s);
  EXPECT_EQ(c->request_timeout, 30s);
  EXPECT_TRUE(validateGatewayConfig(*c).isOk());
  auto ms = parse("timeouts:\n  per_try: 250ms\n");
  ASSERT_TRUE(ms.isOk());
  EXPECT_EQ(ms->per_try_timeout, 250ms);
}

TEST(GatewayConfigTimeouts, PerTryZeroOrOffDisables) {
  for (const char* v : {"0", "0s", "off", "none"}) {
    auto c = parse(std::string("timeouts: {per_try: ") + v + "}\n");
    ASSERT_TRUE(c.isOk()) << v << ": " << c.status().message();
    EXPECT_EQ(c->per_try_timeout, Duration::zero()) << v;
  }
}

TEST(GatewayConfigTimeouts, PerTryErrorsNameTheField) {
  auto neg = parse("timeouts:\n  per_try: -1s\n");
  ASSERT_FALSE(neg.isOk());
  EXPECT_NE(neg.status().message().find("gateway.yaml:2:"), std::string::npos)
      << neg.status().message();
  EXPECT_NE(neg.status().message().find("per_try"), std::string::npos) << neg.status().message();

  auto tiny = parse("timeouts: {per_try: 10us}\n");
  ASSERT_FALSE(tiny.isOk());
  EXPECT_NE(tiny.status().message().find("at least 1ms"), std::string::npos);

  auto junk = parse("timeouts: {per_try: soon}\n");
  ASSERT_FALSE(junk.isOk());
  EXPECT_NE(junk.status().message().find("per_try"), std::string::npos);

  auto over = parse("timeouts: {per_try: 2m, request: 60s}\n");
  ASSERT_FALSE(over.isOk());
  EXPECT_NE(over.status().message().find("must not exceed timeouts.request"), std::string::npos)
      << over.status().message();

  auto typo = parse("timeouts: {per_try_timeout: 1s}\n");
  ASSERT_FALSE(typo.isOk());
  EXPECT_NE(typo.status().message().find("per_try_timeout"), std::string::npos);

  auto not_map = parse("timeouts: 1s\n");
  ASSERT_FALSE(not_map.isOk());
}

TEST(GatewayConfigTimeouts, ValidateRejectsPerTryAboveTheRequestTimeout) {
  GatewayConfig c;
  c.per_try_timeout = 2s;
  c.request_timeout = 1s;
  EXPECT_FALSE(validateGatewayConfig(c).isOk());
  c.per_try_timeout = 1s;
  EXPECT_TRUE(validateGatewayConfig(c).isOk());
}

}  // namespace
}  // namespace surge::gateway
