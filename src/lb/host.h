// Host: one backend (replica) as every module sees it. Identity and zone are immutable; weight,
// health flags and load counters are atomics shared by all worker threads (Envoy's thread-aware
// model: immutable snapshots of the set, hot per-host state in atomics).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "lb/peak_ewma.h"

namespace surge::lb {

class Host {
 public:
  Host(std::string address, uint32_t weight, std::string zone);

  // "host:port" exactly as configured; the identity of the host everywhere (admin API, metrics).
  const std::string& address() const { return address_; }
  const std::string& zone() const { return zone_; }
  // Stable 64-bit hash of address() (same in every process and run); used by consistent hashing.
  uint64_t addressHash() const { return address_hash_; }

  // Configured weight (1..10000); the snapshot builder turns it into the effective weight.
  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void setWeight(uint32_t w) { weight_.store(w, std::memory_order_relaxed); }

  // ---- load, counted across all workers -------------------------------------------------------
  int64_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }
  void onRequestStart() {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    requests_total_.fetch_add(1, std::memory_order_relaxed);
  }
  void onRequestEnd() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  // Requests ever started on this host (each onRequestStart), for the admin API and metrics.
  uint64_t requestsTotal() const { return requests_total_.load(std::memory_order_relaxed); }
  // Failed attempts, as classified by the caller (5xx, connect failure, reset, timeout).
  void recordFailure() { failures_total_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t failuresTotal() const { return failures_total_.load(std::memory_order_relaxed); }
  // Latency estimate (peak EWMA); the gateway observes time to first response byte.
  PeakEwma& latency() { return latency_; }
  const PeakEwma& latency() const { return latency_; }

  // ---- eligibility, written by health checking, outlier detection and the admin API -------------
  // Active health: true until the checker says otherwise (a host with no checks is healthy).
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  void setHealthy(bool h) { healthy_.store(h, std::memory_order_release); }
  // Outlier ejection: ejected while now < ejectedUntil().
  TimePoint ejectedUntil() const {
    return TimePoint(Duration(ejected_until_ns_.load(std::memory_order_acquire)));
  }
  void setEjectedUntil(TimePoint t) {
    ejected_until_ns_.store(t.time_since_epoch().count(), std::memory_order_release);
  }
  bool ejected(TimePoint now) const { return now < ejectedUntil(); }
  // Draining: takes no new requests (admin DELETE ?drain=true, scale-in).
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  void setDraining(bool d) { draining_.store(d, std::memory_order_release); }
  // When the host last became healthy (or was added healthy); slow start ramps from here.
  TimePoint healthySince() const {
    return TimePoint(Duration(healthy_since_ns_.load(std::memory_order_acquire)));
  }
  void setHealthySince(TimePoint t) {
    healthy_since_ns_.store(t.time_since_epoch().count(), std::memory_order_release);
  }

  // A host a balancer may pick at `now`, outside panic mode.
  bool eligible(TimePoint now) const { return healthy() && !ejected(now) && !draining(); }

 private:
  const std::string address_;
  const std::string zone_;
  const uint64_t address_hash_;
  std::atomic<uint32_t> weight_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> requests_total_{0};
  std::atomic<uint64_t> failures_total_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> ejected_until_ns_{0};
  std::atomic<int64_t> healthy_since_ns_{0};
  PeakEwma latency_;
};

using HostPtr = std::shared_ptr<Host>;

}  // namespace surge::lb
