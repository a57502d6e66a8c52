// sim/sim_config: the typed configuration of one simulation (sim.yaml) and its parser. Every error
// names file:line:col and the field, with did-you-mean for unknown keys (config::Node). Times are
// durations ("30s", "5ms", a bare number is seconds); rates are requests/s. Format:
// docs/simulation.md.
// Thread-safety: plain values; parsing is a pure function of the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/node.h"
#include "lb/balancer.h"
#include "serving/batch_policy.h"
#include "sim/service.h"
#include "sim/traffic.h"

namespace surge::sim {

struct TrafficConfig {
  bool poisson = true;            // arrivals: poisson | deterministic
  Duration resolution = std::chrono::seconds(1);
  std::vector<RateComponent> components;
  double scale = 1;
  double weekend_factor = 1;
  double noise = 0;
  Duration noise_interval = std::chrono::minutes(1);
  std::optional<int64_t> trace_start_unix;  // first timestamp of a trace component
};

struct ReplicaConfig {
  ServiceModel service;
  int64_t slots = 1;        // parallel requests (batches) a replica serves at once
  int64_t queue_limit = 0;  // requests waiting per replica beyond its slots; 0 = unlimited
  serving::BatchPolicyOptions batching;  // dynamic = false: each request is its own batch
  Duration cold_start{0};   // from the scale-up decision to ready
  // `cold_start: [a, b, ...]`: the k-th replica added takes the k-th, the last one beyond the
  // list (replaying measured cold starts); empty: every replica takes cold_start.
  std::vector<Duration> cold_starts;
};

struct GatewayConfig {
  enum class Mode { kBalancer, kSharedQueue };
  Mode mode = Mode::kBalancer;
  lb::BalancerOptions balancer;  // algorithm + options, as the gateway's config
  // The gateway's slow start (lb/host_set.h): a replica that became ready ramps its weight from
  // slow_start_min_weight_percent to 100 % over slow_start (0 = off; `surge up` runs 10 s).
  Duration slow_start{0};
  double slow_start_min_weight_percent = 10;
};

struct SloConfig {
  double percentile = 0.99;
  Duration target = std::chrono::milliseconds(100);
};

// What the autoscaler block holds (kept raw here; sim/autoscaler.cc interprets it).
struct AutoscalerConfig {
  bool enabled = false;
  config::Node node;  // the `autoscaler:` map
};

struct SimConfig {
  std::string name;  // for tables and charts; default: the file's base name
  std::string source;  // the file it came from
  uint64_t seed = 1;
  Duration duration = std::chrono::hours(1);
  int64_t start_unix = 1767571200;  // 2026-01-05T00:00:00Z, a Monday
  TrafficConfig traffic;
  bool has_traffic = false;  // a `traffic:` block was given (required unless --compare reuses one)
  ReplicaConfig replica;
  int64_t replicas = 1;      // initial (fixed when no autoscaler)
  int64_t max_replicas = 1000;
  GatewayConfig gateway;
  SloConfig slo;
  double price_per_hour = 0.10;
  Duration interval = std::chrono::minutes(1);  // time-series row; SLO window
  AutoscalerConfig autoscaler;
};

StatusOr<SimConfig> parseSimConfig(const config::Node& root);
StatusOr<SimConfig> loadSimConfig(const std::string& path);

// The rate curve of a config (seeded noise).
RateCurve makeRateCurve(const SimConfig& config);

}  // namespace surge::sim
