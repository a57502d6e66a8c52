// HttpApi: the Open Inference Protocol's HTTP/REST routes (KServe v2 / Triton) over
// net::HttpServer, plus /metrics and Triton's binary tensor data, statistics and repository-index
// extensions.
//   GET  /v2/health/live                         200 {"live":true}
//   GET  /v2/health/ready                        200 {"ready":true} | 503 {"ready":false,"error"}
//   GET  /v2                                     {"name","version","extensions"}
//   GET  /v2/models/{m}[/versions/{v}]           metadata {"name","versions","platform",
//                                                "inputs","outputs"} (batched: shape [-1]+dims)
//   GET  /v2/models/{m}[/versions/{v}]/ready     200 {"name","ready":true} | 503
//   GET  /v2/models/{m}[/versions/{v}]/config    Triton's model configuration JSON
//                                                (model_config_json.h)
//   POST /v2/models/{m}[/versions/{v}]/infer     inference (inference_service.h); request bodies
//                                                may be Content-Encoding gzip/deflate, answers
//                                                follow Accept-Encoding (http_compression.h)
//   GET  /v2/models[/{m}[/versions/{v}]]/stats   statistics extension
//   POST /v2/repository/index                    [{"name","version","state","reason"}], every
//                                                model of the repository (model_control.h);
//                                                body {"ready":true}: READY ones only
//   POST /v2/repository/models/{m}/load          load / reload (explicit mode; body may hold
//                                                {"parameters":{"config":"<JSON>"}}): 200 once
//                                                ready, 400 with the load error
//   POST /v2/repository/models/{m}/unload        unload, draining its requests: 200 once drained
//                                                (none/poll mode: load and unload answer 503)
//   GET  /metrics                                Prometheus text
// Unknown model or version 404; a known path with the wrong verb 405 (with Allow); anything else
// 404. Every error body is {"error": "..."}, valid UTF-8 JSON whatever the URL held (invalid
// UTF-8 becomes U+FFFD); an exception inside a request answers 503/500 for that request alone.
// Thread-safety: handle() may run on several event-loop threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "net/http_server.h"
#include "serving/codec_pool.h"
#include "serving/http_compression.h"
#include "serving/inference_service.h"
#include "serving/model_control.h"
#include "serving/model_manager.h"

namespace surge::serving {

struct HttpApiOptions {
  std::string server_name = "surge";
  std::string server_version = "0.0.0";
  bool metrics = true;  // serve GET /metrics on this listener
  // --max-request-size: the most a Content-Encoding'd infer body may decode to (413 beyond).
  uint64_t max_request_bytes = 64ull * 1024 * 1024;
  // Threads that inflate compressed bodies (and parse them) and compress large answers, off the
  // event loops (codec_pool.h). More such requests than the pool takes at once get 503.
  CodecPoolOptions codec;
};

class HttpApi {
 public:
  // `draining` true turns readiness off (SIGTERM); read on every readiness probe.
  HttpApi(HttpApiOptions options, ModelManager& models, InferenceService& service,
          metrics::Registry& registry, const std::atomic<bool>& draining);

  // Answers one request. `post` runs a function on the calling event loop (for replies that
  // complete on another thread).
  void handle(const net::HttpRequest& request, std::shared_ptr<net::Responder> responder,
              const Post& post);

  // The model control behind the repository routes (must outlive this; set before serving).
  // Without one, load/unload answer 503 as in none mode and the index lists the served versions.
  void setModelControl(ModelControl* control) { control_ = control; }

  // Stops the codec pool (queued decodes are dropped, running ones finish). Call before the
  // event loops stop: a running job posts its answer to one. Idempotent.
  void stop() { codec_pool_.stop(); }

 private:
  void route(const net::HttpRequest& request, const std::shared_ptr<net::Responder>& responder,
             const Post& post);
  // Sends an inference answer (on the event loop), compressed with `coding` when worth it.
  void sendInferReply(const std::shared_ptr<net::Responder>& responder, InferReply reply,
                      ContentCoding coding, const Post& post);
  net::HttpResponse metadata(const ServedModel& m) const;
  net::HttpResponse statistics(const std::vector<std::shared_ptr<ServedModel>>& models) const;
  net::HttpResponse repositoryIndex(std::string_view body) const;
  // POST /v2/repository/models/{m}/{load|unload}: answered through `post` once done.
  void repositoryControl(const net::HttpRequest& request, std::string_view model,
                         std::string_view action, const std::shared_ptr<net::Responder>& responder,
                         const Post& post);

  HttpApiOptions options_;
  ModelManager& models_;
  InferenceService& service_;
  metrics::Registry& registry_;
  const std::atomic<bool>& draining_;
  ModelControl* control_ = nullptr;
  CodecPool codec_pool_;
};

// The protocol extensions the server supports, as GET /v2 and gRPC ServerMetadata list them
// (Triton's names).
inline const std::vector<std::string>& serverExtensions() {
  static const std::vector<std::string> kExtensions = {
      "binary_tensor_data", "model_configuration", "model_repository",
      "model_repository(unload_dependents)", "statistics"};
  return kExtensions;
}

// Serves /metrics only (for --metrics-port).
net::HttpResponse metricsResponse(const metrics::Registry& registry);

}  // namespace surge::serving
