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

#include "support/http_client.h"
#include "support/k8s_stub_api.h"
#include "support/process.h"

namespace surge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::Process;
using testing::stubEndpoint;
using testing::stubEndpointSlice;

class GatewayDiscoveryE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-k8s-e2e-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (gateway_) gateway_->stop();
    for (auto& u : upstreams_) u->stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int startUpstream(const std::string& name, const std::string& listen) {
    auto p = std::make_unique<Process>();
    std::string err;
    EXPECT_TRUE(p->start({testing::surgeBinary(), "upstream", "--listen", listen, "--name", name},
                         &err, (dir_ / (name + ".log")).string()))
        << err;
    auto line = p->waitForLine("listening on", 10s);
    EXPECT_TRUE(line.has_value()) << "upstream " << name << " did not start";
    int port = line ? testing::portFromLine(*line) : -1;
    upstreams_.push_back(std::move(p));
    return port;
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
  bool eventually(F f, std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return f();
  }

  std::string log() {
    std::ifstream in(dir_ / "gateway.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<Process>> upstreams_;
  std::unique_ptr<Process> gateway_;
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
  std::string kubeconfig = (dir_ / "kubeconfig").string();
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: stub\n"
                            << "contexts: [{name: stub, context: {cluster: stub, user: gw}}]\n"
                            << "clusters: [{name: stub, cluster: {server: \"" << stub.url()
                            << "\"}}]\nusers: [{name: gw, user: {token: gw-token}}]\n";
  stub.requireToken("gw-token");
  std::string config = (dir_ / "gateway.yaml").string();
  std::ofstream(config) << "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: 1\n"
                        << "algorithm: round_robin\nretries: 0\ndrain_timeout: 20s\n"
                        << "backends_from:\n  kubernetes:\n    namespace: surge\n"
                        << "    service: model-server\n    port: " << port
                        << "\n    kubeconfig: " << kubeconfig << "\n";
  gateway_ = std::make_unique<Process>();
  std::string err;
  ASSERT_TRUE(gateway_->start({testing::surgeBinary(), "gateway", "--config", config}, &err,
                              (dir_ / "gateway.log").string()))
      << err;
  auto line = gateway_->waitForLine("listening on", 15s);
  ASSERT_TRUE(line.has_value()) << "gateway did not start; log:\n" << log();
  port_ = testing::portFromLine(*line, "listening on");
  admin_port_ = testing::portFromLine(*line, "admin");

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
  std::string config = (dir_ / "gateway.yaml").string();
  std::ofstream(config) << "listen: 127.0.0.1:0\nadmin: off\n"
                        << "backends: [127.0.0.1:9]\n"
                        << "backends_from: {kubernetes: {service: s, port: 80}}\n";
  Process p;
  std::string err;
  std::string errlog = (dir_ / "err.log").string();
  ASSERT_TRUE(p.start({testing::surgeBinary(), "gateway", "--config", config}, &err, errlog));
  auto rc = p.wait(15s);
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 2);
  std::ifstream in(errlog);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("gateway.yaml:4:"), std::string::npos) << text;
  EXPECT_NE(text.find("mutually exclusive"), std::string::npos) << text;
}

}  // namespace
}  // namespace surge
