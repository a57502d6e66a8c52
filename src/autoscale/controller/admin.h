// The autoscaler's admin endpoint (what `kubectl describe hpa` and the HPA's status show, over
// HTTP, plus Prometheus metrics):
//   GET /status   current/desired replicas, min/max, per-metric current vs target, conditions,
//                 the last decision (reactive, predictive, panic, final), counters — JSON
//   GET /events   the event ring buffer, oldest first (?since=SEQ: only newer ones) — JSON
//   GET /metrics  surge_autoscaler_* gauges and counters (text exposition)
//   GET /healthz  "ok"
//   GET /         the live dashboard (HTML; its assets /surge.css, /surge.js, /autoscaler.js)
//   GET /api/dashboard  what the dashboard shows: the status, the replicas (state, zone, serving
//                 numbers), the last events and a history of the syncs (replicas, observed and
//                 forecast request rate) — JSON
// JSON shapes: docs/up.md; the dashboard: docs/design/dashboard.md. Runs its own io_context on
// one thread (a control-plane endpoint), plus a sampler thread for the dashboard.
// Thread-safety: start/stop from one thread; handlers read the controller's thread-safe views.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autoscale/controller/controller.h"
#include "autoscale/events.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace surge::autoscale {

// One replica as the dashboard shows it. state: starting, ready, draining (being removed: drained,
// then stopped) or failed. The numbers are null when unknown (`error` says why when it is known).
struct ReplicaView {
  std::string name;
  std::string state;
  std::string zone;
  std::string address;
  std::optional<double> rps;
  std::optional<double> p50_ms;
  std::optional<double> p99_ms;
  std::optional<double> queue;
  std::optional<double> batch_size;
  std::string error;
};
// The replicas of the target, for the dashboard. `numbers`: also fetch the serving numbers (false
// when nobody watches the dashboard: names and states only, no scrape). Called on the admin
// server's sampler thread (never the HTTP thread), so it may block for a while.
using ReplicaSource = std::function<std::vector<ReplicaView>(bool numbers)>;

// One point of the dashboard's history: the outcome of one sync.
struct DashboardSample {
  int64_t unix_ms = 0;
  int32_t current = 0;
  int32_t desired = 0;
  std::optional<double> observed_rps;
  std::optional<double> forecast_rps;  // the forecast for unix_ms + horizon
};

struct DashboardData {
  AutoscalerStatus status;
  std::vector<AutoscaleEvent> events;                  // the newest ones, oldest first
  std::optional<std::vector<ReplicaView>> replicas;    // null: no replica source (kubernetes)
  std::string replica_note;                            // where the numbers come from
  std::vector<DashboardSample> history;
  bool predictive = false;
  double horizon_seconds = 0;
};

// The bodies, for the endpoint and for tests.
std::string statusToJson(const AutoscalerStatus& status);
std::string dashboardToJson(const DashboardData& data);
std::string eventsToJson(const std::vector<AutoscaleEvent>& events);
// Registers the surge_autoscaler_* families on `registry`, read from `controller` at scrape.
void registerAutoscalerMetrics(const Controller& controller, metrics::Registry& registry);

class AdminServer {
 public:
  explicit AdminServer(const Controller& controller);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The dashboard's replicas (call before start(); none: the dashboard says the autoscaler does
  // not run the replicas). `note` is shown under the table (where the numbers come from).
  void setReplicaSource(ReplicaSource source, std::string note = "");

  // Binds "host:port" (port 0 = any) and serves on an own thread; a second thread samples the
  // controller once a second for the dashboard's history and replicas.
  Status start(const std::string& listen);
  uint16_t port() const { return port_; }
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace surge::autoscale
