#include "serving/serving_metrics.h"

namespace surge::serving {

ModelMetrics registerModelMetrics(metrics::Registry& r, const std::string& model,
                                  const std::string& version) {
  const std::vector<std::string> labels = {"model", "version"};
  const std::vector<std::string> values = {model, version};
  ModelMetrics m;
  m.success = &r.counter("nv_inference_request_success_total",
                         "Inference requests answered successfully", labels)
                   .labels(values);
  auto& fail = r.counter("nv_inference_request_failure_total",
                         "Inference requests that failed, by reason (REJECTED, BACKEND, OTHER)",
                         {"model", "version", "reason"});
  m.fail_rejected = &fail.labels({model, version, "REJECTED"});
  m.fail_backend = &fail.labels({model, version, "BACKEND"});
  m.fail_other = &fail.labels({model, version, "OTHER"});
  m.inference_count = &r.counter("nv_inference_count_total",
                                 "Inferences performed (rows of executed batches)", labels)
                           .labels(values);
  m.exec_count =
      &r.counter("nv_inference_exec_count_total", "Batches executed by model instances", labels)
           .labels(values);
  m.request_seconds = &r.counter("nv_inference_request_duration_seconds_total",
                                 "Cumulative end-to-end time of successful requests", labels)
                           .labels(values);
  m.queue_seconds = &r.counter("nv_inference_queue_duration_seconds_total",
                               "Cumulative time successful requests waited in the queue", labels)
                         .labels(values);
  m.compute_seconds =
      &r.counter("nv_inference_compute_infer_duration_seconds_total",
                 "Cumulative time successful requests spent executing in their batch", labels)
           .labels(values);
  m.latency = &r.histogram("model_latency",
                           "End-to-end latency of successful inference requests in seconds",
                           metrics::defaultLatencyBuckets(), labels)
                   .labels(values);
  m.queue_latency = &r.histogram("surge_serve_queue_duration_seconds",
                                 "Time inference requests waited in the batch queue",
                                 metrics::defaultLatencyBuckets(), labels)
                         .labels(values);
  m.batch_size = &r.histogram("surge_serve_batch_size", "Rows per executed batch",
                              metrics::exponentialBuckets(1, 2, 11), labels)
                      .labels(values);
  return m;
}

}  // namespace surge::serving
