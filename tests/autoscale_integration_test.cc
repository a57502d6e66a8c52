// End-to-end test of the autoscaler: `surge up --synthetic` (gateway + autoscaler + local
// `surge serve` replicas) with a 1 s sync period, a Pods requests_per_second target of 20 per
// replica and a 4 s scale-down stabilization window:
//   - load ramps up (`surge load` open loop) → replicas rise within the expected number of syncs;
//   - load drops to a trickle → they fall back to the minimum after the stabilization window,
//     with zero failed client requests during the scale-in (`surge load --json` error counts);
//   - a replica SIGKILLed → replaced;
//   - SIGTERM stops everything (replicas included).
// Every wait is bounded; the fixture kills whatever is left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kPolicy = R"(
sync_period: 1s
hpa:
  metadata: {name: it-hpa}
  spec:
    minReplicas: 2
    maxReplicas: 4
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "20"}
    behavior:
      scaleUp: {stabilizationWindowSeconds: 0}
      scaleDown:
        stabilizationWindowSeconds: 4
        policies: [{type: Percent, value: 100, periodSeconds: 1}]
)";

// Child processes of `pid` (the replicas of surge up), from /proc.
std::set<int> childrenOf(int pid) {
  std::set<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat;
    std::getline(f, stat);
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == pid &&
        state != 'Z') {
      out.insert(std::stoi(name));
    }
  }
  return out;
}

class AutoscaleIntegration : public ::testing::Test {
 protected:
  void SetUp() override { dir_.write("autoscale.yaml", kPolicy); }
  void TearDown() override {
    const int pid = up_.pid();
    std::set<int> replicas = up_.running() ? childrenOf(pid) : std::set<int>{};
    up_.stop(15000ms);
    for (int r : replicas) ::kill(r, SIGKILL);  // own process groups: not reached by stop()
  }

  std::string log(const std::string& name) {
    std::string s = readFile(dir_ / name);
    return s.size() > 6000 ? s.substr(s.size() - 6000) : s;
  }

  void startUp() {
    // --run-dir: the replica this test kills makes surge up keep its logs; keep them in dir_.
    ASSERT_TRUE(testing::startUp(up_, dir_,
                                 {"--config", dir_.file("autoscale.yaml"), "--run-dir",
                                  dir_.file("run")}))
        << log("up.log");
    gw_port_ = up_.port();
    admin_port_ = up_.portAfter("(admin");
    scaler_port_ = up_.portAfter("autoscaler");
  }

  json status() {
    HttpResult r = httpGet(scaler_port_, "/status");
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }

  // Backends the gateway routes to (healthy, not draining).
  int gatewayBackends() {
    HttpResult r = httpGet(admin_port_, "/backends");
    if (r.status != 200) return -1;
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return -1;
    const json& list = j.contains("backends") ? j["backends"] : j;
    int n = 0;
    for (const auto& b : list) {
      if (b.value("draining", false)) continue;
      n++;
    }
    return n;
  }

  // Polls every 250 ms (a quarter of the sync period) until pred() or the deadline.
  template <typename Pred>
  ::testing::AssertionResult waitFor(Pred pred, std::chrono::milliseconds timeout) {
    return waitUntil(pred, timeout, 250ms);
  }

  std::unique_ptr<Process> startLoad(const std::string& rate, const std::string& duration,
                                     const std::string& log_name) {
    auto p = std::make_unique<Process>();
    std::string err;
    EXPECT_TRUE(p->start({surgeBinary(), "load", "--url",
                          "http://127.0.0.1:" + std::to_string(gw_port_), "--model", "mlp",
                          "--rate", rate, "--duration", duration, "--timeout", "10s", "--json"},
                         &err, dir_.file(log_name)))
        << err;
    return p;
  }

  json finishLoad(Process& p, std::chrono::milliseconds timeout) {
    p.waitForLine("\x01never", timeout);  // reads stdout until EOF
    auto code = p.wait(5s);
    EXPECT_EQ(code.value_or(-1), 0);
    std::string out;
    for (const auto& l : p.lines()) out += l + "\n";
    json j = json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
  }

  ScratchDir dir_{"autoscale-it"};
  ServerProcess up_;
  int gw_port_ = 0, admin_port_ = 0, scaler_port_ = 0;
};

TEST_F(AutoscaleIntegration, UpScalesOutAndInWithoutErrorsAndReplacesAKilledReplica) {
  ASSERT_NO_FATAL_FAILURE(startUp());

  // Two replicas join the gateway once ready.
  ASSERT_TRUE(waitFor([&] { return gatewayBackends() == 2; }, 60s))
      << "backends: " << gatewayBackends() << "\n"
      << log("up.log");
  ASSERT_TRUE(waitFor([&] { return status().value("syncs", 0) >= 2; }, 20s)) << log("up.log");

  // ---- scale out: 100 rps against 20 per replica wants 5, capped at maxReplicas 4 -------------
  auto load = startLoad("100", "30s", "load1.log");
  // Count syncs from the first request through the gateway (`surge load` itself takes a while to
  // start on a loaded machine).
  ASSERT_TRUE(waitFor(
      [&] {
        HttpResult m = httpGet(admin_port_, "/metrics");
        return m.status == 200 && m.body.find("surge_gateway_requests_total{") != std::string::npos;
      },
      30s))
      << log("load1.log");
  const int syncs_before = status().value("syncs", 0);
  int syncs_at_scale = -1;
  ASSERT_TRUE(waitFor(
      [&] {
        json s = status();
        // desiredReplicas is null until the autoscaler's first decision.
        const bool decided = s.is_object() && s.contains("desiredReplicas") &&
                             s["desiredReplicas"].is_number();
        if (decided && s["desiredReplicas"].get<int>() >= 4 && syncs_at_scale < 0) {
          syncs_at_scale = s.value("syncs", 0);
        }
        return s.value("currentReplicas", 0) >= 4;
      },
      45s))
      << status().dump(2) << "\n"
      << log("up.log");
  // The request rate needs two gateway scrapes (one sync apart), then one sync decides 2 → 4
  // (default scale-up policy: +4 pods or +100% per 15 s): ~3 syncs. Slack for a loaded machine.
  EXPECT_LE(syncs_at_scale - syncs_before, 6) << "syncs before " << syncs_before;
  std::printf("scale-up to 4 decided %d syncs after the first request\n",
              syncs_at_scale - syncs_before);
  ASSERT_TRUE(waitFor([&] { return gatewayBackends() == 4; }, 60s)) << log("up.log");
  json up_load = finishLoad(*load, 60s);
  ASSERT_EQ(up_load["levels"].size(), 1u) << up_load.dump();
  EXPECT_GT(up_load["levels"][0]["ok"].get<int>(), 1000) << up_load.dump();

  // The scale-up is an event like `kubectl describe hpa`.
  HttpResult ev = httpGet(scaler_port_, "/events");
  ASSERT_EQ(ev.status, 200);
  json events = json::parse(ev.body)["events"];
  bool rescaled = false;
  for (const auto& e : events) {
    if (e["reason"] == "SuccessfulRescale" && e["to"].get<int>() > e["from"].get<int>()) {
      rescaled = true;
      EXPECT_NE(e["message"].get<std::string>().find("requests_per_second above target"),
                std::string::npos)
          << e.dump();
    }
  }
  EXPECT_TRUE(rescaled) << events.dump(2);

  // ---- scale in under a trickle of traffic: no failed request ----------------------------------
  auto trickle = startLoad("10", "20s", "load2.log");
  const auto trickle_start = Clock::now();
  ASSERT_TRUE(waitFor([&] { return status().value("currentReplicas", 0) == 2; }, 40s))
      << status().dump(2) << "\n"
      << log("up.log");
  std::printf("back to 2 replicas %.1f s after the load dropped\n",
              std::chrono::duration<double>(Clock::now() - trickle_start).count());
  json in_load = finishLoad(*trickle, 40s);
  ASSERT_EQ(in_load["levels"].size(), 1u) << in_load.dump();
  EXPECT_EQ(in_load["levels"][0]["errors"], 0) << in_load.dump();
  EXPECT_GT(in_load["levels"][0]["ok"].get<int>(), 100) << in_load.dump();
  ASSERT_TRUE(waitFor([&] { return gatewayBackends() == 2; }, 30s)) << log("up.log");

  // ---- a replica SIGKILLed is replaced ----------------------------------------------------------
  std::set<int> before;
  ASSERT_TRUE(waitFor(
      [&] {
        before = childrenOf(up_.pid());
        return before.size() == 2;
      },
      30s))
      << "children: " << before.size();
  const int victim = *before.begin();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(waitFor(
      [&] {
        std::set<int> now = childrenOf(up_.pid());
        return now.size() == 2 && now.count(victim) == 0 && gatewayBackends() == 2;
      },
      60s))
      << log("up.log");

  // ---- SIGTERM stops everything -----------------------------------------------------------------
  std::set<int> replicas = childrenOf(up_.pid());
  up_.signal(SIGTERM);
  auto code = up_.wait(40s);
  ASSERT_TRUE(code.has_value()) << log("up.log");
  EXPECT_EQ(*code, 0) << log("up.log");
  for (int r : replicas) {
    EXPECT_TRUE(waitFor([&] { return ::kill(r, 0) != 0; }, 5s)) << "replica " << r << " alive";
  }
}

}  // namespace
}  // namespace surge::testing

namespace surge::testing {
namespace {

// Bad autoscale.yaml → exit 2 with file:line:col and the field, before anything starts.
TEST(AutoscaleCli, ConfigErrorsExitTwoNamingTheField) {
  ScratchDir dir("autoscale-cli");
  const std::string path =
      dir.write("autoscale.yaml", "target: {kind: local}\nsync_perod: 5s\nhpa: {maxReplicas: 3}\n");
  for (const std::string cmd : {"autoscale", "up"}) {
    const std::string log = dir.file(cmd + ".log");
    EXPECT_EQ(runToExit({surgeBinary(), cmd, "--config", path}, log, 60s), 2) << cmd;
    std::string text = readFile(log);
    EXPECT_NE(text.find("autoscale.yaml:2:1"), std::string::npos) << cmd << ": " << text;
    EXPECT_NE(text.find("did you mean 'sync_period'"), std::string::npos) << cmd << ": " << text;
  }
}

}  // namespace
}  // namespace surge::testing
