// LocalActuator with stand-in replicas (/bin/sh scripts that never become ready or exit at once):
// process supervision, the min/max floor, scale-in of starting replicas, crash replacement with
// backoff, spawn errors. The gateway is never contacted here (no replica turns ready); the real
// thing — surge gateway + surge serve — is local_actuator_integration_test.cc.
#include "autoscale/local_actuator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

bool alive(int64_t pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0; }

class LocalActuatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("surge-la-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    actuator_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  LocalTargetConfig shConfig(const std::string& script) {
    LocalTargetConfig c;
    c.command = "/bin/sh";
    c.args = {"-c", script};
    c.gateway_admin = "http://127.0.0.1:1";  // never called: nothing turns ready
    c.run_dir = dir_.string();
    c.min_replicas = 0;
    c.probe_period = 50ms;
    c.termination_grace_period = 2s;
    c.backoff_initial = 200ms;
    c.backoff_max = 400ms;
    return c;
  }
  void make(LocalTargetConfig c) {
    auto a = LocalActuator::create(std::move(c));
    ASSERT_TRUE(a.isOk()) << a.status().message();
    actuator_ = std::move(a).value();
    ASSERT_TRUE(actuator_->start().isOk());
  }
  std::vector<PodInfo> pods() { return actuator_->listPods().value(); }
  int32_t live() { return actuator_->getScale()->status_replicas; }

  std::filesystem::path dir_;
  std::unique_ptr<LocalActuator> actuator_;
};

TEST_F(LocalActuatorTest, StartsReplicasAsPendingPodsAndScalesThemIn) {
  make(shConfig("echo starting {name}; exec sleep 60"));
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 0);
  ASSERT_TRUE(actuator_->setScale(3).isOk());
  ASSERT_TRUE(waitFor([&] { return live() == 3; }));
  auto p = pods();
  ASSERT_EQ(p.size(), 3u);
  std::vector<int64_t> pids;
  for (const auto& pod : p) {
    EXPECT_EQ(pod.phase, "Pending");
    EXPECT_FALSE(pod.deleted);
    ASSERT_TRUE(pod.ready.has_value());
    EXPECT_FALSE(pod.ready->status);
    ASSERT_TRUE(pod.start_time.has_value());
    EXPECT_GT(pod.pid, 0);
    EXPECT_TRUE(alive(pod.pid));
    EXPECT_EQ(::getpgid(static_cast<pid_t>(pod.pid)), pod.pid);  // own process group
    pids.push_back(pod.pid);
  }
  EXPECT_EQ(p[0].name, "replica-1");
  ASSERT_TRUE(waitFor([&] {
    return std::filesystem::exists(dir_ / "replica-1.log") &&
           std::filesystem::file_size(dir_ / "replica-1.log") > 0;
  }));

  ASSERT_TRUE(actuator_->setScale(1).isOk());
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 1);
  ASSERT_TRUE(waitFor([&] { return live() == 1 && pods().size() == 1; }));
  // The newest replicas went first (Kubernetes ReplicaSet order).
  EXPECT_EQ(pods()[0].name, "replica-1");
  EXPECT_TRUE(alive(pids[0]));
  EXPECT_TRUE(waitFor([&] { return !alive(pids[1]) && !alive(pids[2]); }));
  EXPECT_EQ(actuator_->crashCount(), 0);

  actuator_->shutdown();
  EXPECT_FALSE(alive(pids[0]));
  EXPECT_TRUE(pods().empty());
  EXPECT_EQ(live(), 0);
}

TEST_F(LocalActuatorTest, MinReplicasIsAFloorAndMaxACeiling) {
  auto c = shConfig("exec sleep 60");
  c.min_replicas = 2;
  c.max_replicas = 3;
  make(c);
  ASSERT_TRUE(waitFor([&] { return live() == 2; }));  // before any setScale
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  std::this_thread::sleep_for(300ms);  // several supervisor ticks: must not go below 2
  EXPECT_EQ(live(), 2);
  ASSERT_TRUE(actuator_->setScale(10).isOk());
  ASSERT_TRUE(waitFor([&] { return live() == 3; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(live(), 3);
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 10);
  EXPECT_EQ(actuator_->setScale(-1).code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalActuatorTest, CrashedReplicasAreReplacedWithBackoff) {
  make(shConfig("echo boom >&2; exit 3"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitFor([&] { return actuator_->crashCount() >= 3; }));
  // Replacements got new names.
  auto p = pods();
  for (const auto& pod : p) EXPECT_NE(pod.name, "replica-1");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "replica-2.log"));
}

TEST_F(LocalActuatorTest, ReplicaNeverReadyIsKilledAndReplaced) {
  auto c = shConfig("exec sleep 60");
  c.ready_timeout = 300ms;
  make(c);
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitFor([&] { return live() == 1; }));
  int64_t first = pods()[0].pid;
  ASSERT_TRUE(waitFor([&] { return actuator_->crashCount() >= 1; }));
  EXPECT_TRUE(waitFor([&] { return !alive(first); }));
  ASSERT_TRUE(waitFor([&] { return live() == 1 && pods()[0].pid != first; }));
}

TEST_F(LocalActuatorTest, MissingCommandIsReportedNotFatal) {
  auto c = shConfig("");
  c.command = (dir_ / "no-such-binary").string();
  make(c);
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitFor([&] { return actuator_->crashCount() >= 1; }));
  EXPECT_EQ(live(), 0);
  EXPECT_TRUE(actuator_->getScale().isOk());
}

TEST_F(LocalActuatorTest, ShutdownKillsAReplicaThatIgnoresSigterm) {
  auto c = shConfig("trap '' TERM; while true; do sleep 0.05; done");
  c.termination_grace_period = 300ms;
  make(c);
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitFor([&] { return live() == 1; }));
  int64_t pid = pods()[0].pid;
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  auto t0 = std::chrono::steady_clock::now();
  actuator_->shutdown();
  EXPECT_FALSE(alive(pid));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace surge::autoscale
