#include "serving/serving_metrics.h"

#include <algorithm>
#include <chrono>

namespace surge::serving {

namespace {

using metrics::Counter;
using metrics::Family;
using metrics::Histogram;

// Every per-version family, registered (or found) once per call: registration and removal name
// them in one place.
struct ModelFamilies {
  Family<Counter>*success, *fail, *inference_count, *exec_count, *request_us, *queue_us,
      *compute_input_us, *compute_infer_us, *compute_output_us;
  Family<Histogram>*latency, *queue_latency, *batch_size;
};

ModelFamilies modelFamilies(metrics::Registry& r) {
  const std::vector<std::string> labels = {"model", "version"};
  auto counter = [&](const char* name, const char* help) {
    return &r.counter(name, help, labels);
  };
  ModelFamilies f{};
  // Triton's names and HELP texts, verbatim (triton-inference-server/core src/metrics.cc).
  f.success = counter("nv_inference_request_success",
                      "Number of successful inference requests, all batch sizes");
  f.fail = &r.counter("nv_inference_request_failure",
                      "Number of failed inference requests, all batch sizes",
                      {"model", "version", "reason"});
  f.inference_count = counter("nv_inference_count",
                              "Number of inferences performed (does not include cached requests)");
  f.exec_count = counter("nv_inference_exec_count",
                         "Number of model executions performed (does not include cached requests)");
  f.request_us =
      counter("nv_inference_request_duration_us",
              "Cumulative inference request duration in microseconds (includes cached requests)");
  f.queue_us =
      counter("nv_inference_queue_duration_us",
              "Cumulative inference queuing duration in microseconds (includes cached requests)");
  f.compute_input_us = counter(
      "nv_inference_compute_input_duration_us",
      "Cumulative compute input duration in microseconds (does not include cached requests)");
  f.compute_infer_us = counter(
      "nv_inference_compute_infer_duration_us",
      "Cumulative compute inference duration in microseconds (does not include cached requests)");
  f.compute_output_us =
      counter("nv_inference_compute_output_duration_us",
              "Cumulative inference compute output duration in microseconds (does not include "
              "cached requests)");
  // surge's own.
  f.latency = &r.histogram("model_latency",
                           "End-to-end latency of successful inference requests in seconds",
                           metrics::defaultLatencyBuckets(), labels);
  f.queue_latency = &r.histogram("surge_serve_queue_duration_seconds",
                                 "Time inference requests waited in the batch queue",
                                 metrics::defaultLatencyBuckets(), labels);
  f.batch_size = &r.histogram("surge_serve_batch_size", "Rows per executed batch",
                              metrics::exponentialBuckets(1, 2, 11), labels);
  return f;
}

const char* const kFailureReasons[] = {"REJECTED", "CANCELED", "BACKEND", "OTHER"};

}  // namespace

ModelMetrics registerModelMetrics(metrics::Registry& r, const std::string& model,
                                  const std::string& version) {
  const std::vector<std::string> values = {model, version};
  ModelFamilies f = modelFamilies(r);
  ModelMetrics m;
  m.success = &f.success->labels(values);
  m.fail_rejected = &f.fail->labels({model, version, "REJECTED"});
  m.fail_canceled = &f.fail->labels({model, version, "CANCELED"});
  m.fail_backend = &f.fail->labels({model, version, "BACKEND"});
  m.fail_other = &f.fail->labels({model, version, "OTHER"});
  m.inference_count = &f.inference_count->labels(values);
  m.exec_count = &f.exec_count->labels(values);
  m.request_us = &f.request_us->labels(values);
  m.queue_us = &f.queue_us->labels(values);
  m.compute_input_us = &f.compute_input_us->labels(values);
  m.compute_infer_us = &f.compute_infer_us->labels(values);
  m.compute_output_us = &f.compute_output_us->labels(values);
  m.latency = &f.latency->labels(values);
  m.queue_latency = &f.queue_latency->labels(values);
  m.batch_size = &f.batch_size->labels(values);
  return m;
}

void unregisterModelMetrics(metrics::Registry& r, const std::string& model,
                            const std::string& version) {
  const std::vector<std::string> values = {model, version};
  ModelFamilies f = modelFamilies(r);
  for (const char* reason : kFailureReasons) f.fail->remove({model, version, reason});
  for (auto* c : {f.success, f.inference_count, f.exec_count, f.request_us, f.queue_us,
                  f.compute_input_us, f.compute_infer_us, f.compute_output_us}) {
    c->remove(values);
  }
  for (auto* h : {f.latency, f.queue_latency, f.batch_size}) h->remove(values);
}

std::vector<BatchSizeStats> ModelStats::batchStats() const {
  std::vector<BatchSizeStats> out;
  std::lock_guard<std::mutex> lock(batch_mu);
  out.reserve(batches.size());
  for (const auto& [size, b] : batches) out.push_back(b);
  return out;
}

namespace {

uint64_t ns(Duration d) { return static_cast<uint64_t>(std::max<int64_t>(0, d.count())); }

void add(std::atomic<uint64_t>& a, uint64_t v) { a.fetch_add(v, std::memory_order_relaxed); }

// Adds `v` ns to a statistics sum and the whole microseconds that completes to Triton's µs
// counter: the counter always reads floor(sum / 1000) — integral, as Triton's, without Triton's
// truncation of every request's time (concurrent adds telescope: each sees its own `before`).
void addNs(std::atomic<uint64_t>& sum, metrics::Counter* us, uint64_t v) {
  uint64_t before = sum.fetch_add(v, std::memory_order_relaxed);
  uint64_t whole = (before + v) / 1000 - before / 1000;
  if (whole > 0) us->inc(static_cast<double>(whole));
}

}  // namespace

void recordSuccess(const ModelMetrics& mm, ModelStats& st, Duration total, const WorkResult& r,
                   bool from_cache) {
  mm.success->inc();
  mm.latency->observe(toSeconds(total));
  add(st.success_count, 1);
  addNs(st.success_ns, mm.request_us, ns(total));
  add(st.queue_count, 1);  // Triton: queue counts every success, cache hits with their ~0 wait
  if (!from_cache) {
    mm.queue_latency->observe(toSeconds(r.queue_time));
    addNs(st.queue_ns, mm.queue_us, ns(r.queue_time));
    add(st.compute_count, 1);
    addNs(st.compute_input_ns, mm.compute_input_us, ns(r.compute_input_time));
    addNs(st.compute_ns, mm.compute_infer_us, ns(r.compute_time));
    addNs(st.compute_output_ns, mm.compute_output_us, ns(r.compute_output_time));
  }
  st.last_inference_ms.store(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()),
      std::memory_order_relaxed);
}

void recordFailure(const ModelMetrics& mm, ModelStats& st, FailureReason reason, Duration total) {
  switch (reason) {
    case FailureReason::kRejected:
      mm.fail_rejected->inc();
      break;
    case FailureReason::kCanceled:
      mm.fail_canceled->inc();
      break;
    case FailureReason::kBackend:
      mm.fail_backend->inc();
      break;
    case FailureReason::kOther:
      mm.fail_other->inc();
      break;
  }
  add(st.fail_count, 1);
  add(st.fail_ns, ns(total));
}

void recordBatch(const ModelMetrics& mm, ModelStats& st, const BatchStats& b) {
  if (!b.ok) return;
  mm.exec_count->inc();
  mm.inference_count->inc(static_cast<double>(b.rows));
  mm.batch_size->observe(static_cast<double>(b.rows));
  add(st.execution_count, 1);
  add(st.inference_count, static_cast<uint64_t>(b.rows));
  // The instance thread, after the batch executed: not on any request's path.
  std::lock_guard<std::mutex> lock(st.batch_mu);
  BatchSizeStats& s = st.batches[b.rows];
  s.batch_size = static_cast<uint64_t>(b.rows);
  ++s.count;
  s.compute_input_ns += ns(b.compute_input_time);
  s.compute_infer_ns += ns(b.compute_time);
  s.compute_output_ns += ns(b.compute_output_time);
}

}  // namespace surge::serving
