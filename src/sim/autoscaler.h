// sim/autoscaler: the Scaler behind a simulation's `autoscaler:` block — the `surge autoscale`
// policy format (autoscale/autoscale_config.h parseAutoscalePolicy: sync_period, hpa, predictive,
// panic, controller) decided by the production ScalingPipeline (autoscale/scaling_pipeline.h:
// runSync with its history → predictive → panic → clamp), the very step() the controller calls,
// with the same refit period. This file only turns the simulated cluster into observations:
// onSync(view) = decide(observe(view)).
// Metrics are seen as the real collector sees them: counters scraped every scrape_interval,
// rates over the last `metrics_window` (default: the sync period — the real ScrapeCollector's
// rate between syncs); a pod's first scrape gives no rate (missing for the HPA core).
//   Pods `requests_per_second` (the predictive metric's name): requests routed to the pod / s
//   Resource cpu: slot-busy fraction × cpu_request (default 1000m per pod)
//   Resource memory: constant memory_usage × memory_request (defaults 0.5 × 1Gi: a loaded model's
//   resident set does not follow the load)
//   any Pods metric whose name contains inflight, in_flight, concurrency or queue: the pod's
//   in-flight requests (waiting + in service) at the last scrape (a gauge)
// Sim-only keys beside the policy: scrape_interval, metrics_window, cpu_request, memory_request
// (quantities), memory_usage,
// history_days (predictive history generated from the traffic curve, without noise, for the days
// before the start; default 7), refit_every (an override of the production refit period,
// autoscale::kDefaultRefitPeriod = 60 s, for experiments; default: that period). KEDA
// `scaled_object` triggers are not simulated.
// Thread-safety: a Scaler belongs to one simulation.
#pragma once

#include <memory>

#include "autoscale/scaling_pipeline.h"
#include "common/status.h"
#include "sim/sim_config.h"
#include "sim/simulator.h"
#include "sim/traffic.h"

namespace surge::sim {

// The simulated autoscaler with its seam: onSync(view) returns decide(observe(view)).desired, so
// a test can feed decide() the same observations it feeds the production Controller.
class SimAutoscaler : public Scaler {
 public:
  // What the controller would observe at this sync: the scale (spec = the last decision, status
  // = the live pods), the pods, the metrics as the real collector would have scraped them, and
  // the time (TimePoint = virtual ns; Unix ms = start + virtual time).
  virtual autoscale::Observation observe(const ClusterView& view) = 0;
  // The production decision: autoscale::ScalingPipeline::step on the observation.
  virtual autoscale::Decision decide(const autoscale::Observation& observation) = 0;
};

// As makeScaler, with the seam (nullptr when the config has no autoscaler).
StatusOr<std::unique_ptr<SimAutoscaler>> makeSimAutoscaler(const SimConfig& config,
                                                           const RateCurve& curve);

// nullptr when the config has no autoscaler. InvalidArgument (file:line:col) for a bad block.
// `curve` (the traffic the run will replay) gives the predictive history; it must outlive the
// Scaler.
StatusOr<std::unique_ptr<Scaler>> makeScaler(const SimConfig& config, const RateCurve& curve);

}  // namespace surge::sim
