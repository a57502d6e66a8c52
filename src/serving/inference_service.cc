#include "serving/inference_service.h"

#include <chrono>
#include <new>
#include <stdexcept>

namespace surge::serving {

std::string jsonErrorBody(std::string_view message) {
  std::string out = "{\"error\":";
  appendJsonString(out, message);
  out += '}';
  return out;
}

Status guarded(const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted, "out of memory while handling this request");
  } catch (const std::length_error&) {
    return Status(StatusCode::kResourceExhausted,
                  "out of memory while handling this request (length error)");
  } catch (const std::exception& e) {
    return internalError(std::string("internal error while handling this request: ") + e.what());
  }
}

int httpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kFailedPrecondition:
      return 503;
    default:
      return 500;
  }
}

struct InferenceService::Call {
  ServedModel* model = nullptr;
  InferRequest request;
  PredictionKey key;
  bool cached_key = false;
  TimePoint start;
  Post post;
  std::function<void(InferReply)> reply;
};

InferenceService::InferenceService(ModelManager& models, Clock& clock)
    : models_(models), clock_(clock) {}

void InferenceService::infer(std::string_view model, std::string_view version,
                             std::string_view body, const Post& post,
                             std::function<void(InferReply)> reply, size_t json_length) {
  auto found = models_.find(model, version);
  if (!found.isOk()) {
    reply({404, jsonErrorBody(found.status().message())});
    return;
  }
  ServedModel* m = *found;
  if (!m->ready()) {
    m->metrics().fail_rejected->inc();
    Status load = m->batcher().loadStatus();
    reply({503, jsonErrorBody(load.isOk() ? "model '" + m->spec().name + "' version " +
                                                m->versionString() + " is not ready (warming up)"
                                          : "model failed to load: " + load.message())});
    return;
  }
  auto call = std::make_shared<Call>();
  call->model = m;
  call->start = clock_.now();
  Status parsed = guarded(
      [&] { return parseInferRequest(body, m->spec(), &call->request, json_length); });
  if (!parsed.isOk()) {
    m->metrics().fail_other->inc();
    m->stats().fail_count.fetch_add(1, std::memory_order_relaxed);
    call->request = InferRequest();  // frees whatever the failed parse allocated
    reply({httpStatusFor(parsed), jsonErrorBody(parsed.message())});
    return;
  }
  call->post = post;
  call->reply = std::move(reply);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (cache_ == nullptr) {
    enqueue(std::move(call));
    return;
  }
  // The prediction cache hook: a hit answers without inference, a miss goes to the batcher.
  call->key = predictionKey(m->spec(), call->request);
  call->cached_key = true;
  cache_->lookup(
      call->key, call->request, [this, call](std::optional<PredictionCache::Outputs> hit) mutable {
        if (!hit) {
          enqueue(std::move(call));
          return;
        }
        WorkResult r;
        r.outputs = std::move(*hit);
        call->post([this, call, r = std::move(r)]() mutable { finish(*call, std::move(r), true); });
      });
}

void InferenceService::enqueue(std::shared_ptr<Call> call) {
  auto work = std::make_unique<InferWork>();
  work->inputs = std::move(call->request.inputs);
  call->request.inputs.clear();
  work->outputs_wanted = call->request.outputs_wanted;
  work->rows = call->request.rows;
  work->shape_key = call->request.shape_key;
  work->timeout = call->request.timeout;
  work->done = [this, call](WorkResult&& r) {
    call->post([this, call, r = std::move(r)]() mutable { finish(*call, std::move(r), false); });
  };
  ServedModel* m = call->model;
  if (Status s = m->batcher().enqueue(std::move(work)); !s.isOk()) {
    WorkResult r;
    r.status = s;
    call->post([this, call, r = std::move(r)]() mutable { finish(*call, std::move(r), false); });
  }
}

void InferenceService::finish(Call& call, WorkResult&& r, bool from_cache) {
  try {
    finishUnguarded(call, std::move(r), from_cache);
  } catch (const std::exception& e) {
    // Out of memory while answering (on the event loop): fail this request, keep the process.
    if (!call.reply) return;  // the reply itself threw: nothing more can be sent
    auto reply_fn = std::move(call.reply);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    reply_fn({503, "{\"error\":\"out of memory while answering this request\"}"});
  }
}

void InferenceService::finishUnguarded(Call& call, WorkResult&& r, bool from_cache) {
  ServedModel& m = *call.model;
  Duration total = clock_.now() - call.start;
  auto ns = [](Duration d) { return static_cast<uint64_t>(std::max<int64_t>(0, d.count())); };
  InferReply reply;
  if (r.status.isOk()) {
    // Rendering can fail (a BYTES output that is not UTF-8 and may not go out as binary, or
    // memory): the request then fails alone, never the process.
    Status rendered = guarded([&] {
      auto n = appendInferResponse(reply.body, m.spec(), call.request, r.outputs);
      if (n.isOk()) reply.json_length = *n;
      return n.status();
    });
    if (!rendered.isOk()) {
      reply.body.clear();
      reply.body.shrink_to_fit();
      r.status = rendered;
    }
  }
  if (r.status.isOk()) {
    if (cache_ != nullptr && call.cached_key && !from_cache) {
      cache_->store(call.key, call.request, r.outputs);
    }
    const ModelMetrics& mm = m.metrics();
    mm.success->inc();
    mm.request_seconds->inc(toSeconds(total));
    mm.latency->observe(toSeconds(total));
    if (!from_cache) {
      mm.queue_seconds->inc(toSeconds(r.queue_time));
      mm.compute_seconds->inc(toSeconds(r.compute_time));
      mm.queue_latency->observe(toSeconds(r.queue_time));
    }
    ModelStats& st = m.stats();
    st.success_count.fetch_add(1, std::memory_order_relaxed);
    st.success_ns.fetch_add(ns(total), std::memory_order_relaxed);
    if (!from_cache) {
      st.queue_count.fetch_add(1, std::memory_order_relaxed);
      st.queue_ns.fetch_add(ns(r.queue_time), std::memory_order_relaxed);
      st.compute_count.fetch_add(1, std::memory_order_relaxed);
      st.compute_ns.fetch_add(ns(r.compute_time), std::memory_order_relaxed);
    }
    st.last_inference_ms.store(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()),
        std::memory_order_relaxed);
  } else {
    reply.status = httpStatusFor(r.status);
    reply.body = jsonErrorBody(r.status.message());
    (reply.status == 500 ? m.metrics().fail_backend : m.metrics().fail_rejected)->inc();
    m.stats().fail_count.fetch_add(1, std::memory_order_relaxed);
    m.stats().fail_ns.fetch_add(ns(total), std::memory_order_relaxed);
  }
  auto reply_fn = std::move(call.reply);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  reply_fn(std::move(reply));
}

}  // namespace surge::serving
