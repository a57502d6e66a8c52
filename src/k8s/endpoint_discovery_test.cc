// EndpointSlice list/watch against the stub API server: initial list, watch events, terminating →
// draining, 410 Gone → re-list, closed watches and API errors → reconnect with backoff; DNS.
#include "k8s/endpoint_discovery.h"

#include <gtest/gtest.h>

#include <condition_variable>

#include "support/k8s_stub_api.h"
#include "support/wait.h"

namespace surge::k8s {
namespace {

using nlohmann::json;
using testing::stubEndpoint;
using testing::stubEndpointSlice;

// Collects reported sets; waitFor polls with a deadline (no fixed sleeps).
class Sets {
 public:
  void push(const std::vector<DesiredHost>& s) {
    std::lock_guard<std::mutex> lock(mu_);
    sets_.push_back(s);
    cv_.notify_all();
  }
  bool waitFor(const std::function<bool(const std::vector<DesiredHost>&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !sets_.empty() && pred(sets_.back()); });
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return sets_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<DesiredHost>> sets_;
};

bool hasHost(const std::vector<DesiredHost>& s, const std::string& a, bool draining) {
  for (const auto& h : s) {
    if (h.address == a) return h.draining == draining;
  }
  return false;
}

template <typename F>
::testing::AssertionResult eventually(F f,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return testing::waitUntil(f, timeout, std::chrono::milliseconds(10));
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiConfig c;
    c.server = stub_.url();
    c.timeout = std::chrono::seconds(5);
    api_ = std::make_shared<ApiClient>(c);
    stub_.putEndpointSlice("surge", stubEndpointSlice("model-abc", "model-server", 8000,
                                                      json::array({stubEndpoint(
                                                          "10.0.0.1", true, false, "a")})));
    // A slice of another Service must be ignored.
    stub_.putEndpointSlice("surge", stubEndpointSlice("other-x", "other", 8000,
                                                      json::array({stubEndpoint(
                                                          "10.9.9.9", true, false, "a")})));
  }
  std::unique_ptr<EndpointSliceWatcher> watcher() {
    EndpointSliceWatchOptions o;
    o.ns = "surge";
    o.service = "model-server";
    o.port = 8000;
    o.backoff = {std::chrono::milliseconds(20), std::chrono::milliseconds(200)};
    o.seed = 7;
    auto w = std::make_unique<EndpointSliceWatcher>(
        api_, o, [this](const std::vector<DesiredHost>& s) { sets_.push(s); });
    w->start();
    return w;
  }

  testing::K8sStubApi stub_;
  std::shared_ptr<ApiClient> api_;
  Sets sets_;
};

TEST_F(DiscoveryTest, ListThenWatchFollowsTheService) {
  auto w = watcher();
  ASSERT_TRUE(sets_.waitFor([](const auto& s) {
    return s.size() == 1 && hasHost(s, "10.0.0.1:8000", false) && s[0].zone == "a";
  }));
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  stub_.putEndpointSlice("surge", stubEndpointSlice("model-def", "model-server", 8000,
                                                    json::array({stubEndpoint("10.0.0.2", true,
                                                                              false, "b")})));
  ASSERT_TRUE(sets_.waitFor([](const auto& s) {
    return s.size() == 2 && hasHost(s, "10.0.0.2:8000", false);
  }));
  // The watch resumed from the list's resourceVersion with the service's selector.
  auto reqs = stub_.requests();
  bool saw_watch = false;
  for (const auto& r : reqs) {
    if (r.target.find("watch=1") != std::string::npos) {
      saw_watch = true;
      EXPECT_NE(r.target.find("labelSelector=kubernetes.io%2Fservice-name%3Dmodel-server"),
                std::string::npos)
          << r.target;
      EXPECT_NE(r.target.find("resourceVersion="), std::string::npos);
      EXPECT_NE(r.target.find("allowWatchBookmarks=true"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_watch);
}

TEST_F(DiscoveryTest, TerminatingEndpointDrainsThenVanishes) {
  auto w = watcher();
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return hasHost(s, "10.0.0.1:8000", false); }));
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  stub_.putEndpointSlice("surge", stubEndpointSlice("model-abc", "model-server", 8000,
                                                    json::array({stubEndpoint("10.0.0.1", false,
                                                                              true, "a")})));
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return hasHost(s, "10.0.0.1:8000", true); }));
  stub_.deleteEndpointSlice("surge", "model-abc");
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.empty(); }));
}

TEST_F(DiscoveryTest, GoneErrorEventReLists) {
  auto w = watcher();
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.size() == 1; }));
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  // History moves on (another Service's slice, which this watch does not see) and is compacted;
  // the watch is cut: re-watching from the old resourceVersion gets an ERROR 410 event and the
  // watcher must re-list, then watch again.
  stub_.putEndpointSlice("surge", stubEndpointSlice("other-y", "other", 8000, json::array()));
  stub_.compact();
  stub_.closeWatches();
  ASSERT_TRUE(eventually([&] { return w->lists() >= 2 && stub_.openWatches() == 1; }));
  EXPECT_EQ(w->errors(), 0);  // 410 is not an error: re-list at once
  stub_.putEndpointSlice("surge", stubEndpointSlice("model-def", "model-server", 8000,
                                                    json::array({stubEndpoint("10.0.0.2", true,
                                                                              false, "b")})));
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.size() == 2; }));
}

TEST_F(DiscoveryTest, HttpGoneReLists) {
  stub_.setGoneAsHttp(true);
  auto w = watcher();
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.size() == 1; }));
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  stub_.putEndpointSlice("surge", stubEndpointSlice("other-y", "other", 8000, json::array()));
  stub_.compact();
  stub_.closeWatches();
  ASSERT_TRUE(eventually([&] { return w->lists() >= 2 && stub_.openWatches() == 1; }));
  EXPECT_EQ(w->errors(), 0);
  EXPECT_GE(stub_.count("GET", "watch=1"), 2);
}

TEST_F(DiscoveryTest, ReconnectsAfterErrorsWithBackoffKeepingTheLastSet) {
  auto w = watcher();
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.size() == 1; }));
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  size_t reports = sets_.count();
  // The watch ends and the next two attempts fail (503 on watch, 403 on the re-list).
  stub_.failNext(503, 1, "watch=1");
  stub_.failNext(403, 1, "endpointslices");
  stub_.closeWatches();
  ASSERT_TRUE(eventually([&] { return w->errors() >= 2; }));
  EXPECT_EQ(sets_.count(), reports);  // errors never report an empty set
  stub_.putEndpointSlice("surge", stubEndpointSlice("model-def", "model-server", 8000,
                                                    json::array({stubEndpoint("10.0.0.2", true,
                                                                              false, "b")})));
  ASSERT_TRUE(sets_.waitFor([](const auto& s) { return s.size() == 2; }));
  w->stop();
}

TEST_F(DiscoveryTest, StopEndsAnOpenWatchPromptly) {
  auto w = watcher();
  ASSERT_TRUE(eventually([&] { return stub_.openWatches() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  w->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(DnsDiscovery, ResolvesLocalhost) {
  auto hosts = resolveHosts("localhost", 8000);
  ASSERT_TRUE(hosts.isOk()) << hosts.status().message();
  bool v4 = false;
  for (const auto& h : *hosts) v4 |= h.address == "127.0.0.1:8000";
  EXPECT_TRUE(v4);
  EXPECT_FALSE(resolveHosts("no-such-host.invalid", 80).isOk());

  Sets sets;
  DnsDiscovery d({"localhost", 9000, std::chrono::milliseconds(50)},
                 [&](const std::vector<DesiredHost>& s) { sets.push(s); });
  d.start();
  ASSERT_TRUE(sets.waitFor([](const auto& s) { return hasHost(s, "127.0.0.1:9000", false); }));
  ASSERT_TRUE(eventually([&] { return d.resolutions() >= 3; }));
  EXPECT_EQ(sets.count(), 1u);  // unchanged answers are not re-reported
  d.stop();
}

}  // namespace
}  // namespace surge::k8s
