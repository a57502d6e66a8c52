// GrpcServer: the Open Inference Protocol over gRPC — Triton's inference.GRPCInferenceService
// (grpc_service.proto) on grpc++'s callback API: no thread waits while a request waits for its
// batch. ModelInfer and ModelStreamInfer go through InferenceService::run() with the protobuf
// codec (grpc_codec.h), so lookup, readiness, the prediction cache, the batcher, metrics and
// statistics are the HTTP path's; the reply is rendered and sent from the thread that completes
// the request (a copy of the output bytes, then a non-blocking Finish/StartWrite).
// RPCs: ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer,
// ModelStreamInfer, ModelConfig, ModelStatistics, RepositoryIndex, RepositoryModelLoad/Unload
// (through ModelControl, model_control.h: parameter "config" = Triton's JSON config override,
// "file:..." refused, unload answered once drained) answer as their HTTP routes do; the
// shared-memory RPCs answer UNIMPLEMENTED with a message.
// Status mapping (Triton's TRITONSERVER_Error → grpc mapping, for surge's Status codes):
//   InvalidArgument, OutOfRange → INVALID_ARGUMENT; NotFound → NOT_FOUND; Unavailable,
//   DeadlineExceeded, FailedPrecondition → UNAVAILABLE (HTTP 503); ResourceExhausted →
//   RESOURCE_EXHAUSTED; AlreadyExists → ALREADY_EXISTS; Internal → INTERNAL; else UNKNOWN.
//   Bytes that are not a ModelInferRequest: INVALID_ARGUMENT (ModelInfer is registered raw and
//   parsed here; grpc++ would answer a bare UNIMPLEMENTED).
//   Messages larger than max_request_bytes are refused by gRPC itself (RESOURCE_EXHAUSTED).
// ModelStreamInfer: every request is answered on the stream in order of completion; a failed one
// as ModelStreamInferResponse{error_message, infer_response{model_name, model_version, id}} and the
// stream goes on.
// Shutdown: beginShutdown() stops accepting calls, lets open streams finish what they received
// and waits (on its own thread) for calls in flight up to a deadline; then done() is true.
// Thread-safety: start()/beginShutdown()/the destructor from the owner; the RPC handlers run on
// gRPC's threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "serving/inference_service.h"
#include "serving/model_control.h"
#include "serving/model_manager.h"

namespace grpc {
class Status;
}  // namespace grpc

namespace surge::serving {

struct GrpcServerOptions {
  std::string listen = "0.0.0.0:8001";              // HOST:PORT, port 0 = any
  uint64_t max_request_bytes = 64ull * 1024 * 1024;  // larger messages: RESOURCE_EXHAUSTED
  bool reuse_port = false;  // share the port with another process (SO_REUSEPORT)
  std::string server_name = "surge";
  std::string server_version = "0.0.0";
  std::vector<std::string> extensions;  // ServerMetadata.extensions
};

class GrpcServer {
 public:
  // `draining` true turns readiness off (SIGTERM), as for HTTP.
  GrpcServer(GrpcServerOptions options, ModelManager& models, InferenceService& service,
             const std::atomic<bool>& draining);
  ~GrpcServer();  // shuts down at once (calls still in flight are cancelled) if still running
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving. Errors: a bad address (InvalidArgument), the port in use
  // (AlreadyExists).
  Status start();
  uint16_t port() const { return port_; }

  // The model control behind the repository RPCs (must outlive this; set before start()).
  // Without one, load/unload answer UNAVAILABLE as in none mode and the index lists the served
  // versions.
  void setModelControl(ModelControl* control);

  // Starts the graceful shutdown: no new calls; streams finish once their requests are answered;
  // calls in flight get until `deadline` (then they are cancelled). Non-blocking, idempotent.
  void beginShutdown(Duration deadline);
  // The shutdown has completed (every call finished or cancelled).
  bool done() const;
  // Calls being served (unary calls and open streams).
  size_t activeCalls() const;

  class Impl;

 private:
  GrpcServerOptions options_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

// The gRPC status for a surge Status (the mapping above).
grpc::Status toGrpcStatus(const Status& status);

}  // namespace surge::serving
