// The model server's metrics and statistics, recorded in one place (recordSuccess, recordFailure,
// recordBatch) for every transport (HTTP, gRPC) and the prediction cache path.
// /metrics carries NVIDIA Triton's metrics under Triton's exact names, types, units, HELP texts
// and labels (triton-inference-server/core src/metrics.cc, metric_model_reporter.cc), so Triton
// dashboards, alerts and KEDA/HPA queries work unchanged — counters without _total, durations in
// microseconds: the promtool lint deviations metrics/promtool_allowlist.h allows for exactly these
// names (docs/design/serving-metrics.md has the table). Labels {model, version}:
//   nv_inference_request_success             counter  requests answered successfully
//   nv_inference_request_failure{reason}     counter  REJECTED (not ready, queue full, queue
//                                                     timeout, stopping: 503), CANCELED (none
//                                                     yet), BACKEND (execution failed: 500),
//                                                     OTHER (invalid request: 400)
//   nv_inference_count                       counter  inferences: rows of executed batches
//   nv_inference_exec_count                  counter  batches executed
//   nv_inference_request_duration_us         counter  µs, end to end, successes (cache hits too)
//   nv_inference_queue_duration_us           counter  µs queued, successes (cache hits add 0)
//   nv_inference_compute_input_duration_us   counter  µs stacking inputs into the batch tensors
//   nv_inference_compute_infer_duration_us   counter  µs executing the batch
//   nv_inference_compute_output_duration_us  counter  µs slicing outputs back to the requests
//                                                     (compute: successes not from the cache,
//                                                     each request counts its batch's times)
//   nv_inference_pending_request_count       gauge    requests queued (ModelManager's callback)
// Triton's response-cache counters (nv_cache_num_hits_per_model, nv_cache_num_misses_per_model,
// nv_cache_hit_duration_per_model, nv_cache_miss_duration_per_model, µs) exist only with
// `--cache` and are recorded by the cache (redis_cache.h). Not implemented: Triton's opt-in
// summaries (--metrics-config summary_latencies=true, nv_inference_*_summary_us).
// surge's own, promtool-clean:
//   model_request_queue_length               gauge    requests queued (the KEDA examples' name)
//   model_latency                            histogram seconds, end to end, successes
//   surge_serve_queue_duration_seconds       histogram seconds queued
//   surge_serve_batch_size                   histogram rows per executed batch
//   surge_serve_model_ready                  gauge    0/1 per model version
// GET /v2/models/{m}/stats (Triton's statistics extension) renders ModelStats.
// Thread-safety: counters are atomics (the request path adds nothing else); the per-batch-size
// statistics take a small mutex, on the instance thread (recordBatch) and when rendered.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "metrics/registry.h"
#include "serving/batcher.h"

namespace surge::serving {

// The series of one model version, looked up once.
struct ModelMetrics {
  metrics::Counter* success = nullptr;
  metrics::Counter* fail_rejected = nullptr;
  metrics::Counter* fail_canceled = nullptr;
  metrics::Counter* fail_backend = nullptr;
  metrics::Counter* fail_other = nullptr;
  metrics::Counter* inference_count = nullptr;
  metrics::Counter* exec_count = nullptr;
  metrics::Counter* request_us = nullptr;
  metrics::Counter* queue_us = nullptr;
  metrics::Counter* compute_input_us = nullptr;
  metrics::Counter* compute_infer_us = nullptr;
  metrics::Counter* compute_output_us = nullptr;
  metrics::Histogram* latency = nullptr;
  metrics::Histogram* queue_latency = nullptr;
  metrics::Histogram* batch_size = nullptr;
};

// The executions of one batch size (Triton's InferBatchStatistics): `count` batches, their
// cumulative compute input / infer / output times.
struct BatchSizeStats {
  uint64_t batch_size = 0;
  uint64_t count = 0;
  uint64_t compute_input_ns = 0;
  uint64_t compute_infer_ns = 0;
  uint64_t compute_output_ns = 0;
};

// Cumulative statistics behind GET /v2/models/{m}/stats (Triton's statistics extension) and the
// gRPC ModelStatistics RPC. Durations in ns.
struct ModelStats {
  std::atomic<uint64_t> success_count{0}, success_ns{0};  // end to end, cache hits included
  std::atomic<uint64_t> fail_count{0}, fail_ns{0};
  std::atomic<uint64_t> queue_count{0}, queue_ns{0};  // every success (a cache hit adds 0 ns)
  // compute_count: successes that ran in a batch (not cache hits); compute_ns is compute infer.
  std::atomic<uint64_t> compute_count{0}, compute_ns{0};
  std::atomic<uint64_t> compute_input_ns{0}, compute_output_ns{0};
  std::atomic<uint64_t> inference_count{0}, execution_count{0};
  std::atomic<uint64_t> last_inference_ms{0};  // wall clock, ms since the Unix epoch
  // The prediction cache: lookups that hit / missed, with the time the lookup took (a miss's
  // insert is asynchronous and not counted).
  std::atomic<uint64_t> cache_hit_count{0}, cache_hit_ns{0};
  std::atomic<uint64_t> cache_miss_count{0}, cache_miss_ns{0};

  // One entry per executed batch size, ascending (a snapshot; takes batch_mu).
  std::vector<BatchSizeStats> batchStats() const;

  mutable std::mutex batch_mu;
  std::map<int64_t, BatchSizeStats> batches;  // by batch size; guarded by batch_mu
};

// Why a request failed (Triton's failure reasons).
enum class FailureReason {
  kRejected,  // not ready, queue full, queue timeout, stopping (503)
  kBackend,   // the backend failed (500)
  kOther,     // invalid request (400) and anything else
  kCanceled,  // the client cancelled the request (Triton's CANCELED)
};

// The one place a request's outcome becomes metrics and statistics — every transport (HTTP,
// gRPC) and the prediction cache path record through these.
//   recordSuccess: `total` is the end-to-end time; `result` the batcher's (queue and compute
//   input/infer/output times; ignored when `from_cache`: no queue or compute happened).
//   recordFailure: a request that got an error status after it was accepted for a model.
//   recordBatch: once per executed batch (instance thread): exec and inference counts, the
//   batch-size histogram and the per-batch-size statistics (successful batches only).
void recordSuccess(const ModelMetrics& metrics, ModelStats& stats, Duration total,
                   const WorkResult& result, bool from_cache);
void recordFailure(const ModelMetrics& metrics, ModelStats& stats, FailureReason reason,
                   Duration total);
void recordBatch(const ModelMetrics& metrics, ModelStats& stats, const BatchStats& batch);

// Registers the families (not the callback gauges: ModelManager does, it owns the queues).
ModelMetrics registerModelMetrics(metrics::Registry& registry, const std::string& model,
                                  const std::string& version);
// Stops exporting a version's series (Triton removes an unloaded model's metrics). Cached
// references stay valid (metrics/family.h): late increments are just not shown. Registering the
// same version again starts its series from zero.
void unregisterModelMetrics(metrics::Registry& registry, const std::string& model,
                            const std::string& version);

}  // namespace surge::serving
