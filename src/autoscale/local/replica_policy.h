// The local actuator's pure decisions (no processes, no sockets, no threads — local_actuator.cc
// does the doing): readiness from probe results, when a replica counts as crashed, the crash-loop
// backoff, how many replicas to run and which ones to remove on scale-in.
//
// Sources: Kubernetes readiness probes (successThreshold 1, failureThreshold N), the ReplicaSet
// controller's scale-down order (controller.ActivePods: not-ready before ready, more recently
// ready first, newer first), the kubelet's CrashLoopBackOff (doubling delay, capped, reset after a
// stable run). docs/design/local-actuator.md explains the choices.
// Complexity: O(n log n) in the number of replicas. Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace surge::autoscale {

enum class ReplicaPhase {
  kStarting,  // spawned, never ready yet (PodInfo phase Pending)
  kReady,     // passing its readiness probe (in the gateway)
  kNotReady,  // was ready, now failing failure_threshold probes in a row (out of the gateway)
  kStopping,  // chosen for removal or crashed: draining / SIGTERM / SIGKILL (deleted)
};

const char* replicaPhaseName(ReplicaPhase phase);

// ---- readiness -----------------------------------------------------------------------------------

struct ProbeState {
  bool ever_ready = false;
  bool ready = false;
  int32_t consecutive_failures = 0;
  std::optional<TimePoint> last_transition;  // when `ready` last changed (or first became true)
  std::optional<TimePoint> unready_since;    // when a ready replica turned not ready
};

// Applies one probe result. A replica turns ready at its first success; a ready one turns not
// ready after `failure_threshold` failures in a row; a not-ready one turns ready again on one
// success. Returns true when `ready` changed.
bool applyProbe(ProbeState& state, bool success, TimePoint now, int32_t failure_threshold);

// ---- crash detection ----------------------------------------------------------------------------

enum class ReplicaVerdict {
  kOk,
  kExited,           // the process ended without being asked to
  kNeverReady,       // not ready within ready_timeout of its start
  kUnreadyTooLong,   // was ready, then not ready for longer than unready_timeout
};

const char* replicaVerdictName(ReplicaVerdict verdict);

struct ReplicaFacts {
  ReplicaPhase phase = ReplicaPhase::kStarting;
  bool exited = false;
  TimePoint started{};
  ProbeState probe;
};

// Whether a replica that is not being stopped must be replaced (kStopping replicas are always kOk).
ReplicaVerdict judgeReplica(const ReplicaFacts& facts, TimePoint now, Duration ready_timeout,
                            Duration unready_timeout);

// ---- crash-loop backoff --------------------------------------------------------------------------

// After a crash, no replica may start before now + delay; the delay starts at `initial`, doubles
// with each further crash up to `max`. Crashes while the gate is already closed do not lengthen it
// (replicas started together and crashing together count once). A replica started after the last
// crash that stays ready for `reset_after` resets the delay.
class CrashBackoff {
 public:
  CrashBackoff(Duration initial, Duration max, Duration reset_after)
      : initial_(initial), max_(max), reset_after_(reset_after) {}

  void onCrash(TimePoint now);
  // Called for each ready replica with when it became ready.
  void onReady(TimePoint ready_since, TimePoint now);
  bool mayStart(TimePoint now) const { return !gated_ || now >= next_start_; }
  // When the gate opens; the epoch when there is no gate.
  TimePoint nextStart() const { return gated_ ? next_start_ : TimePoint{}; }
  bool gated() const { return gated_; }
  int32_t consecutiveCrashes() const { return crashes_; }
  Duration currentDelay() const;  // the delay the next crash would impose

 private:
  Duration initial_, max_, reset_after_;
  int32_t crashes_ = 0;
  TimePoint last_crash_{};
  bool gated_ = false;  // next_start_ is meaningful (some crash happened since the last reset)
  TimePoint next_start_{};
};

// ---- convergence ---------------------------------------------------------------------------------

// Replicas to run for a requested scale: clamp(requested, min_replicas, max_replicas).
int32_t effectiveReplicas(int32_t requested, int32_t min_replicas, int32_t max_replicas);

struct ReplicaRank {
  ReplicaPhase phase = ReplicaPhase::kStarting;
  std::optional<TimePoint> ready_since;  // for kReady
  int64_t sequence = 0;                  // creation order (higher = newer)
};

// Indices into `replicas` of the `count` to remove on scale-in, in removal order (Kubernetes
// ReplicaSet order): starting before not-ready before ready; among ready ones the most recently
// ready first; then the newest first. kStopping entries are never picked.
std::vector<size_t> pickScaleInVictims(const std::vector<ReplicaRank>& replicas, int32_t count);

struct ConvergePlan {
  int32_t start = 0;          // replicas to spawn now
  std::vector<size_t> stop;   // indices to remove (drain, then terminate)
};

// live = replicas not kStopping. More wanted → start the difference if `may_start`; fewer →
// pick victims. Never both.
ConvergePlan planConverge(int32_t wanted, const std::vector<ReplicaRank>& replicas,
                          bool may_start);

// Weight during an actuator-driven slow start: from max(1, weight × 10%) at `since` linearly to
// `weight` at since + window (window 0 → weight at once).
int32_t slowStartWeight(int32_t weight, TimePoint since, Duration window, TimePoint now);

}  // namespace surge::autoscale
