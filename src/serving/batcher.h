// Batcher: the dynamic-batching driver of one model version — Triton's dynamic batch scheduler
// with its instance group. It owns the request queue and one thread per model instance; the
// decisions themselves come from the pure policy (batch_policy.h).
// Each instance thread: creates its instance (backend load), runs the warm-up batches (every
// preferred batch size once, zero inputs), then loops: when free, ask the policy; dispatch — stack
// the requests' rows into one tensor per input (Triton's "compute input"), execute ("compute
// infer"), slice each request's own rows of every output back to it ("compute output"), report
// the batch (on_batch, with the three times), then answer every request — or sleep until the
// policy's wake time or a new request. Instances take batches from the one queue in parallel
// (whichever is free).
// Queue policy: max_queue_size (requests) rejects at enqueue; a request's deadline is enqueue +
// its timeout (the model's default_timeout, or the request's own when allow_timeout_override and
// it is shorter); expired requests get 503 (REJECT) or go behind every other request (DELAY).
// Shutdown: drainAndStop() refuses new work, flushes the queue without waiting for batch delays,
// lets running batches finish, joins the threads.
// Thread-safety: every public method may be called from any thread. `done` callbacks run on
// instance threads (never inside enqueue) and must not block: post heavy work elsewhere.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "runtime/backend.h"
#include "serving/batch_policy.h"
#include "serving/model_config.h"

namespace surge::serving {

struct WorkResult {
  // OK; Unavailable (queue timeout, stopping); Internal (the backend failed).
  Status status;
  // One per model output (config order): this request's rows, backend shapes; default-constructed
  // for outputs the request did not want.
  std::vector<runtime::Tensor> outputs;
  // Triton's phases of the request's batch (every request of a batch gets the batch's times):
  Duration queue_time{0};           // enqueue → its batch started (stacking began)
  Duration compute_input_time{0};   // stacking the batch's inputs (compute input)
  Duration compute_time{0};         // the batch's execute() and output checks (compute infer)
  Duration compute_output_time{0};  // slicing every request's outputs back (compute output)
  int64_t batch_rows = 0;           // rows in its batch
};

// One request waiting for a batch.
struct InferWork {
  std::vector<runtime::Tensor> inputs;  // one per model input: [rows] + backend dims
  std::vector<bool> outputs_wanted;     // one per model output
  int64_t rows = 1;                     // 1 for a model without batching
  uint64_t shape_key = 0;               // hash of the non-batch dims of every input
  Duration timeout{0};                  // the request's own queue timeout; 0 = model default
  // Called exactly once with the outcome (not called when enqueue() returns an error).
  std::function<void(WorkResult&&)> done;
};

// One executed batch, as on_batch sees it (before any of its requests is answered).
struct BatchStats {
  int64_t rows = 0;  // the batch size (1 for a model without batching)
  size_t requests = 0;
  Duration compute_time{0};  // compute infer: execute() and the output checks
  int instance = 0;
  bool ok = true;
  Duration compute_input_time{0};   // stacking the requests' inputs into the batch tensors
  Duration compute_output_time{0};  // slicing the outputs back to the requests
};

struct BatcherOptions {
  BatchPolicyOptions policy;
  QueuePolicy queue;
  std::vector<int64_t> warmup_batch_sizes;  // rows; {} = no warm-up
  // Called on the instance thread after every executed batch (metrics). Optional.
  std::function<void(const BatchStats&)> on_batch;
};

// Builds the options for a model version from its config (policy, queue, warm-up sizes).
BatcherOptions batcherOptionsFor(const ModelConfig& config);

using InstanceFactory = std::function<StatusOr<std::unique_ptr<runtime::ModelInstance>>(
    const runtime::InstanceSpec& instance)>;

class Batcher {
 public:
  Batcher(runtime::ModelSpec spec, BatcherOptions options,
          std::vector<runtime::InstanceSpec> instances, InstanceFactory factory, Clock& clock);
  ~Batcher();  // drainAndStop()
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Starts the instance threads (load, warm up, serve). Once.
  void start();

  // Every instance loaded and warmed up.
  bool ready() const { return warmed_.load(std::memory_order_acquire) == instance_count_; }
  // The first load or warm-up error; OK while loading or once ready.
  Status loadStatus() const;
  // Waits until ready or failed, up to `timeout`; true when ready.
  bool waitLoaded(Duration timeout);
  // Every instance thread is past its load and warm-up (ready, failed, or never started):
  // drainAndStop() then waits for running batches only, never for a backend's load.
  bool loadSettled() const {
    return !started_flag_.load(std::memory_order_acquire) ||
           settled_.load(std::memory_order_acquire) == instance_count_;
  }

  // Queues a request. Unavailable when the queue is full ("Exceeds maximum queue size"), when the
  // batcher is stopping, or when loading failed; `done` is then never called.
  Status enqueue(std::unique_ptr<InferWork> work);

  // From now on dispatch without waiting for batch delays (the server is draining); work is still
  // accepted.
  void flush();

  // Refuses new work, runs everything queued (no batch delays), waits for running batches, joins.
  // Idempotent.
  void drainAndStop();

  // Refuses new work and fails every queued request with `answer` (its `done` runs on the calling
  // thread); batches already executing finish. A drain that ran out of time calls this before
  // drainAndStop(), which then only waits for those batches. Idempotent.
  void rejectQueued(const Status& answer);

  // Requests waiting in the queue (not yet executing).
  size_t queueLength() const { return queued_.load(std::memory_order_relaxed); }
  // Requests in batches being executed.
  size_t executing() const { return executing_.load(std::memory_order_relaxed); }

  const runtime::ModelSpec& spec() const { return spec_; }

 private:
  struct Pending {
    std::unique_ptr<InferWork> work;
    TimePoint enqueued;
  };

  void runInstance(const runtime::InstanceSpec& instance);
  Status warmUp(runtime::ModelInstance& instance);
  // Runs one batch and answers its requests; `results` is the instance thread's scratch space.
  void executeBatch(runtime::ModelInstance& instance, int index, std::vector<Pending>& batch,
                    int64_t rows, std::vector<WorkResult>& results);
  void failLoad(Status status);
  void rejectAll(std::deque<Pending>& q, std::deque<QueuedItem>& items, const Status& status);

  const runtime::ModelSpec spec_;
  const BatcherOptions options_;
  const std::vector<runtime::InstanceSpec> instances_;
  const InstanceFactory factory_;
  Clock& clock_;
  const int instance_count_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // The queue, FIFO; `items_` mirrors `queue_` with what the policy reads. Requests past their
  // deadline under DELAY move to delayed_/delayed_items_ (deadline cleared), served when the main
  // queue is empty.
  std::deque<Pending> queue_, delayed_;
  std::deque<QueuedItem> items_, delayed_items_;
  bool stopping_ = false;
  bool flush_ = false;
  bool started_ = false;
  bool joined_ = false;
  Status load_status_;
  std::condition_variable loaded_cv_;

  std::atomic<int> warmed_{0};
  std::atomic<int> settled_{0};  // instances past load + warm-up (ready or failed)
  std::atomic<bool> started_flag_{false};
  std::atomic<int> alive_{0};  // instance threads still serving
  std::atomic<size_t> queued_{0};
  std::atomic<size_t> executing_{0};
  std::vector<std::thread> threads_;
};

}  // namespace surge::serving
