// Scale to zero, end to end with real processes (docs/design/activator.md):
//   - `surge gateway` with the activator and no backend: a request is held (the gauge says so)
//     and released with a 200 as soon as a backend joins through the admin API; a burst over
//     queue_size gets 503 + Retry-After at once; a held request past the timeout gets 503 +
//     Retry-After and a JSON error; the counters say held / released / timed_out / overflowed;
//   - `surge up --synthetic --min-replicas 0`: no replica while idle; the first request is held,
//     starts a replica and is answered 200 after about its cold start; idle again for
//     --scale-to-zero-after, the model goes back to 0 replicas.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;

// The value of a metric series on a /metrics page ("name" or "name{labels}" as printed), or -1.
double metricValue(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

std::string metricsOf(int admin_port) { return httpGet(admin_port, "/metrics").body; }

TEST(ScaleToZero, GatewayHoldsReleasesOverflowsAndTimesOut) {
  ScratchDir dir("activator");
  ServerProcess gw;
  ASSERT_TRUE(startGateway(gw, dir,
                           std::string(kLocalGateway) +
                               "activator: {queue_size: 2, timeout: 1500ms, retry_after: 4s}\n"));
  const int port = gw.port();
  const int admin = gw.portAfter("admin");
  ASSERT_GT(admin, 0) << gw.line();

  // Held, then released by a backend joining.
  ServerProcess upstream;
  ASSERT_TRUE(startUpstream(upstream, dir, "u1"));
  auto held = std::async(std::launch::async, [&] { return httpGet(port, "/hello", 10s); });
  ASSERT_TRUE(waitUntil([&] { return metricValue(metricsOf(admin), "surge_gateway_held_requests") == 1; },
                        5s, 20ms, "one held request"))
      << metricsOf(admin);
  std::this_thread::sleep_for(200ms);
  HttpResult add =
      httpRequest(admin, "POST", "/backends", {{"Content-Type", "application/json"}},
                  "{\"address\": \"127.0.0.1:" + std::to_string(upstream.port()) + "\"}");
  ASSERT_EQ(add.status, 201) << add.body;
  HttpResult released = held.get();
  EXPECT_EQ(released.status, 200) << released.error << released.body;
  EXPECT_GE(released.seconds, 0.2);  // it waited for the backend
  EXPECT_LT(released.seconds, 1.4);  // and went as soon as it joined, not at the timeout
  std::string page = metricsOf(admin);
  EXPECT_EQ(metricValue(page, "surge_gateway_held_requests"), 0) << page;
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"held\"}"), 1);
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"released\"}"), 1);

  // With a host eligible, nothing is held: the usual path.
  HttpResult direct = httpGet(port, "/hello");
  EXPECT_EQ(direct.status, 200) << direct.error;

  // Back to no backend: a burst of 3 over queue_size 2.
  HttpResult del =
      httpRequest(admin, "DELETE", "/backends/127.0.0.1:" + std::to_string(upstream.port()));
  ASSERT_TRUE(del.status == 200 || del.status == 204) << del.status << " " << del.body;
  ASSERT_TRUE(waitUntil([&] { return httpGet(admin, "/backends").body.find("127.0.0.1:") ==
                                     std::string::npos; },
                        5s, 20ms, "backend removed"))
      << httpGet(admin, "/backends").body;
  std::vector<std::future<HttpResult>> burst;
  for (int i = 0; i < 3; ++i) {
    burst.push_back(std::async(std::launch::async, [&] { return httpGet(port, "/hello", 10s); }));
  }
  int overflowed = 0, timed_out = 0;
  for (auto& f : burst) {
    HttpResult r = f.get();
    ASSERT_EQ(r.status, 503) << r.error << r.body;
    EXPECT_EQ(r.headers["retry-after"], "4");
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << r.body;
    const std::string why = body["error"].get<std::string>();
    if (why.find("queue is full") != std::string::npos) {
      ++overflowed;
      EXPECT_LT(r.seconds, 1.0);  // at once
    } else {
      EXPECT_NE(why.find("activator timeout"), std::string::npos) << why;
      ++timed_out;
      EXPECT_GE(r.seconds, 1.4);  // held for the timeout
      EXPECT_LT(r.seconds, 5.0);
    }
  }
  EXPECT_EQ(overflowed, 1);
  EXPECT_EQ(timed_out, 2);
  page = metricsOf(admin);
  EXPECT_EQ(metricValue(page, "surge_gateway_held_requests"), 0) << page;
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"held\"}"), 3);
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"abandoned\"}"), 0);
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"timed_out\"}"), 2);
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"overflowed\"}"),
            1);
  // A client that gives up while held leaves the queue at once (not at the timeout).
  HttpResult gave_up = httpGet(port, "/hello", 300ms);
  EXPECT_EQ(gave_up.status, 0);
  ASSERT_TRUE(waitUntil(
      [&] {
        const std::string p = metricsOf(admin);
        return metricValue(p, "surge_gateway_activator_requests_total{result=\"abandoned\"}") ==
                   1 &&
               metricValue(p, "surge_gateway_held_requests") == 0;
      },
      1s, 20ms, "the abandoned hold released"))
      << metricsOf(admin);
  page = metricsOf(admin);
  // Every answer is counted as a request (503s without a backend).
  EXPECT_GE(metricValue(page, "surge_gateway_requests_total{backend=\"none\",code=\"5xx\"}"), 3)
      << page;
}

// The replicas of surge up as its autoscaler reports them (-1 when unreadable).
int currentReplicas(int scaler_port) {
  auto s = nlohmann::json::parse(httpGet(scaler_port, "/status").body, nullptr, false);
  if (!s.is_object() || !s["currentReplicas"].is_number()) return -1;
  return s["currentReplicas"].get<int>();
}

TEST(ScaleToZero, UpStartsAReplicaForTheFirstRequestAndGoesBackToZero) {
  ScratchDir dir("up-zero");
  ServerProcess up;
  ASSERT_TRUE(startUp(up, dir,
                      {"--min-replicas", "0", "--scale-to-zero-after", "3s", "--sync-period",
                       "1s", "--hold-timeout", "30s"},
                      30s));
  const int port = up.port();
  const int admin = up.portAfter("(admin");
  const int scaler = up.portAfter("autoscaler");
  ASSERT_GT(admin, 0) << up.line();
  ASSERT_GT(scaler, 0) << up.line();

  // Idle: no replica at all.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(currentReplicas(scaler), 0) << httpGet(scaler, "/status").body;
  EXPECT_EQ(httpGet(scaler, "/status").body.find("\"statusReplicas\":1"), std::string::npos);

  // The first request: held while the replica starts, then served.
  std::atomic<double> max_held{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      const double h = metricValue(metricsOf(admin), "surge_gateway_held_requests");
      if (h > max_held) max_held = h;
      std::this_thread::sleep_for(20ms);
    }
  });
  HttpResult first = httpGet(port, "/v2/models/mlp", 30s);
  done = true;
  watcher.join();
  EXPECT_EQ(first.status, 200) << first.error << first.body << "\n" << up.log();
  EXPECT_GE(max_held.load(), 1);  // the gauge showed it while it waited
  EXPECT_GT(first.seconds, 0.1);  // a replica had to start
  EXPECT_LT(first.seconds, 20.0) << up.log();
  std::printf("first request after scale to zero: %.3f s\n", first.seconds);
  EXPECT_TRUE(waitUntil([&] { return currentReplicas(scaler) == 1; }, 5s, 100ms, "1 replica"))
      << httpGet(scaler, "/status").body;
  std::string page = metricsOf(admin);
  EXPECT_EQ(metricValue(page, "surge_gateway_activator_requests_total{result=\"released\"}"), 1)
      << page;
  // A warm request is fast.
  HttpResult warm = httpGet(port, "/v2/models/mlp");
  EXPECT_EQ(warm.status, 200);
  EXPECT_LT(warm.seconds, first.seconds);

  // Idle again for --scale-to-zero-after: back to 0, and the events say why.
  ASSERT_TRUE(waitUntil([&] { return currentReplicas(scaler) == 0; }, 25s, 200ms,
                        "scaled back to zero"))
      << httpGet(scaler, "/status").body;
  const std::string events = httpGet(scaler, "/events").body;
  EXPECT_NE(events.find("KEDAScaleTargetActivated"), std::string::npos) << events;
  EXPECT_NE(events.find("KEDAScaleTargetDeactivated"), std::string::npos) << events;
  up.signal(SIGTERM);
  auto code = up.wait(30s);
  ASSERT_TRUE(code.has_value()) << up.log();
  EXPECT_EQ(*code, 0) << up.log();
}

}  // namespace
}  // namespace surge::testing
