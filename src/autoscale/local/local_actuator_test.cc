// LocalActuator with stand-in replicas (/bin/sh scripts that never become ready or exit at once):
// process supervision, the min/max floor, scale-in of starting replicas, crash replacement with
// backoff, spawn errors, the replica's stdout kept out of its log. The gateway is never reached
// here (its admin address refuses; only the stdout tests' replicas turn ready); the real thing —
// surge gateway + surge serve — is local_actuator_integration_test.cc.
#include "autoscale/local/local_actuator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/fake_http_server.h"
#include "support/wait.h"

namespace surge::autoscale {
namespace {

using namespace std::chrono_literals;
using surge::testing::waitUntil;

bool alive(int64_t pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0; }

// Real time that counts its reads: the witness that the supervisor ran (docs/design/testing.md,
// "Checking that something does not happen"). Each supervisor tick reads the clock once when it
// starts, then once per live replica to judge it and once more to sync it with the gateway (no
// probe here: no replica prints a port), so a steady tick over N live replicas makes 1 + 2N
// reads and nothing else reads it.
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
    auto a = LocalActuator::create(std::move(c), clock_);
    ASSERT_TRUE(a.isOk()) << a.status().message();
    actuator_ = std::move(a).value();
    ASSERT_TRUE(actuator_->start().isOk());
  }
  std::vector<PodInfo> pods() { return actuator_->listPods().value(); }
  bool firstReady() {
    auto p = pods();
    return !p.empty() && p[0].ready && p[0].ready->status;
  }
  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  int32_t live() { return actuator_->getScale()->status_replicas; }
  std::vector<int64_t> podPids() {
    std::vector<int64_t> out;
    for (const auto& pod : pods()) out.push_back(pod.pid);
    return out;
  }
  // Waits until `ticks` whole supervisor ticks began and ended after this call, with at most
  // `live_replicas` steady replicas (1 + 2 * live_replicas clock reads a tick): the tick in
  // progress makes at most that many more reads, each following tick at least one, so that many
  // reads per tick plus one more prove the last counted tick finished (publish() is its end).
  ::testing::AssertionResult supervisorTicks(int ticks, int live_replicas) {
    const int64_t per_tick = 1 + 2 * live_replicas;
    const int64_t target = clock_.reads() + (ticks + 1) * per_tick + 1;
    return waitUntil([&] { return clock_.reads() >= target; }, 10s, 5ms,
                     std::to_string(ticks) + " supervisor ticks");
  }

  CountingClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<LocalActuator> actuator_;
};

TEST_F(LocalActuatorTest, StartsReplicasAsPendingPodsAndScalesThemIn) {
  make(shConfig("echo starting {name}; exec sleep 60"));
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 0);
  ASSERT_TRUE(actuator_->setScale(3).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 3; }, 10s, 20ms, "three replicas"));
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
  ASSERT_TRUE(waitUntil(
      [&] {
        return std::filesystem::exists(dir_ / "replica-1.out") &&
               std::filesystem::file_size(dir_ / "replica-1.out") > 0;
      },
      10s, 20ms, "replica-1 wrote its stdout"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "replica-1.log"));  // its stderr: empty here

  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 1 && pods().size() == 1; }, 10s, 20ms,
                        "scale-in to one replica"));
  // The newest replicas went first (Kubernetes ReplicaSet order).
  EXPECT_EQ(pods()[0].name, "replica-1");
  EXPECT_TRUE(alive(pids[0]));
  EXPECT_TRUE(waitUntil([&] { return !alive(pids[1]) && !alive(pids[2]); }, 10s, 20ms,
                        "the removed replicas exited"));
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
  ASSERT_TRUE(waitUntil([&] { return live() == 2; }, 10s, 20ms, "min_replicas started"));
  const std::vector<int64_t> floor_pids = podPids();  // before any setScale

  // Below the floor: while the supervisor ticks three times, neither replica is stopped (nor
  // stopped and replaced).
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(supervisorTicks(3, 2));
  EXPECT_EQ(live(), 2);
  EXPECT_EQ(podPids(), floor_pids);

  // Above the ceiling: three replicas start, and while the supervisor ticks three more times no
  // fourth one is spawned.
  ASSERT_TRUE(actuator_->setScale(10).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 3; }, 10s, 20ms, "max_replicas started"));
  ASSERT_TRUE(supervisorTicks(3, 3));
  EXPECT_EQ(live(), 3);
  auto p = pods();
  ASSERT_EQ(p.size(), 3u);
  for (const auto& pod : p) EXPECT_FALSE(pod.deleted) << pod.name;
  EXPECT_EQ(p[0].pid, floor_pids[0]);
  EXPECT_EQ(p[1].pid, floor_pids[1]);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "replica-4.log"));
  EXPECT_EQ(actuator_->setScale(-1).code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalActuatorTest, CrashedReplicasAreReplacedWithBackoff) {
  make(shConfig("echo boom >&2; exit 3"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return actuator_->crashCount() >= 3; }, 10s, 20ms, "three crashes"));
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
  ASSERT_TRUE(waitUntil([&] { return live() == 1; }, 10s, 20ms, "one replica"));
  int64_t first = pods()[0].pid;
  ASSERT_TRUE(waitUntil([&] { return actuator_->crashCount() >= 1; }, 10s, 20ms, "a crash"));
  EXPECT_TRUE(waitUntil([&] { return !alive(first); }, 10s, 20ms, "the first replica exited"));
  ASSERT_TRUE(waitUntil([&] { return live() == 1 && pods()[0].pid != first; }, 10s, 20ms,
                        "a replacement replica"));
}

TEST_F(LocalActuatorTest, MissingCommandIsReportedNotFatal) {
  auto c = shConfig("");
  c.command = (dir_ / "no-such-binary").string();
  make(c);
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return actuator_->crashCount() >= 1; }, 10s, 20ms, "a spawn error"));
  EXPECT_EQ(live(), 0);
  EXPECT_TRUE(actuator_->getScale().isOk());
}

TEST_F(LocalActuatorTest, ShutdownKillsAReplicaThatIgnoresSigterm) {
  // The replica says when SIGTERM is ignored: the test stops it only after that.
  auto c = shConfig("trap '' TERM; touch {run_dir}/{name}.trapped; while true; do sleep 0.05; done");
  c.termination_grace_period = 300ms;
  make(c);
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 1; }, 10s, 20ms, "one replica"));
  int64_t pid = pods()[0].pid;
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(dir_ / "replica-1.trapped"); }, 10s,
                        5ms, "the replica's SIGTERM trap"));
  auto t0 = std::chrono::steady_clock::now();
  actuator_->shutdown();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(alive(pid));
  // SIGTERM first, SIGKILL only after the grace period: a replica killed at once (e.g. by the
  // death signal of the thread that spawned it) ends in a few milliseconds.
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
}

TEST_F(LocalActuatorTest, SpecBeforeTheFirstSetScaleIsTheFloorBeingStarted) {
  auto c = shConfig("exec sleep 60");
  c.min_replicas = 2;
  make(c);
  // Not 0: the HPA would read "scaling is disabled since the replica count of the target is zero"
  // while the first replicas start.
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 2);
  ASSERT_TRUE(waitUntil([&] { return live() == 2; }, 10s, 20ms, "two replicas"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  EXPECT_EQ(actuator_->getScale()->spec_replicas, 1);  // the requested value from now on
}

// Points TMPDIR at the test's directory while it lives (the actuator's default run directory and
// its stale-directory sweep use the temporary directory).
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const std::filesystem::path& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    std::filesystem::create_directories(dir);
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (old_) {
      ::setenv("TMPDIR", old_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST_F(LocalActuatorTest, OwnRunDirectoryIsRemovedAtShutdown) {
  ScopedTmpdir tmp(dir_);
  auto c = shConfig("echo up; exec sleep 60");
  c.run_dir.clear();
  make(c);
  const std::filesystem::path run = actuator_->runDir();
  EXPECT_EQ(run, dir_ / ("surge-local-" + std::to_string(::getpid())));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(run / "replica-1.log"); }, 10s, 20ms,
                        "the replica's log"));
  actuator_->shutdown();
  EXPECT_FALSE(std::filesystem::exists(run));
  EXPECT_FALSE(actuator_->runDirKept());
}

TEST_F(LocalActuatorTest, OwnRunDirectoryIsKeptWhenAReplicaFailed) {
  ScopedTmpdir tmp(dir_);
  auto c = shConfig("echo 'model failed to load'; exit 3");
  c.run_dir.clear();
  make(c);
  const std::filesystem::path run = actuator_->runDir();
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return actuator_->crashCount() >= 1; }, 10s, 20ms, "a crash"));
  actuator_->keepRunDir();
  actuator_->shutdown();
  EXPECT_TRUE(actuator_->runDirKept());
  EXPECT_TRUE(std::filesystem::exists(run / "replica-1.log"));
  EXPECT_TRUE(std::filesystem::exists(run / "KEPT"));
  // surge up also asks to keep the logs when its replicas keep failing: the marker still says
  // why (failures), not "on request".
  const std::string kept = read(run / "KEPT");
  EXPECT_NE(kept.find("replica failure(s); logs kept"), std::string::npos) << kept;
  EXPECT_EQ(kept.find("request"), std::string::npos) << kept;
  // Kept on purpose: a later start does not sweep it.
  EXPECT_EQ(removeStaleRunDirs(dir_, ::getpid() + 1), 0);
  EXPECT_TRUE(std::filesystem::exists(run));
}

TEST_F(LocalActuatorTest, OwnRunDirectoryKeptByTheCallerSaysWhy) {
  ScopedTmpdir tmp(dir_);
  auto c = shConfig("echo up; exec sleep 60");
  c.run_dir.clear();
  make(c);
  const std::filesystem::path run = actuator_->runDir();
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 1; }, 10s, 20ms, "one replica"));
  actuator_->keepRunDir("no replica ready within 40 s");
  actuator_->shutdown();
  EXPECT_EQ(actuator_->crashCount(), 0);
  EXPECT_TRUE(actuator_->runDirKept());
  EXPECT_EQ(read(run / "KEPT"), "no replica ready within 40 s; logs kept\n");
}

// `surge serve` prints its "listening on" lines on stdout and logs (maybe as JSON) on stderr: the
// stdout goes to <name>.out, the log stays pure; the port is still found there.
TEST_F(LocalActuatorTest, ReplicaStdoutIsKeptOutOfItsLogAndStillGivesThePort) {
  testing::FakeHttpServer health(
      [](const net::HttpRequest&) { return net::HttpResponse::text(200, "ok"); });
  ASSERT_TRUE(health.ok());
  make(shConfig("echo 'surge serve listening on " + health.address() +
                "'; echo '{\"level\":\"info\",\"message\":\"ready\"}' >&2; exec sleep 60"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return firstReady(); }, 10s, 20ms, "the replica ready"));
  EXPECT_EQ(read(dir_ / "replica-1.log"), "{\"level\":\"info\",\"message\":\"ready\"}\n");
  EXPECT_EQ(read(dir_ / "replica-1.out"), "surge serve listening on " + health.address() + "\n");
  EXPECT_GE(health.requests(), 1);
}

// Another command may print its listening line in its log (stderr): found there too.
TEST_F(LocalActuatorTest, ListeningLineOnStderrIsFoundToo) {
  testing::FakeHttpServer health(
      [](const net::HttpRequest&) { return net::HttpResponse::text(200, "ok"); });
  ASSERT_TRUE(health.ok());
  make(shConfig("echo hello; echo 'listening on " + health.address() + "' >&2; exec sleep 60"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return firstReady(); }, 10s, 20ms, "the replica ready"));
}

TEST_F(LocalActuatorTest, ConfiguredRunDirectoryIsNeverRemoved) {
  make(shConfig("exec sleep 60"));
  ASSERT_TRUE(actuator_->setScale(1).isOk());
  ASSERT_TRUE(waitUntil([&] { return live() == 1; }, 10s, 20ms, "one replica"));
  actuator_->shutdown();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "replica-1.log"));
  EXPECT_FALSE(actuator_->runDirKept());
}

pid_t deadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(RemoveStaleRunDirsTest, RemovesOnlyLogOnlyDirectoriesOfExitedProcesses) {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("surge-stale-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  auto dir = [&](const std::string& name, std::vector<std::string> files) {
    fs::create_directories(tmp / name);
    for (const auto& f : files) std::ofstream(tmp / name / f) << "log\n";
    return tmp / name;
  };
  const pid_t dead = deadPid();
  ASSERT_FALSE(alive(dead));
  const auto stale = dir("surge-local-" + std::to_string(dead),
                         {"replica-1.log", "replica-1.out", "replica-2.log"});
  const auto empty_stale = dir("surge-local-" + std::to_string(deadPid()), {});
  const auto running = dir("surge-local-" + std::to_string(::getpid()), {"replica-1.log"});
  const auto parent = dir("surge-local-" + std::to_string(::getppid()), {"replica-1.log"});
  const auto kept = dir("surge-local-" + std::to_string(deadPid()), {"replica-1.log", "KEPT"});
  const auto other = dir("surge-local-" + std::to_string(deadPid()), {"notes.txt"});
  const auto not_a_pid = dir("surge-local-abc", {"replica-1.log"});
  const auto with_subdir = tmp / ("surge-local-" + std::to_string(deadPid()));
  fs::create_directories(with_subdir / "sub");

  EXPECT_EQ(removeStaleRunDirs(tmp, ::getpid()), 2);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(empty_stale));
  for (const auto& p : {running, parent, kept, other, not_a_pid}) EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::exists(with_subdir / "sub"));
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace surge::autoscale
