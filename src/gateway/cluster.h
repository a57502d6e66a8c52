// Cluster: the gateway's set of backends and everything that decides which of them may take
// traffic — membership (config, admin API), active health, outlier ejection, draining, weights,
// slow start — published to the workers as immutable lb::HostSet snapshots.
// Threading: mutations take a mutex and publish a new snapshot; workers read snapshot() (an atomic
// shared_ptr load) and compare version() per request; onResult() is lock-free on success.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "health/outlier_detector.h"
#include "lb/host.h"
#include "lb/host_set.h"
#include "metrics/registry.h"

namespace surge::gateway {

struct BackendSpec {
  std::string address;  // host:port
  uint32_t weight = 1;
  std::string zone;
};

struct ClusterOptions {
  lb::HostSetOptions host_set;     // panic threshold, slow start, zone awareness
  health::OutlierOptions outlier;  // passive ejection
  Duration drain_timeout = std::chrono::seconds(30);
  // Time constant of the peak-EWMA latency estimate fed by onResult().
  Duration latency_tau = std::chrono::seconds(10);
  // Hosts added by config or admin API start healthy (active checks then take over).
  bool hosts_start_healthy = true;
  // While a slow-start ramp is in progress, republish the snapshot this often.
  Duration ramp_republish_interval = std::chrono::milliseconds(250);
};

// How one proxied attempt ended, as seen by the data path.
enum class Outcome {
  kSuccess,        // a response other than 5xx
  kServerError,    // 5xx from the backend
  kConnectFailed,  // connect refused / timed out
  kReset,          // reset or closed before a complete response
  kTimeout,        // request timeout
};

class Cluster {
 public:
  Cluster(ClusterOptions options, Clock& clock);
  ~Cluster();

  // Current snapshot for balancers. Never null (may be empty).
  std::shared_ptr<const lb::HostSet> snapshot() const;
  // Bumped on every new snapshot; workers call Balancer::update when it changes.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // ---- data path --------------------------------------------------------------------------------
  // Reports the end of one attempt on `host`; ttfb = time to first response byte (kSuccess and
  // kServerError only). Feeds outlier detection and the host's latency estimate.
  void onResult(lb::Host& host, Outcome outcome, std::optional<Duration> ttfb, TimePoint now);

  // ---- control plane (admin API, config, health checker, discovery)
  // ------------------------------
  Status addHost(const BackendSpec& spec);  // AlreadyExists / InvalidArgument
  // drain=true: no new requests; removed when in-flight reaches 0 or the drain timeout passes.
  // drain=false: removed at once (in-flight requests still complete).
  Status removeHost(const std::string& address, bool drain);
  Status setWeight(const std::string& address, uint32_t weight);
  lb::HostPtr find(const std::string& address) const;
  // All known hosts, including draining ones, sorted by address.
  std::vector<lb::HostPtr> hosts() const;
  // Health checker callback: a host changed state.
  void onHealthChanged(const lb::HostPtr& host, bool healthy);
  // Periodic housekeeping (call every ~100-250 ms): completes drains, republishes the snapshot
  // when an ejection expired or a slow-start ramp is in progress.
  void tick();
  // Sum of in-flight requests over all hosts.
  int64_t inFlight() const;
  // Called with the host list whenever membership changes (the health checker subscribes).
  void setMembershipListener(std::function<void(std::vector<lb::HostPtr>)> fn);

  // Exposes per-backend state at scrape time: surge_gateway_backend_{healthy,ejected,draining,
  // in_flight,weight,latency_ewma_seconds}{backend}, surge_gateway_backends{state} and
  // surge_gateway_ejections_total{backend}. The registry must not outlive the cluster... nor the
  // reverse: call unregisterMetrics() before destroying the cluster if the registry lives on.
  void registerMetrics(metrics::Registry& registry);
  void unregisterMetrics(metrics::Registry& registry);

  health::OutlierDetector& outlier() { return outlier_; }
  const health::OutlierDetector& outlierConst() const { return outlier_; }
  TimePoint now() const { return clock_.now(); }
  const ClusterOptions& options() const { return options_; }

 private:
  void publishLocked();  // rebuild + swap the snapshot; mutex_ held
  void notifyMembership(std::vector<lb::HostPtr> members);  // mutex_ not held

  ClusterOptions options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<lb::HostPtr> hosts_;                           // guarded by mutex_
  std::vector<std::pair<lb::HostPtr, TimePoint>> draining_;  // host, deadline; guarded by mutex_
  std::function<void(std::vector<lb::HostPtr>)> membership_listener_;
  health::OutlierDetector outlier_;
  std::shared_ptr<const lb::HostSet> snapshot_;  // accessed with std::atomic_load/store
  std::atomic<uint64_t> version_{0};
  TimePoint last_publish_{};
  bool ramping_ = false;  // some host was in its slow-start window at the last tick
  // Each host's eligibility when the snapshot was built; tick() republishes when one changed.
  std::vector<std::pair<const lb::Host*, bool>> published_eligibility_;
};

}  // namespace surge::gateway
