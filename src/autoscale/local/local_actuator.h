// LocalActuator: a ScaleTarget that runs `surge serve` replicas as child processes on this machine
// and puts them behind the gateway through its admin API (issue 3, target.kind: local).
//
// Lifecycle of a replica (docs/design/local-actuator.md):
//   spawn (fork + execve: own process group, stdout+stderr → <run_dir>/<name>.log, no other
//   descriptor inherited, PR_SET_PDEATHSIG: dies with its parent)
//   → read "listening on HOST:PORT" from its log → probe GET <probe.path> every probe.period
//   → first 200: Ready (warm-up happens before ready) → POST /backends (slow start)
//   → scale-in victim: DELETE /backends/{addr}?drain=true, wait until the gateway dropped it
//     (in-flight 0) or drain_timeout → SIGTERM → termination_grace_period → SIGKILL.
//   A replica that exits unexpectedly, is not ready within ready_timeout, or stays not ready for
//   unready_timeout is removed from the gateway at once and replaced (crash-loop backoff).
// setScale() returns at once; a supervisor thread converges the replicas to
// clamp(desired, min_replicas, max_replicas). Decisions live in replica_policy.h.
//
// Thread-safety: getScale/setScale/listPods/shutdown may be called from any thread; the
// supervisor thread owns the processes and publishes a snapshot under a mutex.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <filesystem>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "autoscale/local/gateway_admin_client.h"
#include "autoscale/local/local_target_config.h"
#include "autoscale/local/replica_policy.h"
#include "autoscale/scale_target.h"
#include "common/clock.h"

namespace surge::autoscale {

// Removes the run directories <temp_dir>/surge-local-<pid> that earlier actuators made and could
// not clean up (their process was killed): only when that pid is not running, the directory is
// ours (uid) and holds nothing but replica logs (*.log; no KEPT marker, no subdirectory). Never
// `self`'s. Returns how many were removed.
int removeStaleRunDirs(const std::filesystem::path& temp_dir, pid_t self);

class LocalActuator final : public ScaleTarget {
 public:
  // Validates the gateway URL and creates the run directory; start() launches the supervisor.
  static StatusOr<std::unique_ptr<LocalActuator>> create(LocalTargetConfig config,
                                                         Clock& clock = SteadyClock::instance());
  ~LocalActuator() override;  // shutdown()

  // Starts the supervisor thread: from now on it runs clamp(desired, min, max) replicas (desired
  // is 0 until setScale, so min_replicas replicas start at once).
  Status start();

  // {spec: the last setScale value (before any: clamp(0, min_replicas, max_replicas), the count
  // being started), status: live replicas (not being removed)}.
  StatusOr<ScaleState> getScale() override;
  // Records the desired count and returns; the supervisor converges. InvalidArgument when < 0.
  Status setScale(int32_t replicas) override;
  // Every replica, live ones first: Pending until its first successful probe, then Running with
  // the Ready condition; replicas being removed have deleted = true.
  StatusOr<std::vector<PodInfo>> listPods() override;

  // Drains every replica in the gateway, SIGTERMs them, waits up to the grace period, SIGKILLs
  // the rest. Bounded by drain_timeout + termination_grace_period (+ a few seconds). Idempotent.
  // Then removes the run directory when the actuator made it (no target.run_dir) and no replica
  // failed; otherwise it is kept (with a KEPT marker when the actuator made it).
  void shutdown();

  const std::string& runDir() const { return run_dir_; }
  // After shutdown(): the run directory the actuator made was kept (a replica failed, or
  // keepRunDir() was called).
  bool runDirKept() const;
  // Keep the run directory at shutdown even if no replica failed (the caller reports an error
  // that names a replica log). `reason` goes to the KEPT file and the "kept" log line when no
  // replica failed (otherwise those say how many failed).
  void keepRunDir(std::string reason = "the replicas did not start serving");
  const LocalTargetConfig& config() const { return config_; }
  // Replicas that crashed (exited, never ready, unready too long) since start.
  int64_t crashCount() const;

 private:
  struct Replica {
    std::string name;
    int64_t sequence = 0;
    pid_t pid = -1;
    std::string log_path;   // its stderr: the replica's log
    std::string out_path;   // its stdout (`surge serve`'s "listening on" lines), not mixed into the log
    size_t log_offset = 0;  // how far the log was scanned for the listening line
    size_t out_offset = 0;  // how far the stdout file was scanned for it
    std::string address;    // "127.0.0.1:PORT" once known
    uint16_t port = 0;
    TimePoint started{};
    TimePoint next_probe{};
    ReplicaPhase phase = ReplicaPhase::kStarting;
    ProbeState probe;
    bool exited = false;
    int exit_status = 0;
    // Gateway membership.
    bool in_gateway = false;
    int32_t gateway_weight = 0;
    TimePoint joined{};
    TimePoint next_gateway_try{};  // after a failed add
    // Removal.
    bool crashed = false;
    bool drain_requested = false;
    TimePoint drain_deadline{};
    bool term_sent = false;
    TimePoint kill_deadline{};
    bool kill_sent = false;
  };

  LocalActuator(LocalTargetConfig config, Clock& clock, GatewayAdminClient admin,
                std::string run_dir, bool owns_run_dir);

  // Removes the run directory when owned and no replica failed; else marks it KEPT.
  void cleanUpRunDir();

  void supervise();
  // Drains and stops every replica (SIGTERM, SIGKILL after the grace period), on the thread that
  // spawned them. Idempotent.
  void stopAll();
  void tick(TimePoint now);
  void reap(Replica& r);
  void discoverPort(Replica& r);
  void probe(Replica& r, TimePoint now);
  void syncGateway(Replica& r, TimePoint now);
  void beginStop(Replica& r, TimePoint now, bool crashed);
  void advanceStop(Replica& r, TimePoint now);
  Status spawn(TimePoint now);
  void publish();
  PodInfo podOf(const Replica& r) const;

  const LocalTargetConfig config_;
  Clock& clock_;
  GatewayAdminClient admin_;
  const std::string run_dir_;
  const bool owns_run_dir_;  // made by create() under the temp directory

  // Supervisor-owned.
  std::vector<Replica> replicas_;
  CrashBackoff backoff_;
  int64_t next_sequence_ = 1;
  TimePoint last_spawn_error_log_{};

  // Shared with callers.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int32_t desired_ = 0;
  bool scale_set_ = false;  // setScale was called
  bool run_dir_kept_ = false;
  bool keep_run_dir_ = false;
  std::string keep_reason_;
  bool stop_ = false;
  bool started_ = false;
  bool shut_down_ = false;
  int32_t live_ = 0;
  int64_t crashes_ = 0;
  std::vector<PodInfo> pods_;
  std::thread thread_;
};

}  // namespace surge::autoscale
