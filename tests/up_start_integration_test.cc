// The first minutes of `surge up --synthetic`, end to end: the gateway answers 503 with
// Retry-After while the replicas start; the ready line comes only once requests through the
// gateway succeed; no WARN/Warning during a normal start; the autoscaler's /status waits (no
// "scaling is disabled", desiredReplicas null) until its first decision; the temporary run
// directory is removed on SIGTERM and SIGINT, and stale ones of exited processes are swept; with
// --log-format json the replica logs are pure JSON (their stdout goes to <name>.out);
// replicas that never become ready stop surge up with an error naming a replica log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// TMPDIR for the surge up started by this test (the child inherits it): its run directory
// surge-local-<pid> lands in the scratch directory, where the test can see it.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const fs::path& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    fs::create_directories(dir);
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

std::string allLines(Process& p) {
  std::string out;
  for (const auto& l : p.lines()) out += l + "\n";
  return out;
}

bool hasWarning(const std::string& text) {
  return text.find("WARN") != std::string::npos || text.find("Warning") != std::string::npos;
}

nlohmann::json getJson(int port, const std::string& path) {
  HttpResult r = httpGet(port, path);
  if (r.status != 200) return nullptr;
  return nlohmann::json::parse(r.body, nullptr, false);
}

// Stops surge up with `sig` and checks it exits 0 with its run directory removed.
void stopAndCheckCleanUp(ServerProcess& up, int sig, const fs::path& run_dir) {
  ASSERT_TRUE(fs::is_directory(run_dir)) << run_dir;
  up.signal(sig);
  auto code = up.wait(40s);
  ASSERT_TRUE(code.has_value()) << "surge up did not stop; log:\n" << up.log();
  EXPECT_EQ(*code, 0) << up.log();
  EXPECT_FALSE(fs::exists(run_dir)) << run_dir << " left behind; log:\n" << up.log();
}

// The run directory named on the "starting N replicas (logs in DIR)" line.
fs::path runDirOf(Process& p) {
  for (const auto& l : p.lines()) {
    const auto at = l.find("(logs in ");
    if (at == std::string::npos) continue;
    const auto end = l.find(')', at);
    return l.substr(at + 9, end - at - 9);
  }
  return {};
}

TEST(UpStart, ReadyMeansServingAndTheStartIsQuiet) {
  ScratchDir dir("up-start");
  ScopedTmpdir tmp(dir / "tmp");
  ServerProcess up;
  // Sync every 5 s: the first decision comes well after the ready line (a rate needs two
  // scrapes of a ready replica, one sync apart), so /status is read while the autoscaler waits.
  std::vector<std::string> argv = {surgeBinary(), "up", "--synthetic", "--listen", "127.0.0.1:0",
                                   "--admin", "127.0.0.1:0", "--autoscaler-admin", "127.0.0.1:0",
                                   "--state-dir", dir.file("state"), "--log-level", "info",
                                   "--sync-period", "5s", "--synthetic-latency", "7ms",
                                   "--synthetic-max-batch", "4"};
  // Before the ready line: the gateway is up and answers 503 + Retry-After + a JSON error.
  std::string err;
  ASSERT_TRUE(up.process().start(argv, &err, dir.file("up.log"))) << err;
  auto starting = up.process().waitForLine("surge up: starting", 30s);
  ASSERT_TRUE(starting.has_value()) << readFile(dir.file("up.log"));
  const int early_port = portFromLine(*starting, "gateway on");
  ASSERT_GT(early_port, 0) << *starting;
  HttpResult early = httpGet(early_port, "/v2/health/ready");
  EXPECT_EQ(early.status, 503) << early.error;
  EXPECT_EQ(early.headers["retry-after"], "1");
  EXPECT_TRUE(nlohmann::json::parse(early.body, nullptr, false).contains("error")) << early.body;

  auto ready = up.process().waitForLine("surge up ready: listening on", 60s);
  ASSERT_TRUE(ready.has_value()) << allLines(up.process()) << readFile(dir.file("up.log"));
  const int port = portFromLine(*ready, "listening on");
  const int scaler = portFromLine(*ready, "autoscaler");
  ASSERT_EQ(port, early_port);
  // Right after the ready line, requests through the gateway succeed.
  HttpResult health = httpGet(port, "/v2/health/ready");
  EXPECT_EQ(health.status, 200) << health.error << health.body;
  HttpResult meta = httpGet(port, "/v2/models/mlp");
  EXPECT_EQ(meta.status, 200) << meta.error << meta.body;
  // The synthetic model as the flags shaped it.
  HttpResult config = httpGet(port, "/v2/models/mlp/config");
  ASSERT_EQ(config.status, 200) << config.error << config.body;
  nlohmann::json cj = nlohmann::json::parse(config.body, nullptr, false);
  EXPECT_EQ(cj.value("max_batch_size", 0), 4) << config.body;
  EXPECT_NE(config.body.find("7000"), std::string::npos) << config.body;  // base_latency_us

  // The autoscaler has synced (its first sync runs at start) and waits: no decision yet.
  nlohmann::json status = getJson(scaler, "/status");
  ASSERT_TRUE(status.is_object());
  EXPECT_GE(status["syncs"].get<int>(), 1) << status.dump();
  EXPECT_TRUE(status["desiredReplicas"].is_null()) << status.dump();
  EXPECT_EQ(status["currentReplicas"], 2) << status.dump();
  EXPECT_EQ(status.dump().find("scaling is disabled"), std::string::npos) << status.dump();
  EXPECT_NE(status.dump().find("WaitingForReadyPods"), std::string::npos) << status.dump();

  // The first decision: desiredReplicas becomes a number (the minimum, no traffic).
  nlohmann::json decided;
  ASSERT_TRUE(waitUntil(
      [&] {
        decided = getJson(scaler, "/status");
        return decided.is_object() && decided["desiredReplicas"].is_number();
      },
      30s, 100ms, "the first decision"))
      << decided.dump();
  EXPECT_EQ(decided["desiredReplicas"], 2);
  nlohmann::json events = getJson(scaler, "/events");
  EXPECT_EQ(events.dump().find("Warning"), std::string::npos) << events.dump();
  // No status line yet is fine; what was printed and logged holds no warning.
  EXPECT_FALSE(hasWarning(allLines(up.process()))) << allLines(up.process());
  EXPECT_FALSE(hasWarning(readFile(dir.file("up.log")))) << readFile(dir.file("up.log"));

  const fs::path run_dir = runDirOf(up.process());
  ASSERT_EQ(run_dir.parent_path(), dir / "tmp") << run_dir;
  stopAndCheckCleanUp(up, SIGTERM, run_dir);
}

pid_t deadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(UpStart, SigintRemovesTheRunDirectoryAndAStartSweepsStaleOnes) {
  ScratchDir dir("up-sigint");
  ScopedTmpdir tmp(dir / "tmp");
  // What a SIGKILLed surge up leaves: surge-local-<pid of an exited process> with replica logs.
  const fs::path stale = dir / "tmp" / ("surge-local-" + std::to_string(deadPid()));
  fs::create_directories(stale);
  std::ofstream(stale / "replica-1.log") << "{\"level\":\"info\"}\n";
  std::ofstream(stale / "replica-1.out") << "surge serve listening on 127.0.0.1:1\n";
  ServerProcess up;
  // With --log-format json: the replicas turn ready (their port is found in their stdout file)
  // and their logs hold nothing but JSON objects.
  ASSERT_TRUE(startUp(up, dir, {"--sync-period", "1s", "--log-format", "json"}));
  EXPECT_FALSE(fs::exists(stale));
  const fs::path run_dir = runDirOf(up.process());
  ASSERT_FALSE(run_dir.empty()) << allLines(up.process());
  const std::string log1 = readFile(run_dir / "replica-1.log");
  int json_lines = 0;
  for (size_t at = 0, nl; (nl = log1.find('\n', at)) != std::string::npos; at = nl + 1) {
    const std::string line = log1.substr(at, nl - at);  // complete lines only: it still writes
    EXPECT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object()) << line;
    ++json_lines;
  }
  EXPECT_GE(json_lines, 1) << log1;
  EXPECT_NE(readFile(run_dir / "replica-1.out").find("surge serve listening on"),
            std::string::npos);
  stopAndCheckCleanUp(up, SIGINT, run_dir);
}

TEST(UpStart, ReplicasThatNeverServeStopUpWithTheReplicaLog) {
  ScratchDir dir("up-broken");
  ScopedTmpdir tmp(dir / "tmp");
  // A model whose backend does not exist: every replica exits at start.
  writeModel(dir / "models", "broken",
             "name: \"broken\"\nbackend: \"no-such-backend\"\nmax_batch_size: 1\n"
             "input [ { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] } ]\n"
             "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] } ]\n");
  std::string out;
  const int code = runToExit({surgeBinary(), "up", "--model-repository", dir.file("models"),
                              "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                              "--autoscaler-admin", "127.0.0.1:0", "--state-dir",
                              dir.file("state"), "--ready-timeout", "40s"},
                             dir.file("up.log"), 60s, &out);
  const std::string log = readFile(dir.file("up.log"));
  EXPECT_EQ(code, 1) << out << log;
  EXPECT_EQ(out.find("surge up ready"), std::string::npos) << out;
  EXPECT_NE(log.find("see the replica log " + (dir / "tmp").string() + "/surge-local-"),
            std::string::npos)
      << log;
  // The logs it names are kept, and the KEPT marker (and the log line) say why: failures.
  bool kept_log = false;
  std::string kept_why;
  for (const auto& e : fs::directory_iterator(dir / "tmp")) {
    if (e.path().filename().string().rfind("surge-local-", 0) == 0) {
      kept_log = fs::exists(e.path() / "replica-1.log");
      kept_why = readFile(e.path() / "KEPT");
    }
  }
  EXPECT_TRUE(kept_log) << log;
  EXPECT_NE(kept_why.find("replica failure(s); logs kept"), std::string::npos) << kept_why;
  EXPECT_EQ(log.find("kept on request"), std::string::npos) << log;
}

TEST(UpStart, SyntheticModelFlagsWithoutSyntheticAreAUsageError) {
  ScratchDir dir("up-synthetic-flags");
  std::string out;
  EXPECT_EQ(runToExit({surgeBinary(), "up", "--synthetic-max-batch", "1"}, dir.file("up.log"), 30s,
                      &out),
            2);
  EXPECT_NE(readFile(dir.file("up.log")).find("--synthetic-max-batch shapes the synthetic demo "
                                              "model: give --synthetic too"),
            std::string::npos)
      << readFile(dir.file("up.log"));
}

TEST(UpStart, ARunDirThatIsAFileIsAUsageError) {
  ScratchDir dir("up-rundir");
  const std::string file = dir.write("not-a-dir", "x");
  std::string out;
  EXPECT_EQ(runToExit({surgeBinary(), "up", "--run-dir", file}, dir.file("up.log"), 30s, &out), 2);
  EXPECT_NE(readFile(dir.file("up.log")).find("--run-dir: '" + file + "' is not a directory"),
            std::string::npos)
      << readFile(dir.file("up.log"));
}

}  // namespace
}  // namespace surge::testing
