// Test support: the start-up fixtures shared by the integration tests — a per-test scratch
// directory, `surge upstream` / `surge gateway` / `surge serve` / `surge up` started from SURGE_BIN
// on 127.0.0.1 port 0 and waited for (their "listening on" line, readiness), synthetic model
// repositories, and one-shot runs of a command to its exit. Every start is bounded in time and
// reports why it failed (with the process's log); every process is stopped by its destructor.
// Thread-safety: none (test thread only).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

namespace surge::testing {

// Text of a file, or "" when it cannot be read.
std::string readFile(const std::filesystem::path& path);

// <tmp>/surge-<prefix>-<pid>-<test name>: created empty, removed (with everything in it) by the
// destructor. The test name keeps parallel ctest runs of one binary apart.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // (path / name) as a string, for argv and log paths.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Writes `text` to path / name (parent directories created); returns the path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A long-running surge (or other) process under test: its Process, its stderr log, and the ports
// on the stdout line it printed when it was ready.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts argv (stderr to `log_path`) and waits up to `timeout` for a stdout line containing
  // `ready`. The failure message carries the log.
  ::testing::AssertionResult start(const std::vector<std::string>& argv, const std::string& log_path,
                                   const std::string& ready = "listening on",
                                   std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // The port after "listening on" on the ready line (-1 if none).
  int port() const;
  // The first host:port after `label` on the ready line ("admin", "autoscaler", ...), or -1.
  int portAfter(const std::string& label) const;
  const std::string& line() const { return line_; }
  std::string log() const { return readFile(log_path_); }
  const std::string& logPath() const { return log_path_; }
  Process& process() { return process_; }
  int pid() const { return process_.pid(); }
  bool running() { return process_.running(); }
  void signal(int sig) { process_.signal(sig); }
  std::optional<int> wait(std::chrono::milliseconds timeout) { return process_.wait(timeout); }
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000)) {
    process_.stop(grace);
  }

 private:
  Process process_;
  std::string log_path_;
  std::string line_;
};

// `surge upstream --listen 127.0.0.1:0 --name NAME EXTRA...` (a demo replica that names itself in
// its JSON answers), log in dir/NAME.log.
::testing::AssertionResult startUpstream(ServerProcess& p, const ScratchDir& dir,
                                         const std::string& name,
                                         const std::vector<std::string>& extra = {});

// The start of a local gateway config: client and admin listeners on 127.0.0.1 port 0, 2 workers.
inline constexpr const char* kLocalGateway =
    "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nworkers: 2\n";
// "backends:" listing 127.0.0.1:PORT for each port.
std::string backendsYaml(const std::vector<int>& ports);

// Writes `yaml` (the whole config) to dir/gateway.yaml and starts `surge gateway --config` on it,
// log in dir/gateway.log; port() is the client port, portAfter("admin") the admin port.
::testing::AssertionResult startGateway(ServerProcess& p, const ScratchDir& dir,
                                        const std::string& yaml);

// A synthetic-backend config.pbtxt: input x FP32 [4], output y FP32 [2], then `extra`.
std::string syntheticConfig(int max_batch, const std::string& extra = "");
// Writes repo/NAME/config.pbtxt and one empty directory per version.
void writeModel(const std::filesystem::path& repo, const std::string& name,
                const std::string& config, const std::vector<std::string>& versions = {"1"});

// Waits until GET /v2/health/ready on 127.0.0.1:port answers 200.
::testing::AssertionResult waitReady(int port, std::chrono::milliseconds timeout);

// `surge serve --model-repository REPO --listen 127.0.0.1:0 EXTRA...`, log at `log_path`; waits
// for "surge serve listening on" and, when `ready_timeout` > 0, for readiness.
::testing::AssertionResult startServe(ServerProcess& p, const std::filesystem::path& repo,
                                      const std::string& log_path,
                                      const std::vector<std::string>& extra = {},
                                      std::chrono::milliseconds ready_timeout =
                                          std::chrono::seconds(15));

// `surge up --synthetic` with its three listeners on 127.0.0.1 port 0, state in dir/state, log in
// dir/up.log, then EXTRA...; waits for "surge up ready: listening on" (printed once the first
// replicas serve through the gateway). port() is the gateway, portAfter("(admin") the gateway
// admin, portAfter("autoscaler") the autoscaler admin.
::testing::AssertionResult startUp(ServerProcess& p, const ScratchDir& dir,
                                   const std::vector<std::string>& extra = {},
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs argv to its exit (stderr to `log_path`), reading stdout into *out (when non-null). Returns
// the exit code, or -1 when it could not start or did not exit within `timeout` (then killed).
int runToExit(const std::vector<std::string>& argv, const std::string& log_path,
              std::chrono::milliseconds timeout = std::chrono::seconds(30),
              std::string* out = nullptr);

}  // namespace surge::testing
