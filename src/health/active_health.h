// ActiveHealthState: the rise/fall state machine of one host's active health checks (HAProxy
// `rise`/`fall`, Envoy `healthy_threshold`/`unhealthy_threshold`), plus the probe schedule
// (first probe at a random offset within the interval, then interval ± jitter, as Envoy's
// `interval_jitter_percent`). Pure: no sockets, no threads, no clock; the driver feeds results.
// Semantics: a healthy host goes down after `unhealthy_threshold` CONSECUTIVE failed probes; an
// unhealthy host comes back after `healthy_threshold` consecutive passes. Any pass resets the
// failure streak and any failure resets the pass streak (HAProxy's documented semantics; Envoy's).
// Complexity: O(1) per probe. Thread-safety: none (one instance per host, used by one prober).
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/random.h"

namespace surge::health {

using namespace std::chrono_literals;

struct ActiveHealthOptions {
  // Request path of the probe (OIP v2 readiness).
  std::string path = "/v2/health/ready";
  // The probe speaks HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1: the backends are
  // HTTP/2-only (gRPC replicas). With `grpc`, the probe is a gRPC call of `path` with an empty
  // message — grpc.health.v1.Health/Check or the inference protocol's ServerReady — that passes
  // when grpc-status is 0 and the answer's field 1 is 1 (SERVING / ready: true); without, a GET
  // of `path` that passes on a 2xx :status.
  bool http2 = false;
  bool grpc = false;
  // Time between the end of one probe and the start of the next (HAProxy `inter`, default 2 s).
  Duration interval = 2s;
  // Bounds a whole probe: resolve + connect + write + read of the status line.
  Duration timeout = 1s;
  // HAProxy `fall` (3) and `rise` (2).
  int unhealthy_threshold = 3;
  int healthy_threshold = 2;
  // Each wait is interval × (1 ± jitter), uniform; a fraction of the interval, in [0, 1).
  double jitter = 0.1;
  // State of a host the checker has not probed yet. True: traffic flows at once and a dead host
  // is found after `unhealthy_threshold` probes (HAProxy's default). False: a host must pass
  // `healthy_threshold` probes before it gets traffic (Envoy's default for new hosts).
  bool initially_healthy = true;
};

enum class Transition { kNone, kBecameHealthy, kBecameUnhealthy };

class ActiveHealthState {
 public:
  explicit ActiveHealthState(const ActiveHealthOptions& options)
      : ActiveHealthState(options.healthy_threshold, options.unhealthy_threshold,
                          options.initially_healthy) {}
  // Thresholds below 1 are treated as 1.
  ActiveHealthState(int healthy_threshold, int unhealthy_threshold, bool initially_healthy);

  // Records one probe result; returns the transition it caused, if any. O(1).
  Transition onProbe(bool ok);

  bool healthy() const { return healthy_; }
  // Current streaks (exactly one of them is non-zero after the first probe).
  int consecutivePasses() const { return passes_; }
  int consecutiveFailures() const { return failures_; }

 private:
  int healthy_threshold_;
  int unhealthy_threshold_;
  bool healthy_;
  int passes_ = 0;
  int failures_ = 0;
};

// Delay before a host's first probe: uniform in [0, interval), so that hosts added together (and
// several gateways) do not probe in lockstep.
Duration firstProbeDelay(const ActiveHealthOptions& options, Random& random);
// Delay between probes: interval × (1 + u × jitter), u uniform in [-1, 1); never negative.
Duration nextProbeDelay(const ActiveHealthOptions& options, Random& random);

}  // namespace surge::health
