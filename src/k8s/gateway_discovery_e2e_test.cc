// End to end: `surge gateway` with backends_from kubernetes against the stub API server
// (tests/support/k8s_stub_api.h). Two `surge upstream` replicas appear in /backends as their
// endpoints turn ready; one turns terminating → it drains while requests are in flight, then
// vanishes. Real processes on 127.0.0.1, bounded in time, all stopped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/k8s_stub_api.h"
#include "support/wait.h"

namespace surge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::stubEndpoint;
using testing::stubEndpointSlice;

class GatewayDiscoveryE2E : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.stop();
    upstreams_.clear();
  }

  int startUpstream(const std::string& name, const std::string& listen) {
    upstreams_.push_back(std::make_unique<testing::ServerProcess>());
    EXPECT_TRUE(upstreams_.back()->start(
        {testing::surgeBinary(), "upstream", "--listen", listen, "--name", name},
        dir_.file(name + ".log"), "listening on", 10s));
    return upstreams_.back()->port();
  }

  json backends() {
    auto r = testing::httpGet(admin_port_, "/backends");
    if (r.status != 200) return json::object();
    return json::parse(r.body, nullptr, false);
  }

  // The /backends entry for `address`, or null.
  json backend(const std::string& address) {
    json b = backends();
    if (!b.is_object() || !b.contains("backends")) return nullptr;
    for (const auto& h : b["backends"]) {
      if (h["address"] == address) return h;
    }
    return nullptr;
  }

  template <typename F>
  ::testing::AssertionResult eventually(F f, std::chrono::milliseconds timeout = 15s) {
    return testing::waitUntil(f, timeout, 50ms);
  }

  std::string log() { return gateway_.log(); }

  testing::ScratchDir dir_{"k8s-e2e"};
  std::vector<std::unique_ptr<testing::ServerProcess>> upstreams_;
  testing::ServerProcess gateway_;
  int port_ = 0;
  int admin_port_ = 0;
};

TEST_F(GatewayDiscoveryE2E, EndpointsAppearDrainAndVanish) {
  testing::K8sStubApi stub;
  // Two replicas on the same port of two loopback addresses (the config has one backend port).
  int port = startUpstream("a", "127.0.0.1:0");
  ASSERT_GT(port, 0);
  int port_b = startUpstream("b", "127.0.0.2:" + std::to_string(port));
  if (port_b != port) GTEST_SKIP() << "port " << port << " is taken on 127.0.0.2";
  const std::string a = "127.0.0.1:" + std::to_string(port);
  const std::string b = "127.0.0.2:" + std::to_string(port);

  // Only a is ready at first; b is starting (ready: false).
  stub.putEndpointSlice("surge", stubEndpointSlice("model-server-x1", "model-server", port,
                                                   json::array({stubEndpoint("127.0.0.1", true,
                                                                             false, "zone-a"),
                                                                stubEndpoint("127.0.0.2", false,
                                                                             false, "zone-b")})));
  std::string kubeconfig = dir_.write(
      "kubeconfig", "apiVersion: v1\nkind: Config\ncurrent-context: stub\n"
                    "contexts: [{name: stub, context: {cluster: stub, user: gw}}]\n"
                    "clusters: [{name: stub, cluster: {server: \"" +
                        stub.url() + "\"}}]\nusers: [{name: gw, user: {token: gw-token}}]\n");
  stub.requireToken("gw-token");
  ASSERT_TRUE(testing::startGateway(
      gateway_, dir_,
      "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: 1\n"
      "algorithm: round_robin\nretries: 0\ndrain_timeout: 20s\n"
      "backends_from:\n  kubernetes:\n    namespace: surge\n"
      "    service: model-server\n    port: " +
          std::to_string(port) + "\n    kubeconfig: " + kubeconfig + "\n"));
  port_ = gateway_.port();
  admin_port_ = gateway_.portAfter("admin");

  // a appears (zone from the endpoint); b is not ready yet.
  ASSERT_TRUE(eventually([&] { return !backend(a).is_null(); })) << log();
  EXPECT_EQ(backend(a)["zone"], "zone-a");
  EXPECT_TRUE(backend(b).is_null());

  // b turns ready → both backends.
  stub.putEndpointSlice("surge", stubEndpointSlice("model-server-x1", "model-server", port,
                                                   json::array({stubEndpoint("127.0.0.1", true,
                                                                             false, "zone-a"),
                                                                stubEndpoint("127.0.0.2", true,
                                                                             false, "zone-b")})));
  ASSERT_TRUE(eventually([&] { return !backend(b).is_null(); })) << log();
  EXPECT_EQ(backends()["backends"].size(), 2u);

  // Requests in flight on both (round robin over 4 slow requests), then a terminates.
  std::vector<std::future<testing::HttpResult>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::async(std::launch::async, [this] {
      return testing::httpGet(port_, "/delay/3000", 20s);
    }));
  }
  ASSERT_TRUE(eventually([&] {
    json ha = backend(a);
    return !ha.is_null() && ha["in_flight"].get<int>() > 0;
  })) << log();
  stub.putEndpointSlice("surge", stubEndpointSlice("model-server-x1", "model-server", port,
                                                   json::array({stubEndpoint("127.0.0.1", false,
                                                                             true, "zone-a"),
                                                                stubEndpoint("127.0.0.2", true,
                                                                             false, "zone-b")})));
  ASSERT_TRUE(eventually([&] {
    json ha = backend(a);
    return !ha.is_null() && ha["draining"] == true;
  }, 10s)) << log();
  // New requests go to b only while a drains.
  auto r = testing::httpGet(port_, "/", 5s);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"b\""), std::string::npos) << r.body;
  // In-flight requests on a complete, then a vanishes.
  for (auto& f : slow) EXPECT_EQ(f.get().status, 200);
  ASSERT_TRUE(eventually([&] { return backend(a).is_null(); })) << log();
  EXPECT_FALSE(backend(b).is_null());

  // The slice is deleted → no backends; the gateway logged each change.
  stub.deleteEndpointSlice("surge", "model-server-x1");
  ASSERT_TRUE(eventually([&] { return backends()["backends"].empty(); })) << log();
  EXPECT_NE(log().find("discovery: drain " + a), std::string::npos) << log();
  EXPECT_GE(stub.count("GET", "watch=1"), 1);
  for (const auto& req : stub.requests()) EXPECT_EQ(req.authorization, "Bearer gw-token");
}

TEST_F(GatewayDiscoveryE2E, ConfigErrorsExitTwo) {
  std::string config = dir_.write("gateway.yaml",
                                  "listen: 127.0.0.1:0\nadmin: off\n"
                                  "backends: [127.0.0.1:9]\n"
                                  "backends_from: {kubernetes: {service: s, port: 80}}\n");
  std::string errlog = dir_.file("err.log");
  EXPECT_EQ(testing::runToExit({testing::surgeBinary(), "gateway", "--config", config}, errlog, 15s),
            2);
  std::string text = testing::readFile(errlog);
  EXPECT_NE(text.find("gateway.yaml:4:"), std::string::npos) << text;
  EXPECT_NE(text.find("mutually exclusive"), std::string::npos) << text;
}

}  // namespace
}  // namespace surge
