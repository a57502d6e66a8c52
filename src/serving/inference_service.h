// InferenceService: one inference request end to end, independent of the transport — find the
// model version, check readiness, parse and check the JSON body (infer_json.h), consult the
// prediction cache (prediction_cache.h, optional), queue the work on the version's batcher,
// and render the JSON answer — with the metrics and statistics of every outcome.
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

#include "common/clock.h"
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

class InferenceService {
 public:
  InferenceService(ModelManager& models, Clock& clock);

  // Optional; must outlive the service. Set before serving.
  void setCache(PredictionCache* cache) { cache_ = cache; }

  // `version` "" = the newest served version. `reply` is called exactly once: on the calling
  // thread for answers known at once (errors, cache hits answered inline), else through `post`.
  // `json_length`: the Inference-Header-Content-Length header (npos when absent).
  void infer(std::string_view model, std::string_view version, std::string_view body,
             const Post& post, std::function<void(InferReply)> reply,
             size_t json_length = std::string_view::npos);

  // Requests accepted and not yet answered.
  size_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Call;
  void enqueue(std::shared_ptr<Call> call);
  void finish(Call& call, WorkResult&& result, bool from_cache);
  void finishUnguarded(Call& call, WorkResult&& result, bool from_cache);

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

}  // namespace surge::serving
