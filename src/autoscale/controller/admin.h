// The autoscaler's admin endpoint (what `kubectl describe hpa` and the HPA's status show, over
// HTTP, plus Prometheus metrics):
//   GET /status   current/desired replicas, min/max, per-metric current vs target, conditions,
//                 the last decision (reactive, predictive, panic, final), counters — JSON
//   GET /events   the event ring buffer, oldest first (?since=SEQ: only newer ones) — JSON
//   GET /metrics  surge_autoscaler_* gauges and counters (text exposition)
//   GET /healthz  "ok"
// JSON shapes: docs/up.md. Runs its own io_context on one thread (a control-plane endpoint).
// Thread-safety: start/stop from one thread; handlers read the controller's thread-safe views.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autoscale/controller/controller.h"
#include "autoscale/events.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace surge::autoscale {

// The bodies, for the endpoint and for tests.
std::string statusToJson(const AutoscalerStatus& status);
std::string eventsToJson(const std::vector<AutoscaleEvent>& events);
// Registers the surge_autoscaler_* families on `registry`, read from `controller` at scrape.
void registerAutoscalerMetrics(const Controller& controller, metrics::Registry& registry);

class AdminServer {
 public:
  explicit AdminServer(const Controller& controller);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds "host:port" (port 0 = any) and serves on an own thread.
  Status start(const std::string& listen);
  uint16_t port() const { return port_; }
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace surge::autoscale
