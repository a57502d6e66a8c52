#include "serving/inference_service.h"

#include <algorithm>
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

FailureReason failureReasonFor(const Status& status) {
  switch (httpStatusFor(status)) {
    case 500:
      return FailureReason::kBackend;
    case 503:
      return FailureReason::kRejected;
    default:
      return FailureReason::kOther;
  }
}

struct InferenceService::Call {
  std::shared_ptr<ServedModel> model;
  InferRequest request;
  PredictionKey key;
  bool cached_key = false;
  TimePoint start;
  Post post;
  InferCodec codec;
};

InferenceService::InferenceService(ModelManager& models, Clock& clock)
    : models_(models), clock_(clock) {}

void InferenceService::run(std::string_view model, std::string_view version, InferCodec codec,
                           const Post& post) {
  auto found = models_.find(model, version);
  if (!found.isOk()) {
    codec.done(found.status(), nullptr);
    return;
  }
  std::shared_ptr<ServedModel> m = std::move(*found);
  if (!m->ready()) {
    Status load = m->batcher().loadStatus();
    Status s = unavailable(load.isOk() ? "model '" + m->spec().name + "' version " +
                                             m->versionString() + " is not ready (warming up)"
                                       : "model failed to load: " + load.message());
    recordFailure(m->metrics(), m->stats(), FailureReason::kRejected, Duration::zero());
    codec.done(s, m.get());
    return;
  }
  auto call = std::make_shared<Call>();
  call->start = clock_.now();
  Status parsed = guarded([&] { return codec.parse(*m, &call->request); });
  if (!parsed.isOk()) {
    recordFailure(m->metrics(), m->stats(), failureReasonFor(parsed), Duration::zero());
    call->request = InferRequest();  // frees whatever the failed parse allocated
    codec.done(parsed, m.get());
    return;
  }
  call->model = std::move(m);
  call->post = post;
  call->codec = std::move(codec);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (cache_ == nullptr) {
    enqueue(std::move(call));
    return;
  }
  // The prediction cache hook: a hit answers without inference, a miss goes to the batcher.
  call->key = predictionKey(call->model->spec(), call->request);
  call->cached_key = true;
  TimePoint lookup_start = clock_.now();
  cache_->lookup(
      call->key, call->request,
      [this, call, lookup_start](std::optional<PredictionCache::Outputs> hit,
                                 bool looked_up) mutable {
        if (looked_up) {  // dropped or failed lookups are neither hits nor misses (Triton)
          ModelStats& st = call->model->stats();
          auto took = static_cast<uint64_t>(
              std::max<int64_t>(0, (clock_.now() - lookup_start).count()));
          (hit ? st.cache_hit_count : st.cache_miss_count)
              .fetch_add(1, std::memory_order_relaxed);
          (hit ? st.cache_hit_ns : st.cache_miss_ns).fetch_add(took, std::memory_order_relaxed);
        }
        if (!hit) {
          enqueue(std::move(call));
          return;
        }
        WorkResult r;
        r.outputs = std::move(*hit);
        call->post([this, call, r = std::move(r)]() mutable { finish(*call, std::move(r), true); });
      });
}

void InferenceService::infer(std::string_view model, std::string_view version,
                             std::string_view body, const Post& post,
                             std::function<void(InferReply)> reply, size_t json_length) {
  // The rendered answer lives with the codec until done() hands it over.
  auto out = std::make_shared<InferReply>();
  InferCodec codec;
  codec.parse = [body, json_length](const ServedModel& m, InferRequest* request) {
    return parseInferRequest(body, m.spec(), request, json_length);
  };
  codec.render = [out](const ServedModel& m, const InferRequest& request,
                       const std::vector<runtime::Tensor>& outputs) {
    auto n = appendInferResponse(out->body, m.spec(), request, outputs);
    if (!n.isOk()) return n.status();
    out->json_length = *n;
    return Status::ok();
  };
  codec.done = [out, reply = std::move(reply)](const Status& status, ServedModel*) {
    if (status.isOk()) {
      reply(std::move(*out));
      return;
    }
    reply({httpStatusFor(status), jsonErrorBody(status.message())});
  };
  run(model, version, std::move(codec), post);
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
  ServedModel* m = call->model.get();
  if (Status s = m->batcher().enqueue(std::move(work)); !s.isOk()) {
    WorkResult r;
    r.status = s;
    call->post([this, call, r = std::move(r)]() mutable { finish(*call, std::move(r), false); });
  }
}

void InferenceService::finish(Call& call, WorkResult&& r, bool from_cache) {
  ServedModel& m = *call.model;
  Duration total = clock_.now() - call.start;
  if (r.status.isOk()) {
    // Rendering can fail (a BYTES output that is not UTF-8 and may not go out as binary, or
    // memory): the request then fails alone, never the process.
    Status rendered = guarded([&] { return call.codec.render(m, call.request, r.outputs); });
    if (!rendered.isOk()) r.status = rendered;
  }
  if (r.status.isOk()) {
    if (cache_ != nullptr && call.cached_key && !from_cache) {
      cache_->store(call.key, call.request, r.outputs);
    }
    recordSuccess(m.metrics(), m.stats(), total, r, from_cache);
  } else {
    recordFailure(m.metrics(), m.stats(), failureReasonFor(r.status), total);
  }
  complete(call, r.status);
}

void InferenceService::complete(Call& call, const Status& status) {
  auto codec = std::move(call.codec);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  // The transport's reply itself may run out of memory: that request is lost (nothing more can
  // be sent), never the process.
  Status sent = guarded([&] {
    codec.done(status, call.model.get());
    return Status::ok();
  });
  (void)sent;
}

}  // namespace surge::serving
