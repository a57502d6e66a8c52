// sim/autoscaler: the Scaler behind a simulation's `autoscaler:` block — the `surge autoscale`
// policy format (autoscale/autoscale_config.h parseAutoscalePolicy: sync_period, hpa, predictive,
// panic, controller) run by surge's own pieces, unchanged: the HPA core (autoscale/hpa runSync,
// with its history between syncs), the seasonal forecaster (autoscale/predict) and the panic
// policy (autoscale/panic.h), in the controller's order: runSync → predictive (max with the
// reactive decision, a forecast alone never scales in) → panic → clamp to [min, max].
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
// before the start; default 7), refit_every (default 15m). KEDA `scaled_object` triggers are not
// simulated.
// Thread-safety: a Scaler belongs to one simulation.
#pragma once

#include <memory>

#include "common/status.h"
#include "sim/sim_config.h"
#include "sim/simulator.h"
#include "sim/traffic.h"

namespace surge::sim {

// nullptr when the config has no autoscaler. InvalidArgument (file:line:col) for a bad block.
// `curve` (the traffic the run will replay) seeds the predictive history; it must outlive the
// Scaler.
StatusOr<std::unique_ptr<Scaler>> makeScaler(const SimConfig& config, const RateCurve& curve);

}  // namespace surge::sim
