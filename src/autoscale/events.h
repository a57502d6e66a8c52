// The autoscaler's events, as `kubectl describe hpa` shows them: type (Normal/Warning), reason
// (SuccessfulRescale, FailedGetScale, FailedGetResourceMetric...), age, message ("New size: 4;
// reason: pods metric requests_per_second above target"), plus what surge adds: from → to and the
// metric values of the sync. Kept in a bounded ring buffer (oldest dropped first); repeats of the
// same warning are folded into one event with a count, as the Kubernetes event recorder does.
// Complexity: add O(1) amortized; snapshot O(capacity). Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"

namespace surge::autoscale {

struct AutoscaleEvent {
  uint64_t sequence = 0;          // 1, 2, ... in the order events were added
  TimePoint time{};               // the controller's clock
  int64_t unix_ms = 0;            // wall time, for display
  std::string type = "Normal";    // Normal | Warning
  std::string reason;             // SuccessfulRescale, FailedRescale, FailedGetScale, ...
  std::string message;            // kubectl's message
  int32_t from = 0;               // replicas before the decision
  int32_t to = 0;                 // replicas after it (== from when nothing changed)
  std::vector<std::string> metrics;  // "pods metric requests_per_second: 250 / 100", ...
  int32_t count = 1;              // identical consecutive warnings fold into one
};

class EventLog {
 public:
  explicit EventLog(size_t capacity = 256) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Stores the event (assigning its sequence) and returns the stored copy. A Warning with the same
  // reason and message as the newest event bumps that event's count and time instead.
  AutoscaleEvent add(AutoscaleEvent event);
  // Oldest first.
  std::vector<AutoscaleEvent> snapshot() const;
  // Events added since the start (folded repeats count once).
  uint64_t total() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<AutoscaleEvent> events_;
  uint64_t next_sequence_ = 1;
};

// "2026-11-28T10:01:02.345Z".
std::string formatUnixMs(int64_t unix_ms);
// One log line: "Normal SuccessfulRescale 2 -> 4: New size: 4; reason: ...; metrics: a; b".
std::string formatEvent(const AutoscaleEvent& e);

}  // namespace surge::autoscale
