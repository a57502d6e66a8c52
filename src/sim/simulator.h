// sim/simulator: the discrete-event engine of `surge sim`. Requests arrive from the traffic's
// ArrivalProcess, go through surge's own balancer (lb::makeBalancer over lb::buildHostSet, on
// virtual time) to simulated replicas, wait in the replica's queue and are served `slots` at a time
// — with dynamic batching, in batches chosen by serving::decideBatch unchanged. Alternatively one
// shared FCFS queue feeds every slot (gateway.mode: shared_queue), the model of `surge plan`.
// Replicas are added after a cold start and removed after draining, as a Scaler decides.
//
// Events: one 4-ary heap (event_queue.h) of completions, batch-delay wake-ups, interval ticks,
// replica readiness, scrapes and syncs; the next arrival is kept beside the heap (one comparison
// per request instead of a push and a pop). A request's latency (wait + service) is recorded when
// its service starts, since its completion time is known then; it counts in the interval in
// which it arrived (as a load generator charges a request to the time it was due), so an
// interval's row is completed once its last request has started. Utilisation counts a slot busy
// from a batch's start for its whole service time.
// Complexity: O(log n) per request with n busy slots, plus the balancer's pick.
// Thread-safety: none; one Simulator runs on one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/sim_config.h"
#include "sim/traffic.h"

namespace surge::sim {

// What a metrics scrape sees at virtual time now_ns: cumulative counters, as /metrics exposes them.
struct ClusterView {
  struct Pod {
    uint32_t id = 0;
    std::string name;  // "replica-7"
    bool ready = false;
    bool draining = false;
    int64_t created_ns = 0;
    int64_t ready_ns = -1;        // -1 while starting
    uint64_t requests_total = 0;  // requests routed to it
    double busy_slot_ns = 0;      // slot-nanoseconds of service started so far
    int64_t in_flight = 0;        // waiting + in service
    int64_t slots = 1;
  };
  int64_t now_ns = 0;
  int64_t start_unix = 0;
  std::vector<Pod> pods;  // not yet removed (starting, ready, draining)
  uint64_t gateway_requests_total = 0;
  uint64_t gateway_rejected_total = 0;
  int32_t spec_replicas = 0;  // what the last decision asked for
};

// The autoscaler as the simulator drives it. sim/autoscaler.h adapts surge's HPA core to it.
class Scaler {
 public:
  virtual ~Scaler() = default;
  virtual Duration scrapeInterval() const = 0;
  virtual Duration syncPeriod() const = 0;
  // The first sync's time (the sync phase): by default one period after the start. A real
  // controller's phase relative to the traffic is arbitrary; set it to line a simulation up
  // with a measured run.
  virtual Duration firstSync() const { return syncPeriod(); }
  virtual void onScrape(const ClusterView& view) = 0;
  // The desired replica count; the simulator starts or drains replicas to reach it.
  virtual int32_t onSync(const ClusterView& view) = 0;
  // Replicas to start with when the config's count is lower (the HPA's minReplicas).
  virtual int32_t minReplicas() const { return 0; }
  // One line of state for the time series (e.g. "panic"); may be empty.
  virtual std::string note() const { return ""; }
};

struct IntervalRow {
  double t_s = 0;            // interval end, seconds since the start
  double offered_rps = 0;    // the traffic curve at the interval's middle (with noise)
  double arrival_rps = 0;    // arrivals / interval
  uint64_t served = 0;       // arrived in the interval and were served
  uint64_t rejected = 0;
  int64_t ready_replicas = 0;  // at the interval's end
  int64_t replicas = 0;        // provisioned (starting + ready + draining) at the end
  int32_t desired = 0;         // the scaler's last decision (or the fixed count)
  double p50_ms = 0, p99_ms = 0, slo_ms = 0;  // latencies of the requests that arrived in it
  double utilization = 0;  // busy slot-time / ready slot-time
  int64_t queued = 0;      // waiting at the end
  bool slo_violated = false;
  std::string note;
};

struct SimSummary {
  std::string name;
  double duration_s = 0;
  uint64_t requests = 0;  // arrivals
  uint64_t served = 0;
  uint64_t rejected = 0;
  double p50_s = 0, p95_s = 0, p99_s = 0, slo_percentile_s = 0, mean_s = 0, max_s = 0;
  double slo_percentile = 0.99, slo_target_s = 0;
  double slo_violation_minutes = 0;
  double replica_hours = 0;
  double cost = 0;
  double mean_utilization = 0;
  double mean_replicas = 0;
  int64_t max_replicas = 0;
  uint64_t scale_ups = 0, scale_downs = 0;  // replicas started / drained
  uint64_t events = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;  // this thread's CPU time (the machine may be shared)
};

struct SimResult {
  SimSummary summary;
  std::vector<IntervalRow> series;
};

// Where a run is, for a progress display: called on the simulating thread at every interval
// tick (output.interval of virtual time), so it must be cheap (store a few atomics).
struct SimProgress {
  double simulated_s = 0;  // virtual time reached
  double total_s = 0;      // the run's duration
  uint64_t requests = 0;   // arrivals so far
};

// Runs one configuration over `curve` (its own traffic unless a comparison passes another).
// `scaler` may be null: a fixed replica count. Fails only for a bad balancer config.
// `progress` (may be empty) does not influence the results.
StatusOr<SimResult> runSimulation(const SimConfig& config, const RateCurve& curve,
                                  Scaler* scaler = nullptr,
                                  const std::function<void(const SimProgress&)>& progress = {});

}  // namespace surge::sim
