// ModelServer: `surge serve` — the model manager (batchers, instances), the inference service and
// the HTTP API on N event-loop workers (one io_context and one SO_REUSEPORT listener each, the
// kernel spreading connections), plus a control loop for signals and the lifecycle:
//   start():  listen (the port is known and, with print_ready_line, printed as
//             "surge serve listening on HOST:PORT"), then load and warm up every model version in
//             the background — /v2/health/live is 200 at once, /v2/health/ready only once every
//             instance has warmed up.
//   shutdown (SIGTERM/SIGINT or requestShutdown()): readiness turns false at once; after
//             shutdown_delay the listeners close (busy connections finish their response);
//             batch delays are skipped; every request already received is answered; then the
//             batchers stop and run() returns 0. A second signal stops at once.
//   A model that fails to load makes run() return 1 (Triton's --exit-on-error).
// Thread-safety: start()/run() from one thread; requestShutdown() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "metrics/registry.h"
#include "runtime/backend_registry.h"
#include "serving/http_api.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/model_repository.h"

namespace surge::serving {

struct ModelServerOptions {
  std::string listen = "127.0.0.1:8000";
  std::string metrics_listen;                        // "" = /metrics on the main listener only
  int workers = 2;                                   // event-loop threads
  uint64_t max_request_bytes = 64ull * 1024 * 1024;  // larger bodies get 413
  Duration shutdown_delay{0};  // not ready but still serving, before the listeners close
  Duration drain_timeout = std::chrono::seconds(30);
  bool install_signal_handlers = false;
  bool print_ready_line = false;
  std::string server_version = "0.0.0";
  // Share the listen port with other processes (SO_REUSEPORT), for a hot restart. Off: the port
  // is exclusive ("address already in use" if another process listens on it), even though the
  // workers of this process share it among themselves.
  bool reuse_port = false;
};

class ModelServer {
 public:
  ModelServer(ModelServerOptions options, std::vector<RepositoryModel> models,
              const runtime::BackendRegistry& backends, metrics::Registry& registry, Clock& clock);
  ~ModelServer();
  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  // The prediction cache hook (optional, must outlive the server); call before start().
  void setCache(PredictionCache* cache) { service_.setCache(cache); }

  // Listens, starts the workers and the model loading. Errors: bad address, port in use.
  Status start();
  // Runs the control loop until shutdown completes; returns the exit code (0, or 1 when a model
  // failed to load).
  int run();
  // Starts the shutdown sequence. Thread-safe, idempotent.
  void requestShutdown();

  uint16_t port() const { return port_; }
  uint16_t metricsPort() const { return metrics_port_; }
  bool draining() const { return draining_.load(); }
  ModelManager& models() { return models_; }
  InferenceService& service() { return service_; }

  class Impl;

 private:
  ModelServerOptions options_;
  metrics::Registry& registry_;
  ModelManager models_;
  InferenceService service_;
  std::atomic<bool> draining_{false};
  HttpApi api_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
};

}  // namespace surge::serving
