// The model server's metrics, Triton's names where they apply, made promtool-clean (every
// `promtool check metrics` lint passes), plus the two names the example KEDA ScaledObject queries.
// Triton's counters do not end in _total and its durations are in microseconds (_us), both of
// which promtool rejects; surge keeps Triton's stems and applies the Prometheus conventions
// (docs/design/serving.md has the table):
//   nv_inference_request_success_total{model,version}         requests answered 200
//   nv_inference_request_failure_total{model,version,reason}  REJECTED (queue full, timeout, not
//                                                             ready), BACKEND (execute failed),
//                                                             OTHER (invalid request, 400)
//   nv_inference_count_total                                  inferences (rows) executed
//   nv_inference_exec_count_total                             batches executed
//   nv_inference_request_duration_seconds_total               end-to-end time of successes
//   nv_inference_queue_duration_seconds_total                 time queued (successes)
//   nv_inference_compute_infer_duration_seconds_total         time executing (successes)
//   nv_inference_pending_requests                             gauge: queued requests (Triton's
//                                                             nv_inference_pending_request_count)
//   model_request_queue_length                                gauge: the same, for KEDA
//   model_latency                                             histogram, seconds, successes
//   surge_serve_queue_duration_seconds                        histogram, seconds
//   surge_serve_batch_size                                    histogram of rows per batch
//   surge_serve_model_ready                                   gauge 0/1 per model version
// Thread-safety: as metrics/ (atomics on the hot path; ModelMetrics holds cached series).
#pragma once

#include <string>

#include "metrics/registry.h"

namespace surge::serving {

// The series of one model version, looked up once.
struct ModelMetrics {
  metrics::Counter* success = nullptr;
  metrics::Counter* fail_rejected = nullptr;
  metrics::Counter* fail_backend = nullptr;
  metrics::Counter* fail_other = nullptr;
  metrics::Counter* inference_count = nullptr;
  metrics::Counter* exec_count = nullptr;
  metrics::Counter* request_seconds = nullptr;
  metrics::Counter* queue_seconds = nullptr;
  metrics::Counter* compute_seconds = nullptr;
  metrics::Histogram* latency = nullptr;
  metrics::Histogram* queue_latency = nullptr;
  metrics::Histogram* batch_size = nullptr;
};

// Registers the families (not the callback gauges: ModelManager does, it owns the queues).
ModelMetrics registerModelMetrics(metrics::Registry& registry, const std::string& model,
                                  const std::string& version);

}  // namespace surge::serving
