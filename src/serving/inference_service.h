// InferenceService: one inference request end to end, independent of the transport — find the
// model version, check readiness, parse and check the request (the transport's codec: JSON and
// binary tensors for HTTP, infer_json.h; protobuf for gRPC), consult the prediction cache
// (prediction_cache.h, optional), queue the work on the version's batcher, and render the answer
// through the codec — with the metrics and statistics of every outcome (serving_metrics.h).
// Status mapping (Open Inference Protocol / Triton): malformed or invalid request 400, unknown
// model or version 404, not ready / queue full / queue timeout / stopping 503, backend failure 500.
// Threads: infer() parses on the caller's thread; the batcher finishes on an instance thread and
// `post` moves the rendering and the reply back to the caller's event loop, so JSON writing never
// occupies a model instance.
// Thread-safety: infer() may be called from any thread concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "serving/infer_json.h"
#include "serving/model_manager.h"
#include "serving/prediction_cache.h"

namespace surge::serving {

struct InferReply {
  int status = 200;
  std::string body;        // JSON: the response object or {"error": "..."}, then binary tensors
  size_t json_length = 0;  // > 0: binary tensor data follows this much JSON
};

// Runs `fn` on the thread (event loop) the reply must be delivered on.
using Post = std::function<void(std::function<void()> fn)>;

// A transport's side of one request (see InferenceService::run).
struct InferCodec {
  // Parses the transport's request into `out`, checked against the model version's spec
  // (InvalidArgument with the client's message when it is wrong). Runs on the calling thread.
  std::function<Status(const ServedModel& model, InferRequest* out)> parse;
  // Renders a successful result (one tensor per model output, config order, as the batcher
  // returns them; only the wanted ones are set). An error fails the request with that status.
  // Runs on the thread `post` delivers to.
  std::function<Status(const ServedModel& model, const InferRequest& request,
                       const std::vector<runtime::Tensor>& outputs)>
      render;
  // The outcome, exactly once, after metrics were recorded: OK (render succeeded) or the error
  // (NotFound: unknown model or version; Unavailable: not ready, queue full, queue timeout,
  // stopping; InvalidArgument: bad request; Internal: the backend failed; ResourceExhausted: out
  // of memory). `model` is null when the lookup failed.
  std::function<void(const Status& status, ServedModel* model)> done;
};

class InferenceService {
 public:
  InferenceService(ModelManager& models, Clock& clock);

  // Optional; must outlive the service. Set before serving.
  void setCache(PredictionCache* cache) { cache_ = cache; }

  // The transport-independent entry. `version` "" = the newest served version. codec.done is
  // called exactly once: on the calling thread for answers known at once (lookup, readiness and
  // parse errors), else through `post`.
  void run(std::string_view model, std::string_view version, InferCodec codec, const Post& post);

  // The HTTP/JSON codec over run(): `body` is the request (JSON, then binary tensor data when
  // `json_length` — the Inference-Header-Content-Length header — is not npos). `reply` is called
  // exactly once with the status code and the JSON answer or {"error": "..."}.
  void infer(std::string_view model, std::string_view version, std::string_view body,
             const Post& post, std::function<void(InferReply)> reply,
             size_t json_length = std::string_view::npos);

  // Requests accepted and not yet answered.
  size_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Call;
  void enqueue(std::shared_ptr<Call> call);
  void finish(Call& call, WorkResult&& result, bool from_cache);
  void complete(Call& call, const Status& status);

  ModelManager& models_;
  Clock& clock_;
  PredictionCache* cache_ = nullptr;
  std::atomic<size_t> in_flight_{0};
};

// {"error": message}.
std::string jsonErrorBody(std::string_view message);
// Runs fn; an exception escaping it (std::bad_alloc, std::length_error: ResourceExhausted, 503;
// anything else: Internal, 500) becomes the error of this one request, never of the process.
Status guarded(const std::function<Status()>& fn);
// HTTP status for a Status code (InvalidArgument 400, NotFound 404, Unavailable 503, else 500).
int httpStatusFor(const Status& status);
// Triton's failure reason for an error status (500 BACKEND, 503 REJECTED, else OTHER).
FailureReason failureReasonFor(const Status& status);

}  // namespace surge::serving
