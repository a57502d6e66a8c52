#include "serving/batcher.h"

#include <algorithm>
#include <new>
#include <stdexcept>

#include "common/logging.h"

namespace surge::serving {

BatcherOptions batcherOptionsFor(const ModelConfig& config) {
  BatcherOptions o;
  o.policy.max_batch_size = config.spec.max_batch_size;
  if (config.dynamic_batching && config.spec.max_batch_size > 0) {
    o.policy.dynamic = true;
    o.policy.preferred_batch_sizes = config.dynamic_batching->preferred_batch_sizes;
    o.policy.max_queue_delay = config.dynamic_batching->max_queue_delay;
    o.queue = config.dynamic_batching->queue_policy;
  }
  // Every preferred size (Triton's default: max_batch_size) plus 1, the size light load runs at.
  std::vector<int64_t> sizes = config.preferredBatchSizes();
  sizes.push_back(1);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  o.warmup_batch_sizes = std::move(sizes);
  return o;
}

Batcher::Batcher(runtime::ModelSpec spec, BatcherOptions options,
                 std::vector<runtime::InstanceSpec> instances, InstanceFactory factory,
                 Clock& clock)
    : spec_(std::move(spec)),
      options_(std::move(options)),
      instances_(std::move(instances)),
      factory_(std::move(factory)),
      clock_(clock),
      instance_count_(static_cast<int>(instances_.size())) {
  SURGE_CHECK(instance_count_ > 0);
}

Batcher::~Batcher() { drainAndStop(); }

void Batcher::start() {
  std::lock_guard<std::mutex> lock(mu_);
  SURGE_CHECK(!started_);
  started_ = true;
  started_flag_.store(true, std::memory_order_release);
  alive_.store(instance_count_);
  for (const auto& is : instances_) {
    threads_.emplace_back([this, is] { runInstance(is); });
  }
}

Status Batcher::loadStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_status_;
}

bool Batcher::waitLoaded(Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  loaded_cv_.wait_for(lock, timeout, [this] { return ready() || !load_status_.isOk(); });
  return ready() && load_status_.isOk();
}

Status Batcher::enqueue(std::unique_ptr<InferWork> work) {
  TimePoint now = clock_.now();
  Duration timeout = options_.queue.default_timeout;
  if (work->timeout > Duration::zero() && options_.queue.allow_timeout_override) {
    timeout = timeout > Duration::zero() ? std::min(timeout, work->timeout) : work->timeout;
  }
  QueuedItem item{now, timeout > Duration::zero() ? now + timeout : TimePoint::max(), work->rows,
                  work->shape_key};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!load_status_.isOk()) return unavailable("model failed to load: " + load_status_.message());
    if (stopping_) return unavailable("model '" + spec_.name + "' is stopping");
    uint32_t max = options_.queue.max_queue_size;
    if (max > 0 && queue_.size() + delayed_.size() >= max) {
      return unavailable("Exceeds maximum queue size");
    }
    queue_.push_back({std::move(work), now});
    items_.push_back(item);
    queued_.store(queue_.size() + delayed_.size(), std::memory_order_relaxed);
  }
  cv_.notify_one();
  return Status::ok();
}

void Batcher::rejectAll(std::deque<Pending>& q, std::deque<QueuedItem>& items,
                        const Status& status) {
  for (auto& p : q) {
    WorkResult r;
    r.status = status;
    auto done = std::move(p.work->done);
    p.work.reset();
    if (done) done(std::move(r));
  }
  q.clear();
  items.clear();
}

void Batcher::failLoad(Status status) {
  std::deque<Pending> q, d;
  std::deque<QueuedItem> qi, di;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (load_status_.isOk()) load_status_ = status;
    stopping_ = true;
    q.swap(queue_);
    d.swap(delayed_);
    qi.swap(items_);
    di.swap(delayed_items_);
    queued_.store(0, std::memory_order_relaxed);
    loaded_cv_.notify_all();
  }
  cv_.notify_all();
  SURGE_LOG(kError, "serving",
            "model '" + spec_.name + "' version " + std::to_string(spec_.version) + ": " +
                status.message());
  Status answer = unavailable("model failed to load: " + status.message());
  rejectAll(q, qi, answer);
  rejectAll(d, di, answer);
}

Status Batcher::warmUp(runtime::ModelInstance& instance) {
  bool batched = spec_.max_batch_size > 0;
  for (int64_t b : options_.warmup_batch_sizes) {
    if (batched && b > spec_.max_batch_size) continue;
    runtime::ExecuteRequest req;
    req.batch_size = batched ? b : 1;
    for (const auto& in : spec_.inputs) {
      runtime::Shape shape = in.backendDims();
      for (auto& d : shape) d = d < 0 ? 1 : d;
      if (batched) shape.insert(shape.begin(), b);
      req.inputs.emplace_back(in.dtype, std::move(shape));
    }
    req.outputs_wanted.assign(spec_.outputs.size(), true);
    StatusOr<std::vector<runtime::Tensor>> r = internalError("not executed");
    try {
      r = instance.execute(req);
    } catch (const std::exception& e) {
      r = internalError(std::string("threw ") + e.what());
    }
    if (!r.isOk()) {
      return Status(r.status().code(),
                    "warm-up with batch size " + std::to_string(b) + ": " + r.status().message());
    }
    if (!batched) break;
  }
  return Status::ok();
}

void Batcher::runInstance(const runtime::InstanceSpec& is) {
  StatusOr<std::unique_ptr<runtime::ModelInstance>> created = internalError("not created");
  try {
    created = factory_(is);
  } catch (const std::exception& e) {
    created = internalError(std::string("loading threw ") + e.what());
  }
  if (!created.isOk()) {
    failLoad(
        Status(created.status().code(), "instance " + is.name + ": " + created.status().message()));
    settled_.fetch_add(1, std::memory_order_acq_rel);
    alive_.fetch_sub(1);
    return;
  }
  std::unique_ptr<runtime::ModelInstance> instance = std::move(created).value();
  Status w = Status::ok();
  try {
    w = warmUp(*instance);  // sizes are bounded by the config's limits (model_config.h)
  } catch (const std::exception& e) {
    w = Status(StatusCode::kResourceExhausted, std::string("warm-up threw ") + e.what());
  }
  if (!w.isOk()) {
    failLoad(Status(w.code(), "instance " + is.name + ": " + w.message()));
    settled_.fetch_add(1, std::memory_order_acq_rel);
    alive_.fetch_sub(1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    warmed_.fetch_add(1, std::memory_order_acq_rel);
    settled_.fetch_add(1, std::memory_order_acq_rel);
    loaded_cv_.notify_all();
  }

  std::vector<Pending> batch, rejected;
  std::vector<WorkResult> results;  // reused: no allocation per batch once grown
  while (true) {
    batch.clear();
    rejected.clear();
    int64_t rows = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        bool use_delayed = queue_.empty();
        auto& q = use_delayed ? delayed_ : queue_;
        auto& items = use_delayed ? delayed_items_ : items_;
        if (q.empty()) {
          if (stopping_) break;
          cv_.wait(lock);
          continue;
        }
        TimePoint now = clock_.now();
        BatchDecision d = decideBatch(options_.policy, items, now, stopping_ || flush_);
        if (!d.expired.empty()) {
          std::vector<Pending> moved;
          for (auto it = d.expired.rbegin(); it != d.expired.rend(); ++it) {
            auto idx = static_cast<std::ptrdiff_t>(*it);
            moved.push_back(std::move(q[static_cast<size_t>(idx)]));
            q.erase(q.begin() + idx);
            items.erase(items.begin() + idx);
          }
          std::reverse(moved.begin(), moved.end());
          for (auto& p : moved) {
            if (options_.queue.timeout_action == TimeoutAction::kDelay && !use_delayed) {
              delayed_items_.push_back(
                  {p.enqueued, TimePoint::max(), p.work->rows, p.work->shape_key});
              delayed_.push_back(std::move(p));
            } else {
              rejected.push_back(std::move(p));
            }
          }
        }
        if (d.action == BatchDecision::Action::kDispatch) {
          for (size_t i = 0; i < d.count; ++i) batch.push_back(std::move(q[i]));
          q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(d.count));
          items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(d.count));
          rows = d.rows;
          break;
        }
        if (!rejected.empty()) break;  // answer them now, then come back
        if (d.action == BatchDecision::Action::kWait) {
          auto real = std::chrono::steady_clock::now() + (d.wake_at - now);
          cv_.wait_until(lock, real);
        }
      }
      queued_.store(queue_.size() + delayed_.size(), std::memory_order_relaxed);
      if (!batch.empty()) executing_.fetch_add(batch.size(), std::memory_order_relaxed);
      if (!queue_.empty() || !delayed_.empty()) cv_.notify_one();  // another free instance
      if (batch.empty() && rejected.empty() && stopping_ && queue_.empty() && delayed_.empty()) {
        break;
      }
    }
    for (auto& p : rejected) {
      WorkResult r;
      r.status = unavailable("Request timeout expired");
      auto done = std::move(p.work->done);
      p.work.reset();
      done(std::move(r));
    }
    if (!batch.empty()) executeBatch(*instance, is.index, batch, rows, results);
  }
  alive_.fetch_sub(1);
}

void Batcher::executeBatch(runtime::ModelInstance& instance, int index, std::vector<Pending>& batch,
                           int64_t rows, std::vector<WorkResult>& results) {
  bool batched = spec_.max_batch_size > 0;
  runtime::ExecuteRequest req;
  req.batch_size = batched ? rows : 1;
  req.outputs_wanted.assign(spec_.outputs.size(), false);
  for (const auto& p : batch) {
    for (size_t k = 0; k < spec_.outputs.size(); ++k) {
      if (p.work->outputs_wanted[k]) req.outputs_wanted[k] = true;
    }
  }
  // Stacking copies inputs the requests already hold (bounded by their bodies); stacking, the
  // backend and slicing may still run out of memory: that fails this batch, not the process.
  // Triton's phases: compute input = stacking, compute infer = execute() and the output checks,
  // compute output = slicing.
  const TimePoint input_start = clock_.now();
  TimePoint infer_start = input_start;
  StatusOr<std::vector<runtime::Tensor>> result = internalError("not executed");
  try {
    if (batch.size() == 1) {
      req.inputs = std::move(batch[0].work->inputs);
    } else {
      std::vector<const runtime::Tensor*> parts(batch.size());
      for (size_t i = 0; i < spec_.inputs.size(); ++i) {
        for (size_t j = 0; j < batch.size(); ++j) parts[j] = &batch[j].work->inputs[i];
        req.inputs.push_back(runtime::Tensor::stackRows(parts));
      }
    }
    infer_start = clock_.now();
    result = instance.execute(req);
  } catch (const std::bad_alloc&) {
    result = Status(StatusCode::kResourceExhausted, "out of memory executing the batch");
  } catch (const std::length_error&) {
    result = Status(StatusCode::kResourceExhausted, "out of memory executing the batch");
  } catch (const std::exception& e) {
    result = internalError(std::string("backend threw: ") + e.what());
  }
  Status st = result.status();
  if (st.isOk()) {
    const auto& outs = *result;
    if (outs.size() != spec_.outputs.size()) {
      st = internalError("backend returned " + std::to_string(outs.size()) + " outputs, want " +
                         std::to_string(spec_.outputs.size()));
    }
    for (size_t k = 0; st.isOk() && k < outs.size(); ++k) {
      if (!req.outputs_wanted[k]) continue;
      const auto& o = outs[k];
      const auto& os = spec_.outputs[k];
      if (o.dtype() != os.dtype) {
        st = internalError("output '" + os.name + "': backend returned " +
                           std::string(runtime::dataTypeName(o.dtype())) + ", config says " +
                           std::string(runtime::dataTypeName(os.dtype)));
      } else if (batched && (o.shape().empty() || o.shape()[0] != rows)) {
        st = internalError("output '" + os.name + "': backend returned shape " +
                           runtime::shapeToString(o.shape()) + " for a batch of " +
                           std::to_string(rows));
      }
    }
  }
  if (!st.isOk()) {
    st = Status(StatusCode::kInternal, "model '" + spec_.name + "' instance " +
                                           std::to_string(index) + ": " + st.message());
  }

  const TimePoint output_start = clock_.now();

  // Every request's own rows of every output, before anyone is answered: the batch's compute
  // output time is known when the first answer goes out.
  results.clear();
  results.resize(batch.size());
  int64_t offset = 0;
  for (size_t j = 0; j < batch.size(); ++j) {
    Pending& p = batch[j];
    WorkResult& r = results[j];
    r.status = st;
    if (st.isOk()) {
      auto& outs = *result;
      try {
        r.outputs.resize(spec_.outputs.size());
        for (size_t k = 0; k < outs.size(); ++k) {
          if (!p.work->outputs_wanted[k]) continue;
          r.outputs[k] =
              batch.size() == 1 ? std::move(outs[k]) : outs[k].sliceRows(offset, p.work->rows);
        }
      } catch (const std::exception&) {
        r.outputs.clear();
        r.status = Status(StatusCode::kResourceExhausted, "out of memory slicing the outputs");
      }
    }
    offset += p.work->rows;
  }
  const TimePoint end = clock_.now();
  const Duration input_time = infer_start - input_start;
  const Duration infer_time = output_start - infer_start;
  const Duration output_time = end - output_start;

  // Statistics first: a client that has its answer sees the batch counted.
  if (options_.on_batch) {
    BatchStats b;
    b.rows = rows;
    b.requests = batch.size();
    b.compute_time = infer_time;
    b.instance = index;
    b.ok = st.isOk();
    b.compute_input_time = input_time;
    b.compute_output_time = output_time;
    options_.on_batch(b);
  }
  for (size_t j = 0; j < batch.size(); ++j) {
    Pending& p = batch[j];
    WorkResult& r = results[j];
    r.queue_time = input_start - p.enqueued;
    r.compute_input_time = input_time;
    r.compute_time = infer_time;
    r.compute_output_time = output_time;
    r.batch_rows = rows;
    auto done = std::move(p.work->done);
    p.work.reset();
    done(std::move(r));
  }
  results.clear();
  executing_.fetch_sub(batch.size(), std::memory_order_relaxed);
}

void Batcher::flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush_ = true;
  }
  cv_.notify_all();
}

void Batcher::rejectQueued(const Status& answer) {
  std::deque<Pending> q, d;
  std::deque<QueuedItem> qi, di;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    q.swap(queue_);
    d.swap(delayed_);
    qi.swap(items_);
    di.swap(delayed_items_);
    queued_.store(0, std::memory_order_relaxed);
  }
  cv_.notify_all();
  rejectAll(q, qi, answer);
  rejectAll(d, di, answer);
}

void Batcher::drainAndStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (joined_) return;
    joined_ = true;  // the first caller drains; later calls return at once
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::deque<Pending> q, d;
  std::deque<QueuedItem> qi, di;
  {
    std::lock_guard<std::mutex> lock(mu_);
    q.swap(queue_);
    d.swap(delayed_);
    qi.swap(items_);
    di.swap(delayed_items_);
    queued_.store(0, std::memory_order_relaxed);
  }
  Status answer = unavailable("model '" + spec_.name + "' is stopping");
  rejectAll(q, qi, answer);
  rejectAll(d, di, answer);
}

}  // namespace surge::serving
