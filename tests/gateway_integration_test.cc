// End-to-end tests of `surge gateway` with real processes on 127.0.0.1: demo replicas
// (`surge upstream`), the gateway, and clients over real sockets. Every process is stopped by the
// fixture; every wait is bounded.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class GatewayIntegration : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.stop();
    upstreams_.clear();
  }

  // Starts a demo replica; returns its port.
  int startUpstream(const std::string& name, std::vector<std::string> extra = {}) {
    upstreams_.push_back(std::make_unique<ServerProcess>());
    EXPECT_TRUE(testing::startUpstream(*upstreams_.back(), dir_, name, extra));
    return upstreams_.back()->port();
  }

  // Starts the gateway on `yaml` (after the local listen/admin/workers lines).
  void startGateway(const std::string& yaml) {
    ASSERT_TRUE(testing::startGateway(gateway_, dir_, kLocalGateway + yaml));
    port_ = gateway_.port();
    admin_port_ = gateway_.portAfter("admin");
    ASSERT_GT(admin_port_, 0) << gateway_.line();
  }

  std::string gatewayLog() { return gateway_.log(); }

  // Which replica answered (the demo upstream names itself in the body).
  static std::string upstreamName(const HttpResult& r) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("upstream")) return "?";
    return j["upstream"].get<std::string>();
  }

  json backends() {
    auto r = httpGet(admin_port_, "/backends");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  // Requests in flight over every backend, from the admin API.
  int inFlight() {
    int n = 0;
    json all = backends();
    if (!all.is_object() || !all.contains("backends")) return 0;
    for (const auto& b : all["backends"]) n += b.value("in_flight", 0);
    return n;
  }

  ScratchDir dir_{"it"};
  std::vector<std::unique_ptr<ServerProcess>> upstreams_;
  ServerProcess gateway_;
  int port_ = 0;
  int admin_port_ = 0;
};

// ---- distribution, per algorithm ---------------------------------------------------------------

class Distribution : public GatewayIntegration,
                     public ::testing::WithParamInterface<std::string> {};

TEST_P(Distribution, SpreadsOverEveryReplica) {
  std::vector<int> ports = {startUpstream("r1"), startUpstream("r2"), startUpstream("r3")};
  startGateway("algorithm: " + GetParam() + "\n" + backendsYaml(ports));
  // Six concurrent clients, as real traffic: the load-aware algorithms (least_latency,
  // least_connections, power_of_two) spread by in-flight counts, not by sequence.
  std::map<std::string, int> counts;
  std::mutex mu;
  const int n = 300, clients = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < n; i += clients) {
        // consistent_hash: a different key per request spreads; no key would use least-connections.
        auto r =
            httpRequest(port_, "GET", "/delay/2", {{"X-Session-Id", "user-" + std::to_string(i)}});
        if (r.status != 200) failed++;
        std::lock_guard lock(mu);
        counts[upstreamName(r)]++;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failed.load(), 0);
  ASSERT_EQ(counts.size(), 3u) << "not every replica got traffic";
  for (const auto& [name, c] : counts) {
    EXPECT_GT(c, n / 10) << name << " got too little traffic";
    if (GetParam() == "round_robin" || GetParam() == "weighted") {
      EXPECT_NEAR(c, n / 3, 2) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, Distribution,
                         ::testing::Values("round_robin", "least_connections", "weighted",
                                           "consistent_hash", "least_latency", "random",
                                           "power_of_two"));

TEST_F(GatewayIntegration, ConsistentHashKeepsAKeyOnOneReplica) {
  std::vector<int> ports = {startUpstream("r1"), startUpstream("r2"), startUpstream("r3")};
  startGateway("algorithm: consistent_hash\n" + backendsYaml(ports));
  for (int k = 0; k < 20; ++k) {
    std::string first;
    for (int i = 0; i < 5; ++i) {
      auto r = httpRequest(port_, "GET", "/", {{"X-Session-Id", "key-" + std::to_string(k)}});
      ASSERT_EQ(r.status, 200);
      if (i == 0) first = upstreamName(r);
      EXPECT_EQ(upstreamName(r), first) << "key-" << k << " moved";
    }
  }
}

TEST_F(GatewayIntegration, WeightedFollowsWeights) {
  std::vector<int> ports = {startUpstream("a"), startUpstream("b")};
  startGateway(
      "algorithm: weighted\nbackends:\n  - {address: 127.0.0.1:" + std::to_string(ports[0]) +
      ", weight: 3}\n  - {address: 127.0.0.1:" + std::to_string(ports[1]) + ", weight: 1}\n");
  std::map<std::string, int> counts;
  for (int i = 0; i < 200; ++i) counts[upstreamName(httpGet(port_, "/"))]++;
  EXPECT_NEAR(counts["a"], 150, 4);
  EXPECT_NEAR(counts["b"], 50, 4);
}

// ---- failures ----------------------------------------------------------------------------------

TEST_F(GatewayIntegration, KillingOneOfThreeReplicasUnderLoadFailsNoRequest) {
  std::vector<int> ports = {startUpstream("r1"), startUpstream("r2"), startUpstream("r3")};
  startGateway("algorithm: round_robin\n" + backendsYaml(ports));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::string> failures;
  std::mutex mu;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        auto r = httpGet(port_, "/delay/5", 3000ms);
        if (r.status == 200) {
          ok++;
        } else {
          failed++;
          std::lock_guard lock(mu);
          failures.push_back(std::to_string(r.status) + " " + r.error + " " + r.body);
        }
      }
    });
  }
  // Load flows through all three, then one is killed; a few hundred more requests (a third of
  // them due at the dead replica by round robin) must all succeed.
  EXPECT_TRUE(waitUntil([&] { return ok.load() >= 100; }, 10s, 5ms, "100 requests before the kill"));
  upstreams_[1]->signal(SIGKILL);
  const int at_kill = ok.load();
  EXPECT_TRUE(waitUntil([&] { return ok.load() + failed.load() >= at_kill + 300; }, 20s, 5ms,
                        "300 requests after the kill"));
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0) << (failures.empty() ? "" : failures.front());
}

TEST_F(GatewayIntegration, HungReplicaGets504WithinTheTimeoutAndIsMarkedDown) {
  int hung = startUpstream("hung");
  startGateway(
      "algorithm: round_robin\ntimeouts: {request: 300ms}\n"
      "health_check: {path: /hang, interval: 100ms, timeout: 100ms, unhealthy_threshold: 2}\n" +
      backendsYaml({hung}));
  auto r = httpGet(port_, "/hang", 5000ms);
  EXPECT_EQ(r.status, 504) << r.error << r.body;
  EXPECT_LT(r.seconds, 1.0);
  EXPECT_GE(r.seconds, 0.25);
  // The active check (which also hangs) marks it down within a bounded time.
  EXPECT_TRUE(waitUntil([&] { return backends()["backends"][0]["health"] == "unhealthy"; }, 2s,
                        50ms, "backend marked unhealthy"))
      << backends().dump();
}

TEST_F(GatewayIntegration, NoHealthyReplicaGives503AtOnce) {
  // A port nobody listens on, found by binding and closing.
  int dead = startUpstream("dead");
  upstreams_.back()->stop();
  startGateway(
      "algorithm: least_latency\n"
      "health_check: {interval: 50ms, timeout: 50ms, unhealthy_threshold: 1}\n" +
      backendsYaml({dead}));
  ASSERT_TRUE(waitUntil([&] { return backends()["backends"][0]["health"] == "unhealthy"; }, 3s,
                        50ms, "backend marked unhealthy"))
      << backends().dump();
  // "At once": the median of several requests (connect included) is under 10 ms; a single one may
  // be descheduled on a loaded CI machine.
  std::vector<double> seconds;
  for (int i = 0; i < 7; ++i) {
    auto r = httpGet(port_, "/");
    EXPECT_EQ(r.status, 503) << r.body;
    seconds.push_back(r.seconds);
    auto body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error")) << r.body;
  }
  std::sort(seconds.begin(), seconds.end());
  EXPECT_LT(seconds[3], 0.010);
}

TEST_F(GatewayIntegration, EmptyBackendSetGives503) {
  startGateway("algorithm: round_robin\n");
  std::vector<double> seconds;
  for (int i = 0; i < 7; ++i) {
    auto r = httpGet(port_, "/");
    EXPECT_EQ(r.status, 503);
    seconds.push_back(r.seconds);
  }
  std::sort(seconds.begin(), seconds.end());
  EXPECT_LT(seconds[3], 0.010);
}

// ---- admin API ---------------------------------------------------------------------------------

TEST_F(GatewayIntegration, DrainThroughTheAdminApi) {
  std::vector<int> ports = {startUpstream("r1"), startUpstream("r2")};
  startGateway("algorithm: round_robin\n" + backendsYaml(ports));
  std::string r2 = "127.0.0.1:" + std::to_string(ports[1]);
  // Slow requests until r2 has some in flight (each worker's round robin starts at random).
  std::vector<std::thread> slow;
  std::vector<HttpResult> slow_results(6);
  for (int i = 0; i < 6; ++i) {
    slow.emplace_back([&, i] { slow_results[i] = httpGet(port_, "/delay/800", 5000ms); });
  }
  EXPECT_TRUE(waitUntil(
      [&] {
        json all = backends();
        for (const auto& b : all["backends"]) {
          if (b["address"] == r2 && b["in_flight"].get<int>() > 0) return true;
        }
        return false;
      },
      600ms, 10ms, "a request in flight on r2"))
      << backends().dump();
  auto del = httpRequest(admin_port_, "DELETE", "/backends/" + r2 + "?drain=true");
  EXPECT_EQ(del.status, 202) << del.body;
  // New requests all go to r1.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(upstreamName(httpGet(port_, "/")), "r1");
  for (auto& t : slow) t.join();
  for (const auto& r : slow_results) EXPECT_EQ(r.status, 200) << r.error;
  // Once its request finished, r2 is gone.
  EXPECT_TRUE(waitUntil([&] { return backends()["backends"].size() == 1; }, 2s, 50ms,
                        "r2 removed after its drain"))
      << backends().dump();
}

TEST_F(GatewayIntegration, AdminApiAddsPatchesAndRejectsBadInput) {
  int p1 = startUpstream("r1");
  startGateway("algorithm: weighted\n");
  std::string addr = "127.0.0.1:" + std::to_string(p1);
  auto add = httpRequest(admin_port_, "POST", "/backends", {{"Content-Type", "application/json"}},
                         R"({"address":")" + addr + R"(","weight":3,"zone":"a"})");
  EXPECT_EQ(add.status, 201) << add.body;
  EXPECT_EQ(upstreamName(httpGet(port_, "/")), "r1");
  EXPECT_EQ(
      httpRequest(admin_port_, "POST", "/backends", {}, R"({"address":")" + addr + R"("})").status,
      409);
  EXPECT_EQ(httpRequest(admin_port_, "POST", "/backends", {}, "{not json").status, 400);
  EXPECT_EQ(httpRequest(admin_port_, "POST", "/backends", {}, R"({"address":"nope"})").status, 400);
  EXPECT_EQ(httpRequest(admin_port_, "PATCH", "/backends/" + addr, {}, R"({"weight":0})").status,
            400);
  auto patch = httpRequest(admin_port_, "PATCH", "/backends/" + addr, {}, R"({"weight":7})");
  EXPECT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(json::parse(patch.body)["weight"], 7);
  EXPECT_EQ(httpRequest(admin_port_, "DELETE", "/backends/127.0.0.1:1").status, 404);
  auto bad = httpGet(admin_port_, "/nope");
  EXPECT_EQ(bad.status, 404);
  EXPECT_TRUE(json::parse(bad.body, nullptr, false).contains("error"));
}

// ---- bad clients -------------------------------------------------------------------------------

TEST_F(GatewayIntegration, BadClientsGetTheir4xxAndOthersAreServed) {
  int p1 = startUpstream("r1");
  startGateway("algorithm: round_robin\nmax_body_size: 1KiB\ntimeouts: {header: 500ms}\n" +
               backendsYaml({p1}));
  // Slow-loris: a connection that sends half a head and stalls.
  int loris = connectTo(port_);
  ASSERT_GE(loris, 0);
  ASSERT_TRUE(sendAll(loris, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // Others are served meanwhile.
  EXPECT_EQ(httpGet(port_, "/").status, 200);
  std::string loris_answer = readFor(loris, 3000ms);
  close(loris);
  EXPECT_NE(loris_answer.find(" 408 "), std::string::npos) << loris_answer;

  int fd = connectTo(port_);
  ASSERT_TRUE(sendAll(fd, "THIS IS NOT HTTP\r\n\r\n"));
  std::string malformed = readFor(fd, 2000ms);
  close(fd);
  EXPECT_NE(malformed.find(" 400 "), std::string::npos) << malformed;
  EXPECT_NE(malformed.find("\"error\""), std::string::npos) << malformed;

  auto big_headers = httpRequest(port_, "GET", "/", {{"X-Big", std::string(70 * 1024, 'x')}});
  EXPECT_EQ(big_headers.status, 431);
  auto big_body = httpRequest(port_, "POST", "/", {}, std::string(4096, 'y'));
  EXPECT_EQ(big_body.status, 413);
  EXPECT_EQ(httpGet(port_, "/").status, 200);
}

// ---- streaming and shutdown --------------------------------------------------------------------

TEST_F(GatewayIntegration, ServerSentEventsArriveOneByOne) {
  int p1 = startUpstream("r1");
  startGateway("algorithm: round_robin\n" + backendsYaml({p1}));
  int fd = connectTo(port_);
  ASSERT_TRUE(
      sendAll(fd, "GET /sse?n=3&interval_ms=300 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  // The first event must arrive long before the last one is produced (~900 ms).
  auto t0 = std::chrono::steady_clock::now();
  std::string first = readFor(fd, 400ms);
  double first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(first.find("data:"), std::string::npos) << "no event within 400 ms: " << first;
  std::string rest = readFor(fd, 3000ms);
  close(fd);
  std::string all = first + rest;
  size_t events = 0;
  for (size_t p = all.find("data:"); p != std::string::npos; p = all.find("data:", p + 1)) events++;
  EXPECT_EQ(events, 3u) << all;
  EXPECT_LT(first_s, 0.6);
}

TEST_F(GatewayIntegration, SigtermFinishesRequestsInFlight) {
  int p1 = startUpstream("r1");
  startGateway("algorithm: round_robin\n" + backendsYaml({p1}));
  std::vector<std::thread> clients;
  std::vector<HttpResult> results(6);
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&, i] { results[i] = httpGet(port_, "/delay/700", 5000ms); });
  }
  // SIGTERM once all six are in flight (the admin API counts them).
  ASSERT_TRUE(waitUntil([&] { return inFlight() == 6; }, 5s, 10ms, "6 requests in flight"))
      << backends().dump();
  gateway_.signal(SIGTERM);
  for (auto& c : clients) c.join();
  for (const auto& r : results) EXPECT_EQ(r.status, 200) << r.error;
  auto code = gateway_.wait(5000ms);
  ASSERT_TRUE(code.has_value()) << "gateway did not exit";
  EXPECT_EQ(*code, 0);
  // It stopped accepting.
  EXPECT_EQ(httpGet(port_, "/", 500ms).status, 0);
}

TEST_F(GatewayIntegration, MetricsPassPromtool) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::vector<int> ports = {startUpstream("r1"), startUpstream("r2")};
  startGateway("algorithm: least_latency\n" + backendsYaml(ports));
  for (int i = 0; i < 20; ++i) httpGet(port_, "/");
  httpGet(port_, "/status/500");
  auto m = httpGet(admin_port_, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("surge_gateway_requests_total"), std::string::npos);
  std::string file = dir_.file("metrics.txt");
  std::ofstream(file) << m.body;
  std::string out_file = dir_.file("promtool.out");
  int rc = std::system(
      ("/usr/bin/promtool check metrics < " + file + " > " + out_file + " 2>&1").c_str());
  std::ifstream in(out_file);
  std::string out((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << out;
}

}  // namespace
}  // namespace surge::testing
