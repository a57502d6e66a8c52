#include "autoscale/local/replica_policy.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace surge::autoscale {

const char* replicaPhaseName(ReplicaPhase phase) {
  switch (phase) {
    case ReplicaPhase::kStarting:
      return "Starting";
    case ReplicaPhase::kReady:
      return "Ready";
    case ReplicaPhase::kNotReady:
      return "NotReady";
    case ReplicaPhase::kStopping:
      return "Stopping";
  }
  return "?";
}

const char* replicaVerdictName(ReplicaVerdict verdict) {
  switch (verdict) {
    case ReplicaVerdict::kOk:
      return "ok";
    case ReplicaVerdict::kExited:
      return "exited";
    case ReplicaVerdict::kNeverReady:
      return "never became ready";
    case ReplicaVerdict::kUnreadyTooLong:
      return "not ready for too long";
  }
  return "?";
}

bool applyProbe(ProbeState& s, bool success, TimePoint now, int32_t failure_threshold) {
  if (success) {
    s.consecutive_failures = 0;
    if (s.ready) return false;
    s.ready = true;
    s.ever_ready = true;
    s.last_transition = now;
    s.unready_since.reset();
    return true;
  }
  ++s.consecutive_failures;
  if (s.ready && s.consecutive_failures >= failure_threshold) {
    s.ready = false;
    s.last_transition = now;
    s.unready_since = now;
    return true;
  }
  return false;
}

ReplicaVerdict judgeReplica(const ReplicaFacts& f, TimePoint now, Duration ready_timeout,
                            Duration unready_timeout) {
  if (f.phase == ReplicaPhase::kStopping) return ReplicaVerdict::kOk;
  if (f.exited) return ReplicaVerdict::kExited;
  if (!f.probe.ever_ready) {
    return now - f.started > ready_timeout ? ReplicaVerdict::kNeverReady : ReplicaVerdict::kOk;
  }
  if (!f.probe.ready && f.probe.unready_since && now - *f.probe.unready_since > unready_timeout) {
    return ReplicaVerdict::kUnreadyTooLong;
  }
  return ReplicaVerdict::kOk;
}

Duration CrashBackoff::currentDelay() const {
  Duration d = initial_;
  for (int32_t i = 0; i < crashes_ && d < max_; ++i) d *= 2;
  return std::min(d, max_);
}

void CrashBackoff::onCrash(TimePoint now) {
  last_crash_ = now;
  if (!mayStart(now)) return;  // the gate is closed already: same wave of crashes
  Duration d = currentDelay();
  ++crashes_;
  next_start_ = now + d;
  gated_ = true;
}

void CrashBackoff::onReady(TimePoint ready_since, TimePoint now) {
  if (crashes_ == 0) return;
  if (ready_since >= last_crash_ && now - ready_since >= reset_after_) {
    crashes_ = 0;
    gated_ = false;
  }
}

int32_t effectiveReplicas(int32_t requested, int32_t min_replicas, int32_t max_replicas) {
  return std::clamp(requested, min_replicas, std::max(min_replicas, max_replicas));
}

namespace {

int phaseOrder(ReplicaPhase p) {
  switch (p) {
    case ReplicaPhase::kStarting:
      return 0;
    case ReplicaPhase::kNotReady:
      return 1;
    case ReplicaPhase::kReady:
      return 2;
    case ReplicaPhase::kStopping:
      return 3;
  }
  return 3;
}

}  // namespace

std::vector<size_t> pickScaleInVictims(const std::vector<ReplicaRank>& replicas, int32_t count) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (replicas[i].phase != ReplicaPhase::kStopping) idx.push_back(i);
  }
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const ReplicaRank& x = replicas[a];
    const ReplicaRank& y = replicas[b];
    if (phaseOrder(x.phase) != phaseOrder(y.phase)) return phaseOrder(x.phase) < phaseOrder(y.phase);
    if (x.phase == ReplicaPhase::kReady && x.ready_since && y.ready_since &&
        *x.ready_since != *y.ready_since) {
      return *x.ready_since > *y.ready_since;  // more recently ready first
    }
    return x.sequence > y.sequence;  // newer first
  });
  if (count < 0) count = 0;
  if (idx.size() > static_cast<size_t>(count)) idx.resize(static_cast<size_t>(count));
  return idx;
}

ConvergePlan planConverge(int32_t wanted, const std::vector<ReplicaRank>& replicas,
                          bool may_start) {
  ConvergePlan plan;
  int32_t live = 0;
  for (const auto& r : replicas) live += r.phase != ReplicaPhase::kStopping ? 1 : 0;
  if (live < wanted) {
    if (may_start) plan.start = wanted - live;
  } else if (live > wanted) {
    plan.stop = pickScaleInVictims(replicas, live - wanted);
  }
  return plan;
}

int32_t slowStartWeight(int32_t weight, TimePoint since, Duration window, TimePoint now) {
  int32_t floor = std::max<int32_t>(1, static_cast<int32_t>(std::lround(weight * 0.1)));
  if (window <= Duration(0) || now - since >= window) return weight;
  if (now <= since) return std::min(floor, weight);
  double f = toSeconds(now - since) / toSeconds(window);
  double w = floor + (weight - floor) * f;
  return std::clamp(static_cast<int32_t>(std::lround(w)), std::min(floor, weight), weight);
}

}  // namespace surge::autoscale
