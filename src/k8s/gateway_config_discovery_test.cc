// gateway.yaml `backends_from` (parsed in gateway/gateway_config.cc, driven by k8s/).
#include <gtest/gtest.h>

#include "config/node.h"
#include "gateway/gateway_config.h"

namespace surge::gateway {
namespace {

StatusOr<GatewayConfig> parse(const std::string& yaml) {
  auto n = config::Node::loadString(yaml, "gateway.yaml");
  if (!n.isOk()) return n.status();
  return parseGatewayConfig(*n);
}

TEST(BackendsFrom, KubernetesAsInTheManifests) {
  auto c = parse("backends_from:\n  kubernetes:\n    namespace: surge\n    service: model-server\n"
                 "    port: 8000\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->backends_from.kind, BackendsFrom::Kind::kKubernetes);
  EXPECT_EQ(c->backends_from.ns, "surge");
  EXPECT_EQ(c->backends_from.service, "model-server");
  EXPECT_EQ(c->backends_from.port, 8000);
  EXPECT_EQ(c->backends_from.in_cluster, "auto");
  EXPECT_TRUE(c->backends.empty());
}

TEST(BackendsFrom, Dns) {
  auto c = parse("backends_from: {dns: {name: model-server.surge.svc, port: 8000, interval: 2s}}");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->backends_from.kind, BackendsFrom::Kind::kDns);
  EXPECT_EQ(c->backends_from.dns_name, "model-server.surge.svc");
  EXPECT_EQ(c->backends_from.interval, std::chrono::seconds(2));
}

TEST(BackendsFrom, AbsentMeansStatic) {
  auto c = parse("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->backends_from.kind, BackendsFrom::Kind::kNone);
}

TEST(BackendsFrom, ErrorsNameLineAndField) {
  auto both = parse("backends: [127.0.0.1:8001]\nbackends_from: {dns: {name: x, port: 1}}\n");
  ASSERT_FALSE(both.isOk());
  EXPECT_NE(both.status().message().find("gateway.yaml:2:"), std::string::npos)
      << both.status().message();
  EXPECT_NE(both.status().message().find("mutually exclusive"), std::string::npos);

  auto two = parse("backends_from: {dns: {name: x, port: 1}, kubernetes: {service: s, port: 1}}");
  EXPECT_FALSE(two.isOk());
  auto no_port = parse("backends_from:\n  kubernetes: {service: s}\n");
  ASSERT_FALSE(no_port.isOk());
  EXPECT_NE(no_port.status().message().find("port"), std::string::npos);
  auto typo = parse("backends_from:\n  kubernetes: {service: s, port: 80, namespce: x}\n");
  ASSERT_FALSE(typo.isOk());
  EXPECT_NE(typo.status().message().find("namespace"), std::string::npos)
      << typo.status().message();
  auto bad_port = parse("backends_from: {kubernetes: {service: s, port: 70000}}");
  EXPECT_FALSE(bad_port.isOk());
  auto fast = parse("backends_from: {dns: {name: x, port: 1, interval: 1ms}}");
  EXPECT_FALSE(fast.isOk());
  auto unknown = parse("backends_from: {consul: {}}");
  EXPECT_FALSE(unknown.isOk());
}

}  // namespace
}  // namespace surge::gateway
