// LocalActuator end to end: a real `surge gateway` (admin API with a bearer token) and real
// `surge serve` replicas of a synthetic model repository. Scale 0 → 2 → 3 → 1: replicas join the
// gateway only once ready, a SIGKILLed replica is removed and replaced, scale-in drains (slow
// requests in flight on the removed replicas complete with 200). Every wait is bounded; the
// fixture stops every process.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "autoscale/local/gateway_admin_client.h"
#include "autoscale/local/local_actuator.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/wait.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using surge::testing::Process;
using surge::testing::waitUntil;

constexpr const char* kToken = "itoken";

bool alive(int64_t pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

// Real time that counts its reads: the witness that the actuator's supervisor ran. With no
// replica, each supervisor tick reads the clock exactly once (when it starts) and nothing else
// reads it.
class CountingClock final : public Clock {
 public:
  TimePoint now() const override {
    reads_.fetch_add(1, std::memory_order_relaxed);
    return SteadyClock::instance().now();
  }
  int64_t reads() const { return reads_.load(std::memory_order_relaxed); }

 private:
  mutable std::atomic<int64_t> reads_{0};
};

std::string model(const std::string& params, int instances) {
  return "backend: \"synthetic\"\nmax_batch_size: 0\n"
         "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
         "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n"
         "instance_group [ { count: " +
         std::to_string(instances) + " kind: KIND_CPU } ]\n" + params;
}

std::string param(const std::string& k, const std::string& v) {
  return "parameters { key: \"" + k + "\" value { string_value: \"" + v + "\" } }\n";
}

std::string inferBody() {
  json x = {{"name", "x"}, {"datatype", "FP32"}, {"shape", {4}}, {"data", {1, 2, 3, 4}}};
  return json({{"inputs", {x}}}).dump();
}

class LocalActuatorIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-la-it-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    for (const char* m : {"fast", "slow"}) {
      std::filesystem::create_directories(dir_ / "repo" / m / "1");
    }
    // Each instance takes 700 ms to load (warm-up before ready), so Pending is observable.
    std::ofstream(dir_ / "repo" / "fast" / "config.pbtxt")
        << model(param("load_latency_us", "700000"), 1);
    std::ofstream(dir_ / "repo" / "slow" / "config.pbtxt")
        << model(param("base_latency_us", "2500000"), 8);
    std::ofstream(dir_ / "gateway.yaml") << "listen: 127.0.0.1:0\n"
                                            "admin: 127.0.0.1:0\n"
                                            "admin_token: "
                                         << kToken
                                         << "\nworkers: 1\n"
                                            "algorithm: round_robin\n"
                                            "drain_timeout: 20s\n";
    std::string err;
    ASSERT_TRUE(gateway_.start({testing::surgeBinary(), "gateway", "--config",
                                (dir_ / "gateway.yaml").string()},
                               &err, (dir_ / "gateway.log").string()))
        << err;
    auto line = gateway_.waitForLine("listening on", 15s);
    ASSERT_TRUE(line.has_value()) << "gateway did not start";
    port_ = testing::portFromLine(*line, "listening on");
    admin_port_ = testing::portFromLine(*line, "admin");
    ASSERT_GT(port_, 0);
    ASSERT_GT(admin_port_, 0);
    auto admin = GatewayAdminClient::create(
        "http://127.0.0.1:" + std::to_string(admin_port_), kToken);
    ASSERT_TRUE(admin.isOk());
    admin_.emplace(std::move(admin).value());
  }
  void TearDown() override {
    if (actuator_) actuator_->shutdown();
    actuator_.reset();
    gateway_.stop();
    if (!HasFailure()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    } else {
      std::fprintf(stderr, "logs kept in %s\n", dir_.c_str());
    }
  }

  void makeActuator() {
    LocalTargetConfig c;
    c.command = testing::surgeBinary();
    c.args = defaultLocalArgs();
    c.args.insert(c.args.end(), {"--workers", "1"});
    c.model_repository = (dir_ / "repo").string();
    c.requests_milli = {{"cpu", 500}};
    c.gateway_admin = "http://127.0.0.1:" + std::to_string(admin_port_);
    c.gateway_token = kToken;
    c.min_replicas = 0;
    c.probe_period = 100ms;
    c.ready_timeout = 30s;
    c.drain_timeout = 15s;
    c.termination_grace_period = 10s;
    c.backoff_initial = 100ms;
    c.run_dir = (dir_ / "run").string();
    auto a = LocalActuator::create(std::move(c), clock_);
    ASSERT_TRUE(a.isOk()) << a.status().message();
    actuator_ = std::move(a).value();
    ASSERT_TRUE(actuator_->start().isOk());
  }

  std::vector<PodInfo> pods() { return actuator_->listPods().value(); }
  std::vector<PodInfo> readyPods() {
    std::vector<PodInfo> out;
    for (auto& p : pods()) {
      if (!p.deleted && p.ready && p.ready->status) out.push_back(p);
    }
    return out;
  }
  std::set<std::string> gatewayBackends() {
    auto list = admin_->listBackends();
    EXPECT_TRUE(list.isOk()) << list.status().message();
    std::set<std::string> out;
    if (list.isOk()) {
      for (const auto& b : *list) out.insert(b.address);
    }
    return out;
  }
  // Invariant checked while waiting: the gateway only has replicas that are Ready (or being
  // drained, which were Ready).
  void checkOnlyReadyInGateway(bool* saw_pending) {
    auto backends = gatewayBackends();
    auto all = pods();
    for (const auto& p : all) {
      if (p.phase == "Pending") {
        *saw_pending = true;
        EXPECT_EQ(backends.count(p.address), 0u) << p.name << " joined before it was ready";
      }
    }
  }
  // Waits for `n` live replicas, all ready and all in the gateway (and nothing else there).
  void waitConverged(int n, std::chrono::milliseconds timeout, bool* saw_pending) {
    bool ok = waitUntil(
        [&] {
          checkOnlyReadyInGateway(saw_pending);
          auto ready = readyPods();
          auto scale = actuator_->getScale().value();
          if (static_cast<int>(ready.size()) != n || scale.status_replicas != n) return false;
          std::set<std::string> want;
          for (const auto& p : ready) want.insert(p.address);
          return gatewayBackends() == want;
        },
        timeout, 50ms);
    ASSERT_TRUE(ok) << "did not converge to " << n << " ready replicas; live "
                    << actuator_->getScale()->status_replicas << ", ready "
                    << readyPods().size() << ", gateway " << gatewayBackends().size();
  }
  int infer(const std::string& model, std::chrono::milliseconds timeout = 20s) {
    auto r = testing::httpRequest(port_, "POST", "/v2/models/" + model + "/infer",
                                  {{"Content-Type", "application/json"}}, inferBody(), timeout);
    return r.status;
  }

  CountingClock clock_;
  std::filesystem::path dir_;
  Process gateway_;
  int port_ = 0, admin_port_ = 0;
  std::optional<GatewayAdminClient> admin_;
  std::unique_ptr<LocalActuator> actuator_;
};

TEST_F(LocalActuatorIntegration, ScalesJoinsWhenReadyReplacesCrashesAndDrainsOnScaleIn) {
  makeActuator();
  bool saw_pending = false;

  // 0: nothing runs.
  // Witness: a whole supervisor tick ran after setScale(0) (the tick in progress reads the clock
  // at most once more, the next one starts, the one after it proves that one finished).
  ASSERT_TRUE(actuator_->setScale(0).isOk());
  const int64_t reads = clock_.reads();
  ASSERT_TRUE(waitUntil([&] { return clock_.reads() >= reads + 3; }, 10s, 5ms,
                        "a supervisor tick after setScale(0)"));
  EXPECT_EQ(actuator_->getScale()->status_replicas, 0);
  EXPECT_TRUE(pods().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "run" / "replica-1.log"));
  EXPECT_TRUE(gatewayBackends().empty());
  EXPECT_EQ(infer("fast"), 503);  // no backend

  // 0 → 2: replicas are Pending (not in the gateway) while they load, then Ready and added.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(actuator_->setScale(2).isOk());
  waitConverged(2, 60s, &saw_pending);
  EXPECT_TRUE(saw_pending) << "never observed a Pending replica (load_latency_us is 700 ms)";
  std::fprintf(stderr, "0 -> 2 ready and in the gateway after %.2f s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (const auto& p : readyPods()) {
    EXPECT_EQ(p.phase, "Running");
    EXPECT_TRUE(alive(p.pid));
    EXPECT_EQ(p.requests_milli.at("cpu"), 500);
    ASSERT_TRUE(p.start_time && p.ready);
    EXPECT_GE(p.ready->last_transition - *p.start_time, 600ms);  // the warm-up happened first
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(infer("fast"), 200);

  // 2 → 3.
  ASSERT_TRUE(actuator_->setScale(3).isOk());
  waitConverged(3, 60s, &saw_pending);

  // A replica killed: removed from the gateway and replaced.
  PodInfo victim = readyPods()[1];
  ASSERT_EQ(::kill(static_cast<pid_t>(victim.pid), SIGKILL), 0);
  ASSERT_TRUE(waitUntil([&] { return actuator_->crashCount() >= 1; }, 15s, 50ms, "the crash counted"));
  ASSERT_TRUE(waitUntil(
      [&] {
        auto ready = readyPods();
        if (ready.size() != 3) return false;
        for (const auto& p : ready) {
          if (p.pid == victim.pid) return false;
        }
        auto backends = gatewayBackends();
        return backends.size() == 3;
      },
      60s, 50ms))
      << "the killed replica was not replaced";
  EXPECT_EQ(actuator_->crashCount(), 1);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(infer("fast"), 200);

  // 3 → 1 with slow requests in flight on every replica: the two removed replicas are drained in
  // the gateway first, so every request completes.
  auto before = readyPods();
  std::vector<std::future<int>> inflight;
  for (int i = 0; i < 6; ++i) {
    inflight.push_back(std::async(std::launch::async, [this] { return infer("slow", 30s); }));
  }
  ASSERT_TRUE(waitUntil(
      [&] {
        auto list = admin_->listBackends();
        if (!list.isOk()) return false;
        int busy = 0;
        for (const auto& b : *list) busy += b.in_flight > 0 ? 1 : 0;
        return busy == 3;
      },
      10s, 50ms))
      << "slow requests did not reach every replica";
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  // While their requests run, the removed replicas are deleted pods, out of rotation but alive.
  ASSERT_TRUE(waitUntil(
      [&] {
        int deleted = 0;
        for (const auto& p : pods()) deleted += p.deleted ? 1 : 0;
        return deleted == 2;
      },
      5s, 50ms, "two deleted pods"));
  for (const auto& p : pods()) {
    if (p.deleted) {
      EXPECT_TRUE(alive(p.pid)) << p.name << " was stopped before it drained";
    }
  }
  EXPECT_EQ(actuator_->getScale()->status_replicas, 1);
  for (auto& f : inflight) EXPECT_EQ(f.get(), 200);
  waitConverged(1, 30s, &saw_pending);
  for (const auto& p : before) {
    bool kept = readyPods()[0].pid == p.pid;
    if (!kept) {
      EXPECT_TRUE(waitUntil([&] { return !alive(p.pid); }, 15s, 50ms, "the removed replica exited")) << p.name;
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(infer("fast"), 200);

  // Shutdown: drained and stopped.
  int64_t last = readyPods()[0].pid;
  actuator_->shutdown();
  EXPECT_FALSE(alive(last));
  EXPECT_TRUE(gatewayBackends().empty());
}

}  // namespace
}  // namespace surge::autoscale
