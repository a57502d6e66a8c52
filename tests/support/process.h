// Test support: start a real process (surge, redis-server, promtool...) in its own process group,
// read its stdout lines, signal it, and always stop it (destructor kills the group).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace surge::testing {

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  // Starts argv[0] (searched in PATH) with stdout piped to us and stderr to `stderr_path` (or
  // inherited when empty). Returns false and sets *error on failure. A process still running from
  // an earlier start() is stopped first.
  bool start(const std::vector<std::string>& argv, std::string* error,
             const std::string& stderr_path = "");

  // Reads stdout lines until one contains `needle`; returns the line, or nullopt on timeout/EOF.
  std::optional<std::string> waitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  // All stdout lines read so far.
  const std::vector<std::string>& lines() const { return lines_; }

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit up to `timeout`; returns the exit status (WEXITSTATUS, or 128+signal), or
  // nullopt if still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`, to the whole process group.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  std::vector<std::string> lines_;
  std::optional<int> exit_status_;
};

// Path of the surge binary under test (from the SURGE_BIN environment variable set by ctest, or
// the build tree default).
std::string surgeBinary();

// Extracts the port from "... 127.0.0.1:PORT ..." (the first host:port after `after`, if given).
int portFromLine(const std::string& line, const std::string& after = "");

}  // namespace surge::testing
