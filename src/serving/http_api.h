// HttpApi: the Open Inference Protocol's HTTP/REST routes (KServe v2 / Triton) over
// net::HttpServer, plus /metrics and Triton's binary tensor data, statistics and repository-index
// extensions.
//   GET  /v2/health/live                         200 {"live":true}
//   GET  /v2/health/ready                        200 {"ready":true} | 503 {"ready":false,"error"}
//   GET  /v2                                     {"name","version","extensions"}
//   GET  /v2/models/{m}[/versions/{v}]           metadata {"name","versions","platform",
//                                                "inputs","outputs"} (batched: shape [-1]+dims)
//   GET  /v2/models/{m}[/versions/{v}]/ready     200 {"name","ready":true} | 503
//   POST /v2/models/{m}[/versions/{v}]/infer     inference (inference_service.h)
//   GET  /v2/models[/{m}[/versions/{v}]]/stats   statistics extension
//   POST /v2/repository/index                    [{"name","version","state"}]
//   GET  /metrics                                Prometheus text
// Unknown model or version 404; a known path with the wrong verb 405 (with Allow); anything else
// 404. Every error body is {"error": "..."}, valid UTF-8 JSON whatever the URL held (invalid
// UTF-8 becomes U+FFFD); an exception inside a request answers 503/500 for that request alone.
// Thread-safety: handle() may run on several event-loop threads at once.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "metrics/registry.h"
#include "net/http_server.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"

namespace surge::serving {

struct HttpApiOptions {
  std::string server_name = "surge";
  std::string server_version = "0.0.0";
  bool metrics = true;  // serve GET /metrics on this listener
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

 private:
  void route(const net::HttpRequest& request, const std::shared_ptr<net::Responder>& responder,
             const Post& post);
  net::HttpResponse metadata(const ServedModel& m) const;
  net::HttpResponse statistics(const std::vector<ServedModel*>& models) const;
  net::HttpResponse repositoryIndex() const;

  HttpApiOptions options_;
  ModelManager& models_;
  InferenceService& service_;
  metrics::Registry& registry_;
  const std::atomic<bool>& draining_;
};

// Serves /metrics only (for --metrics-port).
net::HttpResponse metricsResponse(const metrics::Registry& registry);

}  // namespace surge::serving
