// GrpcServer: the Open Inference Protocol over gRPC — Triton's inference.GRPCInferenceService
// (grpc_service.proto) served over HTTP/2 by surge itself: net/h2's H2Server (libnghttp2 for the
// framing, HPACK and flow control, with an edge's limits) on `workers` event loops sharing the
// port, gRPC's length-prefixed messages and trailers (net/h2/grpc_framing.h), protobuf for the
// messages. No gRPC runtime: one loop thread reads, parses and dispatches; ModelInfer and
// ModelStreamInfer go through InferenceService::run() with the protobuf codec (grpc_codec.h), so
// lookup, readiness, the prediction cache, the batcher, metrics and statistics are the HTTP
// path's; the reply is rendered on the thread that completes the request and handed to the
// connection's loop. (Until 2026-12 this was grpc++'s callback API, at ~2× the CPU per request:
// docs/design/serving-grpc.md.)
// RPCs: ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer,
// ModelStreamInfer, ModelConfig, ModelStatistics, RepositoryIndex, RepositoryModelLoad/Unload
// (through ModelControl, model_control.h: parameter "config" = Triton's JSON config override,
// "file:..." refused, unload answered once drained) answer as their HTTP routes do; the
// shared-memory RPCs answer UNIMPLEMENTED with a message; an unknown method or service
// UNIMPLEMENTED; a request that is not POST application/grpc HTTP 405 / 415 (the gRPC spec).
// Status mapping (Triton's TRITONSERVER_Error → grpc mapping, for surge's Status codes):
//   InvalidArgument, OutOfRange → INVALID_ARGUMENT; NotFound → NOT_FOUND; Unavailable,
//   DeadlineExceeded, FailedPrecondition → UNAVAILABLE (HTTP 503); ResourceExhausted →
//   RESOURCE_EXHAUSTED; AlreadyExists → ALREADY_EXISTS; Internal → INTERNAL; else UNKNOWN.
//   Bytes that are not the method's request message: INVALID_ARGUMENT naming the message type.
//   A message larger than max_request_bytes: RESOURCE_EXHAUSTED as soon as its 5-byte prefix
//   arrives (nothing of it is buffered); a compressed message (grpc-encoding other than
//   identity): UNIMPLEMENTED.
// ModelStreamInfer: every request is answered on the stream in order of completion; a failed one
// as ModelStreamInferResponse{error_message, infer_response{model_name, model_version, id}} and the
// stream goes on.
// Shutdown: beginShutdown() sends GOAWAY on every connection (two steps: calls in flight finish,
// new ones are refused), lets open streams finish what they received, and waits (on its own
// thread) for the connections to close up to a deadline; then what is left is cut and done() is
// true. grpc-timeout is the client's to enforce (the server does not cancel work on it).
// Thread-safety: start()/beginShutdown()/the destructor from the owner; the RPC handlers run on
// the loop threads, completions on the batcher's threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/h2/grpc_framing.h"
#include "serving/inference_service.h"
#include "serving/model_control.h"
#include "serving/model_manager.h"

namespace surge::serving {

struct GrpcServerOptions {
  std::string listen = "0.0.0.0:8001";              // HOST:PORT, port 0 = any
  uint64_t max_request_bytes = 64ull * 1024 * 1024;  // larger messages: RESOURCE_EXHAUSTED
  bool reuse_port = false;  // share the port with another process (SO_REUSEPORT)
  std::string server_name = "surge";
  std::string server_version = "0.0.0";
  std::vector<std::string> extensions;  // ServerMetadata.extensions
  int workers = 1;                      // event-loop threads (SO_REUSEPORT among them)
};

// A gRPC status: code and message (grpc-status / grpc-message).
struct RpcStatus {
  h2::GrpcCode code = h2::GrpcCode::kOk;
  std::string message;
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
RpcStatus toRpcStatus(const Status& status);

}  // namespace surge::serving
