// OutlierDetector: passive outlier ejection on consecutive failures (Envoy outlier detection,
// `consecutive_5xx` / `consecutive_gateway_failure`, outlier_detection.proto).
// - After `consecutive_failures` failures in a row (the gateway reports 5xx answers and
//   connect/reset/timeout errors as failures) the host is ejected for
//   base_ejection_time × times_ejected, capped at max_ejection_time (30 s, 60 s, 90 s, … 300 s).
// - At most max_ejection_percent of the hosts are ejected at once, rounded down, but at least one
//   when there are two hosts or more; a lone host is never ejected (Envoy ejects while the share
//   is below the limit, which can overshoot it; surge never exceeds it).
// - An ejected host comes back by itself when Host::ejectedUntil() passes (Host::ejected(now)).
// - times_ejected decays by one per decay_interval the host spends un-ejected (Envoy decrements
//   it on each `interval` tick while the host is un-ejected); computed lazily, no timer.
// - Failures reported while a host is ejected are ignored; an ejection resets the streak.
// Hot path: onSuccess is a lookup in a thread-cached immutable index plus at most one relaxed
// atomic store (none when the streak is already 0); onFailure is one relaxed fetch_add unless the
// threshold is reached, then a mutex and an O(hosts) count of the ejected hosts.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "lb/host.h"

namespace surge::health {

using namespace std::chrono_literals;

struct OutlierOptions {
  // Envoy `consecutive_5xx` (5). Values below 1 are treated as 1.
  int consecutive_failures = 5;
  Duration base_ejection_time = 30s;
  Duration max_ejection_time = 300s;
  // Envoy defaults to 10%; surge allows half of a small replica set. 0 disables ejection.
  double max_ejection_percent = 50;
  bool enabled = true;
  // Envoy `interval`: how long an un-ejected host takes to forget one past ejection.
  Duration decay_interval = 10s;
};

class OutlierDetector {
 public:
  // Called (outside the detector's lock, on the thread that reported the failure) after each
  // ejection; must not be slow. times_ejected counts this ejection.
  using EjectCallback =
      std::function<void(const lb::HostPtr& host, TimePoint until, int times_ejected)>;

  explicit OutlierDetector(OutlierOptions options = {}, EjectCallback on_eject = {});
  ~OutlierDetector();
  OutlierDetector(const OutlierDetector&) = delete;
  OutlierDetector& operator=(const OutlierDetector&) = delete;

  const OutlierOptions& options() const { return options_; }

  // Replaces the set of hosts (identity = the Host object). Hosts kept keep their streaks and
  // ejection history; new hosts start clean. O(n log n); not for the request path.
  void setHosts(std::vector<lb::HostPtr> hosts);

  // A request to `host` succeeded: resets its failure streak. Unknown hosts are ignored.
  void onSuccess(const lb::Host& host);
  // A request to `host` failed at `now`. Returns true if this call ejected the host (it then has
  // ejectedUntil() = now + ejection time). Unknown or already ejected hosts: returns false.
  bool onFailure(lb::Host& host, TimePoint now);

  // ---- metrics and introspection ---------------------------------------------------------------
  // Ejections performed (Envoy `ejections_enforced_total`).
  uint64_t ejectionsTotal() const { return ejections_total_.load(std::memory_order_relaxed); }
  // Ejections refused because max_ejection_percent was reached (Envoy `ejections_overflow`).
  uint64_t ejectionsOverflowTotal() const {
    return ejections_overflow_total_.load(std::memory_order_relaxed);
  }
  // Ejections of one host since it was added (0 for unknown hosts).
  uint64_t ejectionsTotal(const lb::Host& host) const;
  // Current failure streak of one host (0 for unknown hosts).
  int consecutiveFailures(const lb::Host& host) const;
  // The ejection multiplier of one host at `now`, after decay (0 for unknown hosts).
  int timesEjected(const lb::Host& host, TimePoint now) const;
  // Hosts ejected at `now`, and how many may be ejected at once with the current host count.
  size_t ejectedCount(TimePoint now) const;
  size_t maxEjected() const;

 private:
  struct Entry;
  struct Index;
  struct TlsSlot;

  // The entry of `host` in the index this thread has cached (refreshed when hosts changed).
  Entry* find(const lb::Host& host) const;
  int decayedTimes(const Entry& entry, TimePoint now) const;  // requires mutex_
  size_t maxEjectedLocked() const;                            // requires mutex_

  const OutlierOptions options_;
  const EjectCallback on_eject_;
  const uint64_t id_;  // unique per detector ever created: keys the per-thread index cache
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> ejections_total_{0};
  std::atomic<uint64_t> ejections_overflow_total_{0};

  mutable std::mutex mutex_;
  std::vector<lb::HostPtr> hosts_;      // guarded by mutex_
  std::shared_ptr<const Index> index_;  // guarded by mutex_
};

}  // namespace surge::health
