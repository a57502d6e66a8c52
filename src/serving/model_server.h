// ModelServer: `surge serve` — the model manager (batchers, instances), the inference service and
// the HTTP API on N event-loop workers (one io_context and one SO_REUSEPORT listener each, the
// kernel spreading connections), plus a control loop for signals and the lifecycle:
//   start():  listen (the port is known and, with print_ready_line, printed as
//             "surge serve listening on HOST:PORT"), then the gRPC endpoint when grpc_listen is set
//             (grpc/grpc_server.h; printed as "surge serve gRPC listening on HOST:PORT"), then
//             load and warm up every model version in the background — /v2/health/live is 200 at
//             once, /v2/health/ready only once every instance has warmed up.
//   shutdown (SIGTERM/SIGINT or requestShutdown()): readiness turns false at once (HTTP and
//             gRPC); after shutdown_delay the listeners close (busy connections finish their
//             response; the gRPC server takes no new calls, its calls and streams in flight
//             finish);
//             batch delays are skipped; every request already received is answered (within
//             drain_timeout: then what is still queued fails 503; versions still loading are
//             left to a reaper, never joined); then the batchers stop and run() returns 0. A
//             second signal stops at once (the signal loop is never blocked).
//   A model that fails to load makes run() return 1 (Triton's --exit-on-error).
//   Model control (options.control, model_control.h): its thread starts with start() and is
//             told to stop (without waiting) when the shutdown closes the listeners: a load in
//             progress is abandoned (instances still inside a backend's load are left to a
//             reaper, never joined), a drain is cut short. The drain phase waits for it like for
//             the requests, bounded by drain_timeout; when that runs out (or on the second
//             signal) queued requests fail 503 instead of running. Models it loads later never
//             stop the server when they fail.
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
#include "serving/model_control.h"
#include "serving/model_manager.h"
#include "serving/model_repository.h"

namespace surge::serving {

struct ModelServerOptions {
  std::string listen = "127.0.0.1:8000";
  std::string metrics_listen;                        // "" = /metrics on the main listener only
  // The gRPC endpoint (inference.GRPCInferenceService), HOST:PORT, port 0 = any; "" = none.
  // `surge serve` defaults it to 0.0.0.0:8001 (Triton's port).
  std::string grpc_listen;
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
  // --model-control-mode and friends (model_control.h): load/unload/poll at run time. The
  // drain_timeout there bounds the drain of an unloaded model's requests.
  ModelControlOptions control;
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
  uint16_t grpcPort() const { return grpc_port_; }  // 0 without a gRPC endpoint
  bool draining() const { return draining_.load(); }
  ModelManager& models() { return models_; }
  InferenceService& service() { return service_; }
  // Load / unload / index, shared by the HTTP and gRPC endpoints.
  ModelControl& control() { return control_; }

  class Impl;

 private:
  ModelServerOptions options_;
  metrics::Registry& registry_;
  ModelManager models_;
  InferenceService service_;
  ModelControl control_;
  std::atomic<bool> draining_{false};
  HttpApi api_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  uint16_t grpc_port_ = 0;
};

}  // namespace surge::serving
