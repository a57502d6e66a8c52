#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <thread>

namespace surge::testing {
namespace {

// In the forked child (async-signal-safe): close every descriptor >= 3, so the process under test
// inherits nothing of the test (listeners, other processes' pipes).
void closeDescriptorsFrom3() {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3, ~0U, 0) == 0) return;
#endif
  rlimit lim{};
  int max = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (1u << 20)) {
    max = static_cast<int>(lim.rlim_cur);
  }
  for (int fd = 3; fd < max; ++fd) close(fd);
}

}  // namespace

Process::Process(Process&& o) noexcept { *this = std::move(o); }

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    stop();
    pid_ = o.pid_;
    out_fd_ = o.out_fd_;
    buffer_ = std::move(o.buffer_);
    lines_ = std::move(o.lines_);
    exit_status_ = o.exit_status_;
    o.pid_ = -1;
    o.out_fd_ = -1;
  }
  return *this;
}

Process::~Process() { stop(); }

bool Process::start(const std::vector<std::string>& argv, std::string* error,
                    const std::string& stderr_path) {
  stop();  // a Process may be started again: forget the previous run
  exit_status_.reset();
  buffer_.clear();
  lines_.clear();
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    // A test killed (or crashing) does not leave its processes behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(pipefd[1], STDOUT_FILENO);
    if (!stderr_path.empty()) {
      int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) dup2(fd, STDERR_FILENO);
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    closeDescriptorsFrom3();
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, to win the race
  close(pipefd[1]);
  pid_ = pid;
  out_fd_ = pipefd[0];
  fcntl(out_fd_, F_SETFL, fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
  return true;
}

std::optional<std::string> Process::waitForLine(const std::string& needle,
                                                std::chrono::milliseconds timeout) {
  for (const auto& l : lines_) {
    if (l.find(needle) != std::string::npos) return l;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n == 0) {
      close(out_fd_);
      out_fd_ = -1;
      break;
    }
    if (n < 0) continue;
    buffer_.append(buf, static_cast<size_t>(n));
    size_t pos;
    std::optional<std::string> found;
    while ((pos = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, pos);
      buffer_.erase(0, pos + 1);
      lines_.push_back(line);
      if (!found && line.find(needle) != std::string::npos) found = line;
    }
    if (found) return found;
  }
  return std::nullopt;
}

bool Process::running() {
  if (pid_ <= 0 || exit_status_) return false;
  return !wait(std::chrono::milliseconds(0)).has_value();
}

void Process::signal(int sig) {
  if (pid_ > 0 && !exit_status_) kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Process::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    if (!exit_status_) {
      kill(-pid_, SIGTERM);
      if (!wait(grace)) {
        kill(-pid_, SIGKILL);
        wait(std::chrono::milliseconds(5000));
      }
    }
    kill(-pid_, SIGKILL);  // anything left in the group
    pid_ = -1;
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

std::string surgeBinary() {
  if (const char* p = std::getenv("SURGE_BIN")) return p;
  return "surge";
}

int portFromLine(const std::string& line, const std::string& after) {
  size_t start = 0;
  if (!after.empty()) {
    start = line.find(after);
    if (start == std::string::npos) return -1;
    start += after.size();
  }
  static const std::regex re(R"((?:\d+\.\d+\.\d+\.\d+|localhost|\[[0-9a-fA-F:]+\]):(\d+))");
  std::smatch m;
  std::string rest = line.substr(start);
  if (!std::regex_search(rest, m, re)) return -1;
  return std::atoi(m[1].str().c_str());
}

}  // namespace surge::testing
