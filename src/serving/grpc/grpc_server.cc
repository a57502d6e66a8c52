#include "serving/grpc/grpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <climits>
#include <optional>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "common/logging.h"
#include "serving/grpc/grpc_codec.h"
#include "serving/model_config.pb.h"

namespace surge::serving {

grpc::Status toGrpcStatus(const Status& s) {
  using grpc::StatusCode;
  StatusCode code = StatusCode::UNKNOWN;
  switch (s.code()) {
    case surge::StatusCode::kOk:
      return grpc::Status::OK;
    case surge::StatusCode::kInvalidArgument:
    case surge::StatusCode::kOutOfRange:
      code = StatusCode::INVALID_ARGUMENT;
      break;
    case surge::StatusCode::kNotFound:
      code = StatusCode::NOT_FOUND;
      break;
    case surge::StatusCode::kAlreadyExists:
      code = StatusCode::ALREADY_EXISTS;
      break;
    case surge::StatusCode::kUnavailable:
    case surge::StatusCode::kDeadlineExceeded:
    case surge::StatusCode::kFailedPrecondition:
      code = StatusCode::UNAVAILABLE;
      break;
    case surge::StatusCode::kResourceExhausted:
      code = StatusCode::RESOURCE_EXHAUSTED;
      break;
    case surge::StatusCode::kInternal:
      code = StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(code, s.message());
}

namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using inference::ModelStreamInferResponse;

// Replies are rendered and sent on the thread that completes the request (an instance thread,
// a cache worker, or the caller for errors known at once): rendering copies the output bytes and
// Finish/StartWrite never block.
const Post kInline = [](std::function<void()> fn) { fn(); };

grpc::ServerUnaryReactor* finishNow(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::Status unimplemented(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, what);
}

void setDuration(inference::StatisticDuration* d, uint64_t count, uint64_t ns) {
  d->set_count(count);
  d->set_ns(ns);
}

}  // namespace

class StreamReactor;

// ModelInfer is registered raw (ByteBuffer in and out) so that a message that is not a
// ModelInferRequest gets a clear INVALID_ARGUMENT (grpc++ answers a failed parse of a typed
// callback method with a bare UNIMPLEMENTED); the (de)serialization is grpc++'s own.
using ServiceBase = inference::GRPCInferenceService::WithRawCallbackMethod_ModelInfer<
    inference::GRPCInferenceService::CallbackService>;

class GrpcServer::Impl final : public ServiceBase {
 public:
  Impl(const GrpcServerOptions& options, ModelManager& models, InferenceService& service,
       const std::atomic<bool>& draining)
      : options_(options), models_(models), service_(service), draining_(draining) {}

  ~Impl() override {
    if (shutdown_thread.joinable()) shutdown_thread.join();
    if (server != nullptr && !shut_down.load()) {
      drainStreams();
      server->Shutdown(std::chrono::system_clock::now());
    }
    server.reset();
  }

  // --- health and metadata ---------------------------------------------------------------------

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* resp) override {
    resp->set_live(true);
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* resp) override {
    resp->set_ready(!draining_.load(std::memory_order_relaxed) && models_.loadStatus().isOk() &&
                    models_.ready());
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const inference::ModelReadyRequest* req,
                                       inference::ModelReadyResponse* resp) override {
    auto found = models_.find(req->name(), req->version());
    if (!found.isOk()) return finishNow(ctx, toGrpcStatus(found.status()));
    resp->set_ready((*found)->ready() && !draining_.load(std::memory_order_relaxed));
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* resp) override {
    resp->set_name(options_.server_name);
    resp->set_version(options_.server_version);
    for (const auto& e : options_.extensions) resp->add_extensions(e);
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* req,
                                          inference::ModelMetadataResponse* resp) override {
    auto found = models_.find(req->name(), req->version());
    if (!found.isOk()) return finishNow(ctx, toGrpcStatus(found.status()));
    const auto& m = *found;
    std::vector<std::string> versions;
    for (const auto& v : models_.versionsOf(m->spec().name)) versions.push_back(v->versionString());
    fillModelMetadata(m->spec(), versions, resp);
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* ctx,
                                        const inference::ModelConfigRequest* req,
                                        inference::ModelConfigResponse* resp) override {
    auto found = models_.find(req->name(), req->version());
    if (!found.isOk()) return finishNow(ctx, toGrpcStatus(found.status()));
    fillModelConfig((*found)->config(), resp->mutable_config());
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* ctx,
                                            const inference::ModelStatisticsRequest* req,
                                            inference::ModelStatisticsResponse* resp) override {
    std::vector<std::shared_ptr<ServedModel>> list;
    if (req->name().empty()) {
      for (const auto& m : models_.all()) list.push_back(m);
    } else {
      auto found = models_.find(req->name(), req->version());
      if (!found.isOk()) return finishNow(ctx, toGrpcStatus(found.status()));
      if (req->version().empty()) {
        for (const auto& m : models_.versionsOf(req->name())) list.push_back(m);
      } else {
        list.push_back(*found);
      }
    }
    auto load = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    for (const auto& m : list) {
      const ModelStats& st = m->stats();
      auto* s = resp->add_model_stats();
      s->set_name(m->spec().name);
      s->set_version(m->versionString());
      s->set_last_inference(load(st.last_inference_ms));
      s->set_inference_count(load(st.inference_count));
      s->set_execution_count(load(st.execution_count));
      auto* is = s->mutable_inference_stats();
      setDuration(is->mutable_success(), load(st.success_count), load(st.success_ns));
      setDuration(is->mutable_fail(), load(st.fail_count), load(st.fail_ns));
      setDuration(is->mutable_queue(), load(st.queue_count), load(st.queue_ns));
      setDuration(is->mutable_compute_input(), load(st.compute_count),
                  load(st.compute_input_ns));
      setDuration(is->mutable_compute_infer(), load(st.compute_count), load(st.compute_ns));
      setDuration(is->mutable_compute_output(), load(st.compute_count),
                  load(st.compute_output_ns));
      setDuration(is->mutable_cache_hit(), load(st.cache_hit_count), load(st.cache_hit_ns));
      setDuration(is->mutable_cache_miss(), load(st.cache_miss_count), load(st.cache_miss_ns));
      for (const BatchSizeStats& b : st.batchStats()) {
        auto* bs = s->add_batch_stats();
        bs->set_batch_size(static_cast<uint64_t>(b.batch_size));
        setDuration(bs->mutable_compute_input(), b.count, b.compute_input_ns);
        setDuration(bs->mutable_compute_infer(), b.count, b.compute_infer_ns);
        setDuration(bs->mutable_compute_output(), b.count, b.compute_output_ns);
      }
    }
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const inference::RepositoryIndexRequest* req,
                                            inference::RepositoryIndexResponse* resp) override {
    for (const auto& e : control_ != nullptr ? control_->index(req->ready())
                                             : servedIndex(models_, req->ready())) {
      auto* m = resp->add_models();
      m->set_name(e.name);
      m->set_version(e.version);
      m->set_state(e.state);
      m->set_reason(e.reason);
    }
    return finishNow(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                const inference::RepositoryModelLoadRequest* req,
                                                inference::RepositoryModelLoadResponse*) override {
    if (control_ == nullptr) return finishNow(ctx, kControlOff);
    if (!req->repository_name().empty()) return finishNow(ctx, kRepositoryNameUnsupported);
    std::optional<std::string> config;
    for (const auto& [key, value] : req->parameters()) {
      if (key == "config") {
        if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kStringParam) {
          return finishNow(ctx, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "load parameter 'config' must be a string holding "
                                             "the JSON model configuration"));
        }
        config = value.string_param();
      } else if (key.rfind("file:", 0) == 0) {
        return finishNow(ctx, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "load parameter '" + key +
                                               "': model file overrides are not supported by "
                                               "surge"));
      } else {
        return finishNow(ctx, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "Unrecognized load parameter '" + key + "'"));
      }
    }
    auto* reactor = ctx->DefaultReactor();
    control_->loadAsync(req->model_name(), std::move(config),
                        [reactor](const Status& s) { reactor->Finish(toGrpcStatus(s)); });
    return reactor;
  }

  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* ctx, const inference::RepositoryModelUnloadRequest* req,
      inference::RepositoryModelUnloadResponse*) override {
    if (control_ == nullptr) return finishNow(ctx, kControlOff);
    if (!req->repository_name().empty()) return finishNow(ctx, kRepositoryNameUnsupported);
    auto* reactor = ctx->DefaultReactor();
    // "unload_dependents" is accepted and moot (surge has no ensembles).
    control_->unloadAsync(req->model_name(),
                          [reactor](const Status& s) { reactor->Finish(toGrpcStatus(s)); });
    return reactor;
  }

  void setModelControl(ModelControl* control) { control_ = control; }

  // --- shared-memory extensions: not supported ----------------------------------------------------

#define SURGE_GRPC_NO_SHM(Rpc, Kind)                                                         \
  grpc::ServerUnaryReactor* Rpc(grpc::CallbackServerContext* ctx,                            \
                                const inference::Rpc##Request*, inference::Rpc##Response*)   \
      override {                                                                             \
    return finishNow(ctx, unimplemented(#Rpc ": the " Kind                                   \
                                        " shared-memory extension is not supported by surge; " \
                                        "send tensors in the request (raw_input_contents)")); \
  }
  SURGE_GRPC_NO_SHM(SystemSharedMemoryStatus, "system")
  SURGE_GRPC_NO_SHM(SystemSharedMemoryRegister, "system")
  SURGE_GRPC_NO_SHM(SystemSharedMemoryUnregister, "system")
  SURGE_GRPC_NO_SHM(CudaSharedMemoryStatus, "CUDA")
  SURGE_GRPC_NO_SHM(CudaSharedMemoryRegister, "CUDA")
  SURGE_GRPC_NO_SHM(CudaSharedMemoryUnregister, "CUDA")
#undef SURGE_GRPC_NO_SHM

  // --- inference ----------------------------------------------------------------------------------

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* in, grpc::ByteBuffer* out) override {
    auto* reactor = ctx->DefaultReactor();
    struct Call {
      ModelInferRequest req;
      ModelInferResponse resp;
      std::atomic<bool> finished{false};
    };
    auto call = std::make_shared<Call>();
    grpc::ByteBuffer bytes(*in);  // shares the slices
    if (!grpc::SerializationTraits<ModelInferRequest>::Deserialize(&bytes, &call->req).ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "the request is not a valid inference.ModelInferRequest "
                                   "(protobuf wire format)"));
      return reactor;
    }
    active_.fetch_add(1, std::memory_order_relaxed);
    auto finish = [this, reactor, out, call](const Status& s) {
      if (call->finished.exchange(true)) return;
      grpc::Status st = toGrpcStatus(s);
      if (st.ok()) {
        bool own = false;
        st = grpc::SerializationTraits<ModelInferResponse>::Serialize(call->resp, out, &own);
      }
      active_.fetch_sub(1, std::memory_order_relaxed);
      reactor->Finish(st);
    };
    InferCodec codec;
    codec.parse = [call](const ServedModel& m, InferRequest* r) {
      return parseGrpcInferRequest(call->req, m.spec(), r);
    };
    codec.render = [call](const ServedModel& m, const InferRequest& r,
                          const std::vector<runtime::Tensor>& outputs) {
      return renderGrpcInferResponse(m.spec(), r, outputs, &call->resp);
    };
    codec.done = [finish](const Status& s, ServedModel*) { finish(s); };
    // The last resort at the call boundary: an exception escaping the service fails this call.
    Status st = guarded([&] {
      service_.run(call->req.model_name(), call->req.model_version(), std::move(codec), kInline);
      return Status::ok();
    });
    if (!st.isOk()) finish(st);
    return reactor;
  }

  grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse>* ModelStreamInfer(
      grpc::CallbackServerContext* ctx) override;

  // --- lifecycle --------------------------------------------------------------------------------

  void addStream(StreamReactor* s) {
    std::lock_guard<std::recursive_mutex> lock(streams_mu_);
    streams_.insert(s);
    active_.fetch_add(1, std::memory_order_relaxed);
  }
  void removeStream(StreamReactor* s) {
    std::lock_guard<std::recursive_mutex> lock(streams_mu_);
    streams_.erase(s);
    active_.fetch_sub(1, std::memory_order_relaxed);
  }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void drainStreams();

  InferenceService& service() { return service_; }
  size_t active() const { return active_.load(std::memory_order_relaxed); }

  std::unique_ptr<grpc::Server> server;
  std::thread shutdown_thread;
  std::atomic<bool> shutdown_started{false};
  std::atomic<bool> shut_down{false};

 private:
  const GrpcServerOptions& options_;
  ModelManager& models_;
  InferenceService& service_;
  const std::atomic<bool>& draining_;
  ModelControl* control_ = nullptr;
  // Triton's UNSUPPORTED (gRPC UNIMPLEMENTED) for a load / unload naming a repository.
  const grpc::Status kRepositoryNameUnsupported{
      grpc::StatusCode::UNIMPLEMENTED, "'repository_name' specification is not supported"};
  const grpc::Status kControlOff{grpc::StatusCode::UNAVAILABLE,
                                 "explicit model load / unload is not allowed if polling is "
                                 "enabled"};
  std::atomic<size_t> active_{0};
  std::atomic<bool> stopping_{false};
  // Recursive: finishing a stream may run its OnDone (removeStream) inline.
  std::recursive_mutex streams_mu_;
  std::set<StreamReactor*> streams_;
};

// One ModelStreamInfer call: reads requests one after the other (the next read starts as soon as
// one arrives, so several run at once), answers each when it completes, writes one at a time
// from a FIFO. Finishes (OK) when the client closed its side (or the server is stopping) and
// every request received has been answered. grpc calls are never made under mu_ (a completion
// may run inline).
class StreamReactor final
    : public grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse> {
 public:
  explicit StreamReactor(GrpcServer::Impl& impl) : impl_(impl) {
    impl_.addStream(this);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::unique_lock<std::mutex> lock(mu_);
      reading_ = false;
      act(lock);
      return;
    }
    auto req = std::make_shared<ModelInferRequest>();
    req->Swap(&in_);
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) {  // a message that raced with a drain's Finish: the stream is over
        reading_ = false;
        return;
      }
      ++pending_;
      more = !stopping_;
      if (!more) reading_ = false;
    }
    if (more) StartRead(&in_);
    submit(std::move(req));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.pop_front();
    writing_ = false;
    if (!ok) {
      broken_ = true;
      queue_.clear();
    }
    act(lock);
  }

  void OnDone() override {
    impl_.removeStream(this);
    delete this;
  }

  // Server shutdown: stop reading; finish once what was received is answered.
  void drain() {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    act(lock);
  }

 private:
  void submit(std::shared_ptr<ModelInferRequest> req) {
    auto resp = std::make_shared<ModelStreamInferResponse>();
    auto finished = std::make_shared<std::atomic<bool>>(false);
    auto done = [this, req, resp, finished](const Status& s, const ServedModel* m) {
      if (finished->exchange(true)) return;
      if (!s.isOk()) {
        auto* ir = resp->mutable_infer_response();
        ir->Clear();
        ir->set_model_name(req->model_name());
        ir->set_model_version(m != nullptr ? m->versionString() : req->model_version());
        ir->set_id(req->id());
        resp->set_error_message(s.message().empty() ? "error" : s.message());
      }
      std::unique_lock<std::mutex> lock(mu_);
      --pending_;
      if (!broken_) queue_.push_back(resp);
      act(lock);
    };
    InferCodec codec;
    codec.parse = [req](const ServedModel& m, InferRequest* out) {
      return parseGrpcInferRequest(*req, m.spec(), out);
    };
    codec.render = [resp](const ServedModel& m, const InferRequest& r,
                          const std::vector<runtime::Tensor>& outputs) {
      return renderGrpcInferResponse(m.spec(), r, outputs, resp->mutable_infer_response());
    };
    codec.done = [done](const Status& s, ServedModel* m) { done(s, m); };
    Status st = guarded([&] {
      impl_.service().run(req->model_name(), req->model_version(), std::move(codec), kInline);
      return Status::ok();
    });
    if (!st.isOk()) done(st, nullptr);
  }

  // Under mu_: start the next write, or finish when nothing is left; the grpc call is made after
  // unlocking.
  void act(std::unique_lock<std::mutex>& lock) {
    if (finished_) return;
    if (!writing_ && !queue_.empty()) {
      writing_ = true;
      ModelStreamInferResponse* next = queue_.front().get();
      lock.unlock();
      StartWrite(next);
      return;
    }
    if (writing_ || pending_ > 0 || (reading_ && !stopping_)) return;
    finished_ = true;
    lock.unlock();
    Finish(grpc::Status::OK);
  }

  GrpcServer::Impl& impl_;
  ModelInferRequest in_;
  std::mutex mu_;
  std::deque<std::shared_ptr<ModelStreamInferResponse>> queue_;  // front: being written
  size_t pending_ = 0;    // requests submitted, not yet answered
  bool reading_ = true;   // a read is outstanding
  bool writing_ = false;  // a write is outstanding
  bool stopping_ = false;
  bool broken_ = false;  // a write failed (client gone): answers are dropped
  bool finished_ = false;
};

grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse>*
GrpcServer::Impl::ModelStreamInfer(grpc::CallbackServerContext*) {
  auto* s = new StreamReactor(*this);
  if (stopping()) s->drain();
  return s;
}

void GrpcServer::Impl::drainStreams() {
  stopping_.store(true, std::memory_order_release);
  std::lock_guard<std::recursive_mutex> lock(streams_mu_);
  std::vector<StreamReactor*> copy(streams_.begin(), streams_.end());
  for (StreamReactor* s : copy) {
    // Still registered (a stream finished inline by an earlier drain() is gone).
    if (streams_.count(s) > 0) s->drain();
  }
}

GrpcServer::GrpcServer(GrpcServerOptions options, ModelManager& models, InferenceService& service,
                       const std::atomic<bool>& draining)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(options_, models, service, draining)) {}

GrpcServer::~GrpcServer() { impl_.reset(); }

Status GrpcServer::start() {
  if (impl_->server != nullptr) return failedPrecondition("gRPC server already started");
  // Debian's Abseil tracks lock-order cycles in every absl::Mutex grpc++ takes (a global graph
  // behind a spinlock: several % of a small request's CPU); surge does not rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(options_.listen, grpc::InsecureServerCredentials(), &selected);
  builder.RegisterService(impl_.get());
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(options_.max_request_bytes, INT_MAX)));
  builder.SetMaxSendMessageSize(INT_MAX);
  // gRPC shares ports (SO_REUSEPORT) by default: a second server on the same port would silently
  // split the traffic. Exclusive unless asked (--reuse-port), as the HTTP listener.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, options_.reuse_port ? 1 : 0);
  impl_->server = builder.BuildAndStart();
  if (impl_->server == nullptr || selected == 0) {
    impl_->server.reset();
    return Status(StatusCode::kAlreadyExists,
                  "gRPC listener " + options_.listen +
                      ": cannot listen (address in use, or not an address of this host)");
  }
  port_ = static_cast<uint16_t>(selected);
  return Status::ok();
}

void GrpcServer::beginShutdown(Duration deadline) {
  if (impl_->server == nullptr || impl_->shutdown_started.exchange(true)) return;
  impl_->drainStreams();
  Impl* im = impl_.get();
  auto until = std::chrono::system_clock::now() +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline);
  im->shutdown_thread = std::thread([im, until] {
    im->server->Shutdown(until);
    im->shut_down.store(true);
  });
}

void GrpcServer::setModelControl(ModelControl* control) { impl_->setModelControl(control); }

bool GrpcServer::done() const { return impl_->server == nullptr || impl_->shut_down.load(); }

size_t GrpcServer::activeCalls() const { return impl_->active(); }

}  // namespace surge::serving
