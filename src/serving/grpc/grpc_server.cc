#include "serving/grpc/grpc_server.h"

#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/logging.h"
#include "net/asio.h"
#include "net/h2/grpc_framing.h"
#include "net/h2/h2_server.h"
#include "serving/grpc/grpc_codec.h"
#include "serving/grpc/grpc_service.h"
#include "serving/model_config.pb.h"

namespace surge::serving {

using h2::GrpcCode;

RpcStatus toRpcStatus(const Status& s) {
  GrpcCode code = GrpcCode::kUnknown;
  switch (s.code()) {
    case StatusCode::kOk:
      return {};
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      code = GrpcCode::kInvalidArgument;
      break;
    case StatusCode::kNotFound:
      code = GrpcCode::kNotFound;
      break;
    case StatusCode::kAlreadyExists:
      code = GrpcCode::kAlreadyExists;
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kFailedPrecondition:
      code = GrpcCode::kUnavailable;
      break;
    case StatusCode::kResourceExhausted:
      code = GrpcCode::kResourceExhausted;
      break;
    case StatusCode::kInternal:
      code = GrpcCode::kInternal;
      break;
  }
  return {code, s.message()};
}

namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using inference::ModelStreamInferResponse;
using google::protobuf::Message;

constexpr std::string_view kServicePrefix = "/inference.GRPCInferenceService/";

// Replies are rendered on the thread that completes the request (an instance thread, a cache
// worker, or the loop thread for errors known at once) and handed to the connection's loop.
const Post kInline = [](std::function<void()> fn) { fn(); };

void setDuration(inference::StatisticDuration* d, uint64_t count, uint64_t ns) {
  d->set_count(count);
  d->set_ns(ns);
}

// Sends a unary call's answer: the message and OK trailers, or a Trailers-Only error.
void reply(const net::H2Responder& r, const RpcStatus& st, const Message* msg) {
  if (st.code != GrpcCode::kOk || msg == nullptr) {
    r.respond(h2::grpcTrailersOnly(st.code, st.message), std::string());
    return;
  }
  std::string body;
  std::string bytes;
  if (!msg->SerializeToString(&bytes)) {
    r.respond(h2::grpcTrailersOnly(GrpcCode::kInternal, "cannot serialize the response"), {});
    return;
  }
  body.reserve(bytes.size() + 5);
  h2::appendGrpcFrame(&body, bytes);
  r.respond(h2::grpcResponseHeaders(), std::move(body), h2::grpcTrailers(GrpcCode::kOk));
}

}  // namespace

// ---- the service ----------------------------------------------------------------------------

class StreamCall;

class GrpcServer::Impl {
 public:
  Impl(const GrpcServerOptions& options, ModelManager& models, InferenceService& service,
       const std::atomic<bool>& draining)
      : options_(options), models_(models), service_(service), draining_(draining) {}

  ~Impl() {
    if (shutdown_thread.joinable()) shutdown_thread.join();
    stopLoops();
  }

  // A new stream on a connection: the handler of its RPC, or an error answer.
  std::unique_ptr<net::H2StreamHandler> newStream(std::vector<h2::Header> headers,
                                                  net::H2Responder r);

  // Unary RPCs: the request message → the answer (through reply()).
  void dispatchUnary(const std::string& method, const std::string& msg, net::H2Responder r);

  void setModelControl(ModelControl* control) { control_ = control; }
  InferenceService& service() { return service_; }
  size_t maxMessage() const {
    return static_cast<size_t>(std::min<uint64_t>(options_.max_request_bytes, UINT32_MAX));
  }

  void addStream(const std::shared_ptr<StreamCall>& s);
  void removeStream(StreamCall* s);
  void drainStreams();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  size_t active() const {
    size_t n = 0;
    for (const auto& s : servers) n += s->activeStreams();
    return n;
  }
  size_t connections() const {
    size_t n = 0;
    for (const auto& s : servers) n += s->connectionCount();
    return n;
  }

  void stopLoops() {
    for (auto& s : servers) s->closeAll();
    for (auto& io : ios) io->stop();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    threads.clear();
    servers.clear();
    ios.clear();
  }

  std::vector<std::unique_ptr<net::asio::io_context>> ios;
  std::vector<std::unique_ptr<net::H2Server>> servers;
  std::vector<std::thread> threads;
  std::thread shutdown_thread;
  std::atomic<bool> started{false};
  std::atomic<bool> shutdown_started{false};
  std::atomic<bool> shut_down{false};

 private:
  RpcStatus modelStatistics(const inference::ModelStatisticsRequest& req,
                            inference::ModelStatisticsResponse* resp);
  void modelInfer(const std::string& msg, net::H2Responder r);
  void repositoryLoad(const inference::RepositoryModelLoadRequest& req, net::H2Responder r);
  void repositoryUnload(const inference::RepositoryModelUnloadRequest& req, net::H2Responder r);

  const GrpcServerOptions& options_;
  ModelManager& models_;
  InferenceService& service_;
  const std::atomic<bool>& draining_;
  ModelControl* control_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::mutex streams_mu_;
  std::map<StreamCall*, std::weak_ptr<StreamCall>> streams_;
};

namespace {

// Triton's UNSUPPORTED (gRPC UNIMPLEMENTED) for a load / unload naming a repository.
const RpcStatus kRepositoryNameUnsupported{GrpcCode::kUnimplemented,
                                           "'repository_name' specification is not supported"};
const RpcStatus kControlOff{GrpcCode::kUnavailable,
                            "explicit model load / unload is not allowed if polling is enabled"};

// A unary call: the one request message, then dispatch.
class UnaryCall final : public net::H2StreamHandler {
 public:
  UnaryCall(GrpcServer::Impl& impl, std::string method, net::H2Responder r)
      : impl_(impl), method_(std::move(method)), r_(std::move(r)), reader_(impl.maxMessage()) {}

  void onData(std::string_view data, bool end) override {
    if (failed_) return;
    if (!data.empty()) {
      Status s = reader_.feed(data);
      if (!s.isOk()) {
        failed_ = true;
        reply(r_, {reader_.errorCode(), s.message()}, nullptr);
        return;
      }
      while (auto m = reader_.next()) {
        if (message_) {
          failed_ = true;
          reply(r_, {GrpcCode::kUnimplemented, "unary call with more than one request message"},
                nullptr);
          return;
        }
        message_ = std::move(*m);
      }
    }
    if (!end) return;
    if (!message_ || reader_.partial()) {
      failed_ = true;
      reply(r_, {GrpcCode::kInternal, reader_.partial() ? "incomplete request message"
                                                        : "missing request message"},
            nullptr);
      return;
    }
    impl_.dispatchUnary(method_, *message_, r_);
  }
  void onClose(uint32_t) override {}

 private:
  GrpcServer::Impl& impl_;
  std::string method_;
  net::H2Responder r_;
  h2::GrpcMessageReader reader_;
  std::optional<std::string> message_;
  bool failed_ = false;
};

// An answer given before any message: a fixed error.
class RefusedCall final : public net::H2StreamHandler {
 public:
  void onData(std::string_view, bool) override {}
  void onClose(uint32_t) override {}
};

}  // namespace

// One ModelStreamInfer call: every request message is submitted as it arrives (several run at
// once); each answer is written when it completes (in order of completion); the call ends (OK)
// once the client has half-closed — or the server is draining — and every request received has
// been answered. The state is shared with the completions, which may outlive the stream.
class StreamCall final : public net::H2StreamHandler,
                         public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(GrpcServer::Impl& impl, net::H2Responder r)
      : impl_(impl), r_(std::move(r)), reader_(impl.maxMessage()) {}

  void start() {
    r_.sendHeaders(h2::grpcResponseHeaders());
    if (impl_.stopping()) drain();
  }

  void onData(std::string_view data, bool end) override {
    std::vector<std::string> messages;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_ || gone_.load(std::memory_order_acquire)) return;
      if (!data.empty() && !stopping_) {
        Status s = reader_.feed(data);
        if (!s.isOk()) {
          finished_ = true;
          r_.sendTrailers(h2::grpcTrailers(reader_.errorCode(), s.message()));
          return;
        }
        while (auto m = reader_.next()) {
          messages.push_back(std::move(*m));
          ++pending_;
        }
      }
      if (end) client_done_ = true;
    }
    for (std::string& m : messages) submit(m);
    maybeFinish();
  }

  // Lock-free: the session may close the stream from inside a write this call made under mu_.
  void onClose(uint32_t) override { gone_.store(true, std::memory_order_release); }

  // Server shutdown: take no more requests; end once what was received is answered.
  void drain() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    maybeFinish();
  }

 private:
  void submit(const std::string& bytes) {
    auto req = std::make_shared<ModelInferRequest>();
    auto resp = std::make_shared<ModelStreamInferResponse>();
    auto self = shared_from_this();
    if (!req->ParseFromString(bytes)) {
      resp->set_error_message(
          "the request is not a valid inference.ModelInferRequest (protobuf wire format)");
      answer(*resp);
      return;
    }
    auto finished = std::make_shared<std::atomic<bool>>(false);
    auto done = [self, req, resp, finished](const Status& s, const ServedModel* m) {
      if (finished->exchange(true)) return;
      if (!s.isOk()) {
        auto* ir = resp->mutable_infer_response();
        ir->Clear();
        ir->set_model_name(req->model_name());
        ir->set_model_version(m != nullptr ? m->versionString() : req->model_version());
        ir->set_id(req->id());
        resp->set_error_message(s.message().empty() ? "error" : s.message());
      }
      self->answer(*resp);
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

  void answer(const ModelStreamInferResponse& resp) {
    std::string body;
    std::string bytes;
    resp.SerializeToString(&bytes);
    h2::appendGrpcFrame(&body, bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --pending_;
      // Under mu_ so that the trailers can never overtake an answer (one loop, FIFO).
      if (!finished_ && !gone_.load(std::memory_order_acquire)) r_.sendData(std::move(body), false);
    }
    maybeFinish();
  }

  void maybeFinish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || gone_.load(std::memory_order_acquire) || pending_ > 0 ||
        !(client_done_ || stopping_)) {
      return;
    }
    finished_ = true;
    r_.sendTrailers(h2::grpcTrailers(GrpcCode::kOk));
  }

  GrpcServer::Impl& impl_;
  net::H2Responder r_;
  std::mutex mu_;
  h2::GrpcMessageReader reader_;  // guarded by mu_
  size_t pending_ = 0;
  bool client_done_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::atomic<bool> gone_{false};  // the stream closed (peer reset, connection gone)
};

// A StreamCall is owned by the connection (as its handler) and by its completions.
class StreamHandle final : public net::H2StreamHandler {
 public:
  StreamHandle(GrpcServer::Impl& impl, std::shared_ptr<StreamCall> call)
      : impl_(impl), call_(std::move(call)) {}
  ~StreamHandle() override { impl_.removeStream(call_.get()); }
  void onData(std::string_view data, bool end) override { call_->onData(data, end); }
  void onClose(uint32_t code) override { call_->onClose(code); }

 private:
  GrpcServer::Impl& impl_;
  std::shared_ptr<StreamCall> call_;
};

void GrpcServer::Impl::addStream(const std::shared_ptr<StreamCall>& s) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  streams_[s.get()] = s;
}

void GrpcServer::Impl::removeStream(StreamCall* s) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  streams_.erase(s);
}

void GrpcServer::Impl::drainStreams() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<StreamCall>> live;
  {
    std::lock_guard<std::mutex> lock(streams_mu_);
    for (auto& [p, w] : streams_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->drain();
}

std::unique_ptr<net::H2StreamHandler> GrpcServer::Impl::newStream(std::vector<h2::Header> headers,
                                                                   net::H2Responder r) {
  const std::string* path = h2::findHeader(headers, ":path");
  const std::string* method = h2::findHeader(headers, ":method");
  if (method == nullptr || *method != "POST") {
    r.respond({{":status", "405"}, {"allow", "POST"}}, std::string());
    return std::make_unique<RefusedCall>();
  }
  if (!h2::isGrpcRequest(headers)) {
    // The gRPC spec: a request that is not application/grpc gets HTTP 415.
    r.respond({{":status", "415"}, {"content-type", "text/plain"}},
              "surge's gRPC endpoint accepts content-type application/grpc only\n");
    return std::make_unique<RefusedCall>();
  }
  if (const std::string* enc = h2::findHeader(headers, "grpc-encoding");
      enc != nullptr && *enc != "identity") {
    r.respond(h2::grpcTrailersOnly(GrpcCode::kUnimplemented,
                                   "grpc-encoding " + *enc +
                                       " is not supported (identity only)"),
              std::string());
    return std::make_unique<RefusedCall>();
  }
  if (path == nullptr || path->compare(0, kServicePrefix.size(), kServicePrefix) != 0) {
    r.respond(h2::grpcTrailersOnly(
                  GrpcCode::kUnimplemented,
                  "unknown service: " + (path == nullptr ? std::string("(no :path)") : *path) +
                      " (surge serves inference.GRPCInferenceService)"),
              std::string());
    return std::make_unique<RefusedCall>();
  }
  std::string name = path->substr(kServicePrefix.size());
  if (name == "ModelStreamInfer") {
    auto call = std::make_shared<StreamCall>(*this, r);
    addStream(call);
    call->start();
    return std::make_unique<StreamHandle>(*this, std::move(call));
  }
  return std::make_unique<UnaryCall>(*this, std::move(name), std::move(r));
}

namespace {
template <typename Req>
bool parseOr(const std::string& msg, Req* req, const net::H2Responder& r) {
  if (req->ParseFromString(msg)) return true;
  reply(r,
        {GrpcCode::kInvalidArgument, "the request is not a valid " + req->GetTypeName() +
                                         " (protobuf wire format)"},
        nullptr);
  return false;
}
}  // namespace

void GrpcServer::Impl::dispatchUnary(const std::string& method, const std::string& msg,
                                     net::H2Responder r) {
  using namespace inference;  // NOLINT
  if (method == "ModelInfer") return modelInfer(msg, std::move(r));
  if (method == "ServerLive") {
    ServerLiveRequest req;
    if (!parseOr(msg, &req, r)) return;
    ServerLiveResponse resp;
    resp.set_live(true);
    return reply(r, {}, &resp);
  }
  if (method == "ServerReady") {
    ServerReadyRequest req;
    if (!parseOr(msg, &req, r)) return;
    ServerReadyResponse resp;
    resp.set_ready(!draining_.load(std::memory_order_relaxed) && models_.loadStatus().isOk() &&
                   models_.ready());
    return reply(r, {}, &resp);
  }
  if (method == "ModelReady") {
    ModelReadyRequest req;
    if (!parseOr(msg, &req, r)) return;
    auto found = models_.find(req.name(), req.version());
    if (!found.isOk()) return reply(r, toRpcStatus(found.status()), nullptr);
    ModelReadyResponse resp;
    resp.set_ready((*found)->ready() && !draining_.load(std::memory_order_relaxed));
    return reply(r, {}, &resp);
  }
  if (method == "ServerMetadata") {
    ServerMetadataRequest req;
    if (!parseOr(msg, &req, r)) return;
    ServerMetadataResponse resp;
    resp.set_name(options_.server_name);
    resp.set_version(options_.server_version);
    for (const auto& e : options_.extensions) resp.add_extensions(e);
    return reply(r, {}, &resp);
  }
  if (method == "ModelMetadata") {
    ModelMetadataRequest req;
    if (!parseOr(msg, &req, r)) return;
    auto found = models_.find(req.name(), req.version());
    if (!found.isOk()) return reply(r, toRpcStatus(found.status()), nullptr);
    const auto& m = *found;
    std::vector<std::string> versions;
    for (const auto& v : models_.versionsOf(m->spec().name)) versions.push_back(v->versionString());
    ModelMetadataResponse resp;
    fillModelMetadata(m->spec(), versions, &resp);
    return reply(r, {}, &resp);
  }
  if (method == "ModelConfig") {
    ModelConfigRequest req;
    if (!parseOr(msg, &req, r)) return;
    auto found = models_.find(req.name(), req.version());
    if (!found.isOk()) return reply(r, toRpcStatus(found.status()), nullptr);
    ModelConfigResponse resp;
    fillModelConfig((*found)->config(), resp.mutable_config());
    return reply(r, {}, &resp);
  }
  if (method == "ModelStatistics") {
    ModelStatisticsRequest req;
    if (!parseOr(msg, &req, r)) return;
    ModelStatisticsResponse resp;
    RpcStatus st = modelStatistics(req, &resp);
    return reply(r, st, st.code == GrpcCode::kOk ? &resp : nullptr);
  }
  if (method == "RepositoryIndex") {
    RepositoryIndexRequest req;
    if (!parseOr(msg, &req, r)) return;
    RepositoryIndexResponse resp;
    for (const auto& e : control_ != nullptr ? control_->index(req.ready())
                                             : servedIndex(models_, req.ready())) {
      auto* m = resp.add_models();
      m->set_name(e.name);
      m->set_version(e.version);
      m->set_state(e.state);
      m->set_reason(e.reason);
    }
    return reply(r, {}, &resp);
  }
  if (method == "RepositoryModelLoad") {
    RepositoryModelLoadRequest req;
    if (!parseOr(msg, &req, r)) return;
    return repositoryLoad(req, std::move(r));
  }
  if (method == "RepositoryModelUnload") {
    RepositoryModelUnloadRequest req;
    if (!parseOr(msg, &req, r)) return;
    return repositoryUnload(req, std::move(r));
  }
  for (const char* kind : {"System", "Cuda"}) {
    for (const char* op : {"SharedMemoryStatus", "SharedMemoryRegister", "SharedMemoryUnregister"}) {
      if (method == std::string(kind) + op) {
        return reply(r,
                     {GrpcCode::kUnimplemented,
                      method + ": the " + (kind[0] == 'S' ? "system" : "CUDA") +
                          " shared-memory extension is not supported by surge; send tensors in "
                          "the request (raw_input_contents)"},
                     nullptr);
      }
    }
  }
  reply(r, {GrpcCode::kUnimplemented, "unknown method inference.GRPCInferenceService/" + method},
        nullptr);
}

RpcStatus GrpcServer::Impl::modelStatistics(const inference::ModelStatisticsRequest& req,
                                            inference::ModelStatisticsResponse* resp) {
  std::vector<std::shared_ptr<ServedModel>> list;
  if (req.name().empty()) {
    for (const auto& m : models_.all()) list.push_back(m);
  } else {
    auto found = models_.find(req.name(), req.version());
    if (!found.isOk()) return toRpcStatus(found.status());
    if (req.version().empty()) {
      for (const auto& m : models_.versionsOf(req.name())) list.push_back(m);
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
    setDuration(is->mutable_compute_input(), load(st.compute_count), load(st.compute_input_ns));
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
  return {};
}

void GrpcServer::Impl::repositoryLoad(const inference::RepositoryModelLoadRequest& req,
                                      net::H2Responder r) {
  if (control_ == nullptr) return reply(r, kControlOff, nullptr);
  if (!req.repository_name().empty()) return reply(r, kRepositoryNameUnsupported, nullptr);
  std::optional<std::string> config;
  for (const auto& [key, value] : req.parameters()) {
    if (key == "config") {
      if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kStringParam) {
        return reply(r,
                     {GrpcCode::kInvalidArgument,
                      "load parameter 'config' must be a string holding the JSON model "
                      "configuration"},
                     nullptr);
      }
      config = value.string_param();
    } else if (key.rfind("file:", 0) == 0) {
      return reply(r,
                   {GrpcCode::kInvalidArgument,
                    "load parameter '" + key + "': model file overrides are not supported by surge"},
                   nullptr);
    } else {
      return reply(r, {GrpcCode::kInvalidArgument, "Unrecognized load parameter '" + key + "'"},
                   nullptr);
    }
  }
  control_->loadAsync(req.model_name(), std::move(config), [r](const Status& s) {
    inference::RepositoryModelLoadResponse resp;
    reply(r, toRpcStatus(s), &resp);
  });
}

void GrpcServer::Impl::repositoryUnload(const inference::RepositoryModelUnloadRequest& req,
                                        net::H2Responder r) {
  if (control_ == nullptr) return reply(r, kControlOff, nullptr);
  if (!req.repository_name().empty()) return reply(r, kRepositoryNameUnsupported, nullptr);
  // "unload_dependents" is accepted and moot (surge has no ensembles).
  control_->unloadAsync(req.model_name(), [r](const Status& s) {
    inference::RepositoryModelUnloadResponse resp;
    reply(r, toRpcStatus(s), &resp);
  });
}

void GrpcServer::Impl::modelInfer(const std::string& msg, net::H2Responder r) {
  struct Call {
    ModelInferRequest req;
    ModelInferResponse resp;
    std::atomic<bool> finished{false};
  };
  auto call = std::make_shared<Call>();
  if (!call->req.ParseFromString(msg)) {
    return reply(r,
                 {GrpcCode::kInvalidArgument,
                  "the request is not a valid inference.ModelInferRequest (protobuf wire format)"},
                 nullptr);
  }
  auto finish = [r, call](const Status& s) {
    if (call->finished.exchange(true)) return;
    reply(r, toRpcStatus(s), s.isOk() ? &call->resp : nullptr);
  };
  InferCodec codec;
  codec.parse = [call](const ServedModel& m, InferRequest* out) {
    return parseGrpcInferRequest(call->req, m.spec(), out);
  };
  codec.render = [call](const ServedModel& m, const InferRequest& req,
                        const std::vector<runtime::Tensor>& outputs) {
    return renderGrpcInferResponse(m.spec(), req, outputs, &call->resp);
  };
  codec.done = [finish](const Status& s, ServedModel*) { finish(s); };
  // The last resort at the call boundary: an exception escaping the service fails this call.
  Status st = guarded([&] {
    service_.run(call->req.model_name(), call->req.model_version(), std::move(codec), kInline);
    return Status::ok();
  });
  if (!st.isOk()) finish(st);
}

// ---- GrpcServer -----------------------------------------------------------------------------

GrpcServer::GrpcServer(GrpcServerOptions options, ModelManager& models, InferenceService& service,
                       const std::atomic<bool>& draining)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(options_, models, service, draining)) {}

GrpcServer::~GrpcServer() { impl_.reset(); }

Status GrpcServer::start() {
  if (impl_->started.exchange(true)) return failedPrecondition("gRPC server already started");
  auto ep = net::resolveEndpoint(options_.listen);
  if (!ep.isOk()) {
    return Status(ep.status().code(),
                  "gRPC listener " + options_.listen + ": " + ep.status().message());
  }
  const int workers = std::max(1, options_.workers);
  // Several loops share the port with SO_REUSEPORT among themselves; exclusive against other
  // processes unless asked (--reuse-port), as the HTTP listener.
  net::PortReservation reservation;
  net::tcp::endpoint bind = *ep;
  const bool group = workers > 1;
  if (group && !options_.reuse_port) {
    auto res = net::PortReservation::reserve(*ep);
    if (!res.isOk()) {
      return Status(res.status().code(),
                    "gRPC listener " + options_.listen + ": " + res.status().message());
    }
    reservation = std::move(res).value();
    bind.port(reservation.port());
  }
  net::H2ServerOptions h2o;
  h2o.limits.max_request_body = options_.max_request_bytes + 64;  // the gRPC limit answers first
  h2o.limits.max_buffered_body = std::max<size_t>(h2o.limits.max_buffered_body,
                                                  2 * h2o.limits.max_request_body);
  h2o.reuse_port = group || options_.reuse_port;
  for (int i = 0; i < workers; ++i) {
    impl_->ios.push_back(std::make_unique<net::asio::io_context>(1));
    Impl* im = impl_.get();
    impl_->servers.push_back(std::make_unique<net::H2Server>(
        *impl_->ios.back(),
        [im](std::vector<h2::Header> headers, net::H2Responder r) {
          return im->newStream(std::move(headers), std::move(r));
        },
        h2o));
    Status s = impl_->servers.back()->listen(net::endpointToString(bind));
    if (!s.isOk()) {
      impl_->stopLoops();
      return Status(s.code(), "gRPC listener " + options_.listen + ": " + s.message());
    }
    if (i == 0) bind.port(impl_->servers[0]->port());
  }
  port_ = impl_->servers[0]->port();
  for (auto& io : impl_->ios) {
    net::asio::io_context* p = io.get();
    impl_->threads.emplace_back([p] {
      auto guard = net::asio::make_work_guard(*p);
      p->run();
    });
  }
  return Status::ok();
}

void GrpcServer::beginShutdown(Duration deadline) {
  if (!impl_->started.load() || impl_->shutdown_started.exchange(true)) return;
  impl_->drainStreams();
  for (auto& s : impl_->servers) s->stop();  // GOAWAY: calls in flight finish, new ones refused
  Impl* im = impl_.get();
  const auto until = std::chrono::steady_clock::now() + deadline;
  im->shutdown_thread = std::thread([im, until] {
    while (std::chrono::steady_clock::now() < until && im->connections() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& s : im->servers) s->closeAll();  // what is left is cancelled
    while (im->connections() > 0 &&
           std::chrono::steady_clock::now() < until + std::chrono::seconds(1)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    im->shut_down.store(true);
  });
}

void GrpcServer::setModelControl(ModelControl* control) { impl_->setModelControl(control); }

bool GrpcServer::done() const { return !impl_->started.load() || impl_->shut_down.load(); }

size_t GrpcServer::activeCalls() const { return impl_->active(); }

}  // namespace surge::serving
