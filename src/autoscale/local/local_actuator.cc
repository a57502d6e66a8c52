#include "autoscale/local/local_actuator.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string_view>

#include "common/logging.h"

extern char** environ;

namespace surge::autoscale {
namespace {

constexpr const char* kLog = "autoscale.local";
constexpr std::chrono::milliseconds kMaxTick(100);

// The bytes of `path` from `offset` to its end (at most `max`), read through a close-on-exec
// descriptor (std::ifstream's is not: a replica spawned meanwhile by another thread would inherit
// it, were it not for the close_range in the child). `offset` < 0: the last `max` bytes.
std::string readFrom(const std::string& path, off_t offset, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  if (offset < 0) {
    off_t size = ::lseek(fd, 0, SEEK_END);
    offset = std::max<off_t>(0, size - static_cast<off_t>(max));
  }
  std::string out;
  char buf[8192];
  while (out.size() < max) {
    ssize_t n = ::pread(fd, buf, std::min(sizeof buf, max - out.size()), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  ::close(fd);
  return out;
}

// The last non-empty line of a replica's log, for crash messages.
std::string lastLogLine(const std::string& path) {
  std::string tail = readFrom(path, -1, 4096);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  size_t nl = tail.rfind('\n');
  return nl == std::string::npos ? tail : tail.substr(nl + 1);
}

// Scans the complete lines of `path` after `*offset` for "listening on HOST:PORT" (and moves
// `*offset` past them). False when there is none yet.
bool scanListening(const std::string& path, size_t* offset, std::string* host, int* port) {
  std::string chunk = readFrom(path, static_cast<off_t>(*offset), 1 << 20);
  size_t last_nl = chunk.rfind('\n');
  if (last_nl == std::string::npos) return false;  // no complete line yet
  std::string lines = chunk.substr(0, last_nl + 1);
  *offset += lines.size();
  static const std::regex re(R"(listening on (\d+\.\d+\.\d+\.\d+|localhost|\[[0-9a-fA-F:]+\]):(\d+))");
  std::smatch m;
  if (!std::regex_search(lines, m, re)) return false;
  const int p = std::atoi(m[2].str().c_str());
  if (p <= 0 || p > 65535) return false;
  *host = m[1].str();
  *port = p;
  return true;
}

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Closes every descriptor >= `from` except `keep`, in a forked child (async-signal-safe):
// close_range(2) (Linux 5.9), else a loop up to the descriptor limit.
void closeDescriptorsFrom(int from, int keep) {
#ifdef SYS_close_range
  bool ok = true;
  if (keep >= from) {
    if (keep > from) ok = ::syscall(SYS_close_range, from, keep - 1, 0) == 0;
    ok = ok && ::syscall(SYS_close_range, keep + 1, ~0U, 0) == 0;
  } else {
    ok = ::syscall(SYS_close_range, from, ~0U, 0) == 0;
  }
  if (ok) return;
#endif
  rlimit lim{};
  int max = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    max = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 1 << 20));
  }
  for (int fd = from; fd < max; ++fd) {
    if (fd != keep) ::close(fd);
  }
}

// `command` as execve() wants it: unchanged when it has a '/', else the first executable of
// that name on PATH ("" when none).
std::string resolveExecutable(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

constexpr std::string_view kRunDirPrefix = "surge-local-";
constexpr const char* kKeptMarker = "KEPT";

}  // namespace

int removeStaleRunDirs(const std::filesystem::path& temp_dir, pid_t self) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(temp_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kRunDirPrefix, 0) != 0) continue;
    const std::string digits = name.substr(kRunDirPrefix.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::atol(digits.c_str()));
    if (pid <= 0 || pid == self) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != ::getuid()) {
      continue;
    }
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to know)
    // Only what an actuator writes there: replica logs and stdout files, no KEPT marker, no
    // subdirectory.
    bool only_logs = true;
    std::error_code list_ec;
    for (const auto& f : fs::directory_iterator(entry.path(), list_ec)) {
      const std::string fname = f.path().filename().string();
      if (!f.is_regular_file() || !(endsWith(fname, ".log") || endsWith(fname, ".out"))) {
        only_logs = false;
        break;
      }
    }
    if (list_ec || !only_logs) continue;
    std::error_code rm_ec;
    fs::remove_all(entry.path(), rm_ec);
    if (!rm_ec) ++removed;
  }
  return removed;
}

StatusOr<std::unique_ptr<LocalActuator>> LocalActuator::create(LocalTargetConfig config,
                                                               Clock& clock) {
  ASSIGN_OR_RETURN(GatewayAdminClient admin,
                   GatewayAdminClient::create(config.gateway_admin, config.gateway_token));
  std::string run_dir = config.run_dir;
  const bool owns_run_dir = run_dir.empty();
  if (owns_run_dir) {
    std::error_code tmp_ec;
    const std::filesystem::path tmp = std::filesystem::temp_directory_path(tmp_ec);
    if (tmp_ec) return invalidArgument("no temporary directory: " + tmp_ec.message());
    if (int n = removeStaleRunDirs(tmp, ::getpid()); n > 0) {
      SURGE_LOG(kInfo, kLog,
                "removed " + std::to_string(n) + " run director" + (n == 1 ? "y" : "ies") +
                    " of exited surge processes from " + tmp.string());
    }
    run_dir = (tmp / (std::string(kRunDirPrefix) + std::to_string(::getpid()))).string();
  }
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec || !std::filesystem::is_directory(run_dir)) {
    return invalidArgument("cannot create the run directory '" + run_dir +
                           "': " + (ec ? ec.message() : "not a directory"));
  }
  return std::unique_ptr<LocalActuator>(
      new LocalActuator(std::move(config), clock, std::move(admin), std::move(run_dir),
                        owns_run_dir));
}

LocalActuator::LocalActuator(LocalTargetConfig config, Clock& clock, GatewayAdminClient admin,
                             std::string run_dir, bool owns_run_dir)
    : config_(std::move(config)),
      clock_(clock),
      admin_(std::move(admin)),
      run_dir_(std::move(run_dir)),
      owns_run_dir_(owns_run_dir),
      backoff_(config_.backoff_initial, config_.backoff_max, config_.backoff_reset_after) {}

LocalActuator::~LocalActuator() { shutdown(); }

Status LocalActuator::start() {
  std::lock_guard lock(mu_);
  if (started_) return failedPrecondition("the local actuator is already started");
  if (shut_down_) return failedPrecondition("the local actuator is shut down");
  started_ = true;
  SURGE_LOG(kInfo, kLog,
            "local replicas: " + config_.command + " (run dir " + run_dir_ + ", gateway " +
                admin_.url() + ", min " + std::to_string(config_.min_replicas) + ", max " +
                std::to_string(config_.max_replicas) + ")");
  thread_ = std::thread([this] { supervise(); });
  return Status::ok();
}

StatusOr<ScaleState> LocalActuator::getScale() {
  std::lock_guard lock(mu_);
  // Before the first setScale the supervisor runs (starts) the floor: that is the target's spec,
  // not 0 (which the HPA reads as "scaling disabled").
  const int32_t spec =
      scale_set_ ? desired_ : effectiveReplicas(0, config_.min_replicas, config_.max_replicas);
  return ScaleState{spec, live_};
}

Status LocalActuator::setScale(int32_t replicas) {
  if (replicas < 0) {
    return invalidArgument("replicas must be >= 0, found " + std::to_string(replicas));
  }
  {
    std::lock_guard lock(mu_);
    if (desired_ != replicas) {
      int32_t wanted = effectiveReplicas(replicas, config_.min_replicas, config_.max_replicas);
      SURGE_LOG(kInfo, kLog,
                "scale " + std::to_string(desired_) + " -> " + std::to_string(replicas) +
                    (wanted != replicas ? " (running " + std::to_string(wanted) +
                                              ": min_replicas/max_replicas of the local target)"
                                        : ""));
    }
    desired_ = replicas;
    scale_set_ = true;
  }
  cv_.notify_all();
  return Status::ok();
}

StatusOr<std::vector<PodInfo>> LocalActuator::listPods() {
  std::lock_guard lock(mu_);
  return pods_;
}

int64_t LocalActuator::crashCount() const {
  std::lock_guard lock(mu_);
  return crashes_;
}

void LocalActuator::supervise() {
  const Duration tick = std::min<Duration>(config_.probe_period, kMaxTick);
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    this->tick(clock_.now());
    lock.lock();
    if (stop_) break;
    cv_.wait_for(lock, tick);
  }
  lock.unlock();
  // Replicas die with the thread that spawned them (PR_SET_PDEATHSIG follows the thread, not the
  // process): drain and stop them here, before this thread exits, or they would be SIGKILLed
  // the moment it does.
  stopAll();
}

void LocalActuator::reap(Replica& r) {
  if (r.exited || r.pid <= 0) return;
  int status = 0;
  pid_t got = ::waitpid(r.pid, &status, WNOHANG);
  if (got == r.pid || (got < 0 && errno == ECHILD)) {
    r.exited = true;
    r.exit_status = status;
  }
}

void LocalActuator::discoverPort(Replica& r) {
  // `surge serve` prints it on stdout; another command may print it in its log (stderr).
  std::string host;
  int port = 0;
  if (!scanListening(r.out_path, &r.out_offset, &host, &port) &&
      !scanListening(r.log_path, &r.log_offset, &host, &port)) {
    return;
  }
  if (host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
  r.port = static_cast<uint16_t>(port);
  r.address = host + ":" + std::to_string(port);
  SURGE_LOG(kDebug, kLog, r.name + " listening on " + r.address);
}

void LocalActuator::probe(Replica& r, TimePoint now) {
  auto reply = net::httpGet("http://" + r.address + config_.probe_path,
                            net::ClientOptions::withTimeout(config_.probe_timeout));
  bool ok = reply.isOk() && reply->status >= 200 && reply->status < 400;
  TimePoint after = clock_.now();
  r.next_probe = std::max(after, now) + config_.probe_period;
  if (applyProbe(r.probe, ok, after, config_.failure_threshold)) {
    SURGE_LOG_FIELDS(
        kInfo, kLog,
        r.name + " (" + r.address + ", pid " + std::to_string(r.pid) + ") is " +
            (r.probe.ready ? "ready" : "not ready") +
            (r.probe.ready ? " after " + std::to_string(toSeconds(after - r.started)) + " s" : ""),
        {{"event", r.probe.ready ? "replica_ready" : "replica_not_ready"},
         {"replica", r.name},
         {"address", r.address},
         {"pid", r.pid},
         {"seconds", toSeconds(after - r.started)}});
  }
}

void LocalActuator::syncGateway(Replica& r, TimePoint now) {
  if (r.phase == ReplicaPhase::kStopping) return;
  if (r.probe.ready) {
    r.phase = ReplicaPhase::kReady;
    int32_t weight = slowStartWeight(config_.weight, r.joined, config_.slow_start, now);
    if (!r.in_gateway) {
      if (now < r.next_gateway_try) return;
      r.joined = now;
      weight = slowStartWeight(config_.weight, now, config_.slow_start, now);
      Status s = admin_.addBackend(r.address, weight, config_.zone);
      if (!s.isOk()) {
        r.next_gateway_try = now + std::chrono::seconds(1);
        SURGE_LOG(kWarn, kLog, r.name + " is ready but not in the gateway yet: " + s.message());
        return;
      }
      r.in_gateway = true;
      r.gateway_weight = weight;
      SURGE_LOG(kInfo, kLog,
                "added " + r.name + " (" + r.address + ") to the gateway, weight " +
                    std::to_string(weight));
    } else if (weight != r.gateway_weight) {
      if (admin_.setWeight(r.address, weight).isOk()) r.gateway_weight = weight;
    }
  } else if (r.probe.ever_ready) {
    r.phase = ReplicaPhase::kNotReady;
    if (r.in_gateway) {
      Status s = admin_.removeBackend(r.address);
      if (s.isOk() || s.code() == StatusCode::kNotFound) {
        r.in_gateway = false;
        SURGE_LOG(kWarn, kLog, "removed not-ready " + r.name + " (" + r.address +
                                   ") from the gateway");
      }
    }
  }
}

void LocalActuator::beginStop(Replica& r, TimePoint now, bool crashed) {
  if (r.phase == ReplicaPhase::kStopping) return;
  r.phase = ReplicaPhase::kStopping;
  r.crashed = crashed;
  if (!r.in_gateway) return;
  if (crashed) {
    Status s = admin_.removeBackend(r.address);
    if (!s.isOk() && s.code() != StatusCode::kNotFound) {
      SURGE_LOG(kWarn, kLog, "could not remove " + r.address + ": " + s.message());
    }
    r.in_gateway = false;
    return;
  }
  auto drained = admin_.drainBackend(r.address);
  if (drained.isOk() && !*drained) {
    r.drain_requested = true;
    r.drain_deadline = now + config_.drain_timeout;
    SURGE_LOG(kInfo, kLog, "draining " + r.name + " (" + r.address + ") in the gateway");
    return;
  }
  if (!drained.isOk() && drained.status().code() != StatusCode::kNotFound) {
    // The gateway cannot be reached: the replica's own SIGTERM drain still finishes what it has.
    SURGE_LOG(kWarn, kLog, "could not drain " + r.address + ": " + drained.status().message());
  }
  r.in_gateway = false;
}

void LocalActuator::advanceStop(Replica& r, TimePoint now) {
  if (r.exited) return;
  if (r.in_gateway && r.drain_requested) {
    auto b = admin_.getBackend(r.address);
    if (b.isOk() && !b->has_value()) {
      r.in_gateway = false;
      SURGE_LOG(kInfo, kLog, r.name + " drained (no request in flight)");
    } else if (now >= r.drain_deadline) {
      (void)admin_.removeBackend(r.address);
      r.in_gateway = false;
      SURGE_LOG(kWarn, kLog, r.name + " still busy after drain_timeout; removing it");
    } else {
      return;
    }
  }
  if (!r.term_sent) {
    ::kill(-r.pid, SIGTERM);
    r.term_sent = true;
    r.kill_deadline = now + config_.termination_grace_period;
    SURGE_LOG_FIELDS(kInfo, kLog, "SIGTERM " + r.name + " (pid " + std::to_string(r.pid) + ")",
                     {{"event", "replica_stopping"}, {"replica", r.name}, {"pid", r.pid}});
    return;
  }
  if (!r.kill_sent && now >= r.kill_deadline) {
    ::kill(-r.pid, SIGKILL);
    r.kill_sent = true;
    SURGE_LOG(kWarn, kLog,
              "SIGKILL " + r.name + " (pid " + std::to_string(r.pid) +
                  "): still running after termination_grace_period");
  }
}

Status LocalActuator::spawn(TimePoint now) {
  Replica r;
  r.sequence = next_sequence_++;
  r.name = config_.name_prefix + "-" + std::to_string(r.sequence);
  r.log_path = run_dir_ + "/" + r.name + ".log";
  r.out_path = run_dir_ + "/" + r.name + ".out";
  r.started = now;
  r.next_probe = now;

  std::vector<std::string> argv = {config_.command};
  for (const auto& a : config_.args) {
    argv.push_back(
        expandLocalTemplate(a, config_.model_repository, r.name, r.sequence, run_dir_));
  }
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (config_.env.count(key) == 0) env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : config_.env) {
    env.push_back(k + "=" +
                  expandLocalTemplate(v, config_.model_repository, r.name, r.sequence, run_dir_));
  }
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  std::string exe = resolveExecutable(config_.command);
  if (exe.empty()) {
    return unavailable("cannot start " + config_.command + ": " + std::strerror(ENOENT));
  }
  // fork + exec rather than posix_spawn: the child must also ask to die with us
  // (PR_SET_PDEATHSIG) and close every inherited descriptor, which posix_spawn cannot express.
  // Between fork and exec the child runs only async-signal-safe calls on memory prepared here.
  // Own process group (Ctrl-C to the parent does not reach it; we drain it first), default
  // signal dispositions and an empty mask whatever the spawning thread had.
  sigset_t empty;
  sigemptyset(&empty);
  const int kDefaultSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD};
  int err_pipe[2];  // the child reports a failed exec (errno) here; EOF = exec succeeded
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return unavailable(std::string("cannot start ") + config_.command + ": pipe: " +
                       std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const char* log_path = r.log_path.c_str();
  const char* out_path = r.out_path.c_str();
  pid_t pid = ::fork();
  if (pid == 0) {
    auto fail = [&](int err) {
      ssize_t ignored = ::write(err_pipe[1], &err, sizeof err);
      (void)ignored;
      ::_exit(127);
    };
    ::setpgid(0, 0);
    // Die with surge up, even by SIGKILL; and if it died already, before the prctl, go now.
    // (The signal follows the spawning thread: the supervisor, which outlives its replicas.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : kDefaultSignals) ::sigaction(sig, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // stderr is the replica's log; stdout (ready lines a JSON log must not contain) its own file.
    int out = ::open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in < 0 || out < 0 || err < 0) fail(errno);
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
      fail(errno);
    }
    // Nothing of ours reaches the replica: not the gateway's listening or session sockets, not
    // the autoscaler's (even one opened by a library without O_CLOEXEC).
    closeDescriptorsFrom(3, err_pipe[1]);
    ::execve(exe.c_str(), cargv.data(), cenv.data());
    fail(errno);
  }
  ::close(err_pipe[1]);
  int spawn_err = 0;
  if (pid < 0) {
    spawn_err = errno;
  } else {
    int child_err = 0;
    ssize_t n;
    do {
      n = ::read(err_pipe[0], &child_err, sizeof child_err);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof child_err)) {
      spawn_err = child_err;
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
  ::close(err_pipe[0]);
  if (spawn_err != 0) {
    return unavailable("cannot start " + config_.command + ": " + std::strerror(spawn_err));
  }
  r.pid = pid;
  std::string cmdline;
  for (const auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
  SURGE_LOG_FIELDS(kInfo, kLog,
                   "started " + r.name + " (pid " + std::to_string(pid) + "): " + cmdline + " > " +
                       r.out_path + " 2> " + r.log_path,
                   {{"event", "replica_started"},
                    {"replica", r.name},
                    {"pid", pid},
                    {"command", cmdline},
                    {"log", r.log_path},
                    {"stdout", r.out_path}});
  replicas_.push_back(std::move(r));
  return Status::ok();
}

void LocalActuator::tick(TimePoint now) {
  for (auto& r : replicas_) reap(r);

  int64_t new_crashes = 0;
  for (auto& r : replicas_) {
    if (r.phase == ReplicaPhase::kStopping) continue;
    if (!r.exited && r.port == 0) discoverPort(r);
    if (!r.exited && r.port != 0 && now >= r.next_probe) probe(r, now);
    ReplicaVerdict v = judgeReplica(
        ReplicaFacts{r.phase, r.exited, r.started, r.probe}, clock_.now(), config_.ready_timeout,
        config_.unready_timeout);
    if (v != ReplicaVerdict::kOk) {
      std::string why = replicaVerdictName(v);
      if (r.exited) why += " (" + describeExit(r.exit_status) + ")";
      std::string last = lastLogLine(r.log_path);
      if (last.empty()) last = lastLogLine(r.out_path);
      SURGE_LOG_FIELDS(kWarn, kLog,
                       "replica " + r.name + " (pid " + std::to_string(r.pid) + ") failed: " +
                           why + "; replacing it" +
                           (last.empty() ? "" : "; last log line: " + last),
                       {{"event", "replica_failed"},
                        {"replica", r.name},
                        {"pid", r.pid},
                        {"reason", why},
                        {"last_log_line", last}});
      ++new_crashes;
      backoff_.onCrash(now);
      beginStop(r, now, /*crashed=*/true);
      continue;
    }
    syncGateway(r, clock_.now());
    if (r.phase == ReplicaPhase::kReady && r.probe.last_transition) {
      backoff_.onReady(*r.probe.last_transition, now);
    }
  }

  int32_t desired;
  {
    std::lock_guard lock(mu_);
    desired = desired_;
    crashes_ += new_crashes;
  }
  int32_t wanted = effectiveReplicas(desired, config_.min_replicas, config_.max_replicas);
  std::vector<ReplicaRank> ranks;
  ranks.reserve(replicas_.size());
  for (const auto& r : replicas_) {
    ReplicaRank rank{r.phase, std::nullopt, r.sequence};
    if (r.phase == ReplicaPhase::kReady) rank.ready_since = r.probe.last_transition;
    ranks.push_back(rank);
  }
  ConvergePlan plan = planConverge(wanted, ranks, backoff_.mayStart(now));
  for (size_t i : plan.stop) {
    SURGE_LOG(kInfo, kLog, "scale-in: removing " + replicas_[i].name + " (" +
                               replicaPhaseName(replicas_[i].phase) + ")");
    beginStop(replicas_[i], clock_.now(), /*crashed=*/false);
  }
  for (int32_t i = 0; i < plan.start; ++i) {
    Status s = spawn(clock_.now());
    if (!s.isOk()) {
      SURGE_LOG(kError, kLog, s.message());
      backoff_.onCrash(now);
      std::lock_guard lock(mu_);
      ++crashes_;
      break;
    }
  }

  for (auto& r : replicas_) {
    if (r.phase == ReplicaPhase::kStopping) advanceStop(r, clock_.now());
  }
  for (auto& r : replicas_) reap(r);
  std::erase_if(replicas_, [](const Replica& r) {
    return r.phase == ReplicaPhase::kStopping && r.exited;
  });
  publish();
}

PodInfo LocalActuator::podOf(const Replica& r) const {
  PodInfo p;
  p.name = r.name;
  p.start_time = r.started;
  p.requests_milli = config_.requests_milli;
  p.address = r.address;
  p.pid = r.pid;
  p.zone = config_.zone;
  switch (r.phase) {
    case ReplicaPhase::kStarting:
      p.phase = "Pending";
      p.ready = ReadyCondition{false, r.started};
      break;
    case ReplicaPhase::kReady:
    case ReplicaPhase::kNotReady:
      p.phase = "Running";
      p.ready = ReadyCondition{r.probe.ready, r.probe.last_transition.value_or(r.started)};
      break;
    case ReplicaPhase::kStopping:
      p.phase = r.exited ? (r.crashed ? "Failed" : "Succeeded") : "Running";
      p.deleted = true;
      p.ready = ReadyCondition{false, r.probe.last_transition.value_or(r.started)};
      break;
  }
  return p;
}

void LocalActuator::publish() {
  std::vector<PodInfo> pods;
  int32_t live = 0;
  for (const auto& r : replicas_) {
    if (r.phase != ReplicaPhase::kStopping) {
      pods.push_back(podOf(r));
      ++live;
    }
  }
  for (const auto& r : replicas_) {
    if (r.phase == ReplicaPhase::kStopping) pods.push_back(podOf(r));
  }
  std::lock_guard lock(mu_);
  pods_ = std::move(pods);
  live_ = live;
}

void LocalActuator::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // the supervisor stops its replicas before it exits
  stopAll();                                // replicas started without the thread (tests' tick())
  cleanUpRunDir();
}

bool LocalActuator::runDirKept() const {
  std::lock_guard lock(mu_);
  return run_dir_kept_;
}

void LocalActuator::keepRunDir(std::string reason) {
  std::lock_guard lock(mu_);
  keep_run_dir_ = true;
  keep_reason_ = std::move(reason);
}

void LocalActuator::cleanUpRunDir() {
  if (!owns_run_dir_) return;  // the user's directory: logs stay
  int64_t crashes;
  bool keep;
  std::string keep_reason;
  {
    std::lock_guard lock(mu_);
    crashes = crashes_;
    keep = keep_run_dir_;
    keep_reason = keep_reason_;
  }
  std::error_code ec;
  if (crashes == 0 && !keep) {
    std::filesystem::remove_all(run_dir_, ec);
    if (ec) SURGE_LOG(kWarn, kLog, "cannot remove " + run_dir_ + ": " + ec.message());
    return;
  }
  // A replica failed (or the caller reports an error naming a log): the logs are the evidence.
  // Marked so that a later start does not take the directory for a crashed run's leftovers.
  // Failures are named whenever there were any, whoever asked to keep the logs.
  const std::string why =
      crashes > 0 ? std::to_string(crashes) + " replica failure(s); logs kept\n"
                  : (keep_reason.empty() ? std::string("kept on request") : keep_reason) +
                        "; logs kept\n";
  int fd = ::open((run_dir_ + "/" + kKeptMarker).c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t ignored = ::write(fd, why.data(), why.size());
    (void)ignored;
    ::close(fd);
  }
  {
    std::lock_guard lock(mu_);
    run_dir_kept_ = true;
  }
  SURGE_LOG(kInfo, kLog, "replica logs kept in " + run_dir_ + " (" + why.substr(0, why.size() - 1) + ")");
}

void LocalActuator::stopAll() {
  if (replicas_.empty()) {
    publish();
    return;
  }
  SURGE_LOG(kInfo, kLog, "stopping " + std::to_string(replicas_.size()) + " local replicas");
  for (auto& r : replicas_) {
    reap(r);
    beginStop(r, clock_.now(), /*crashed=*/false);
  }
  // The loop is bounded in real time whatever the injected clock does.
  auto real_deadline = std::chrono::steady_clock::now() + config_.drain_timeout +
                       config_.termination_grace_period + std::chrono::seconds(5);
  for (;;) {
    bool all_exited = true;
    for (auto& r : replicas_) {
      reap(r);
      advanceStop(r, clock_.now());
      all_exited = all_exited && r.exited;
    }
    if (all_exited || std::chrono::steady_clock::now() >= real_deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& r : replicas_) {
    if (r.exited || r.pid <= 0) continue;
    ::kill(-r.pid, SIGKILL);
    int status = 0;
    ::waitpid(r.pid, &status, 0);
    r.exited = true;
  }
  replicas_.clear();
  publish();
}

}  // namespace surge::autoscale
