#include "loadgen/grpc_driver.h"

#include <grpcpp/generic/generic_stub.h>
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "loadgen/infer_body.h"
#include "serving/grpc/grpc_service.h"

namespace surge::loadgen {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
using nlohmann::json;

constexpr const char* kInferMethod = "/inference.GRPCInferenceService/ModelInfer";
constexpr size_t kMaxBacklog = 1 << 20;  // open loop: queued sends beyond this are dropped

double secondsSince(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double>(to - from).count();
}

// The HTTP status Triton's mapping gives a gRPC code; 0 for timeouts and broken channels.
int httpStatusOf(const grpc::Status& st) {
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return 0;
    case grpc::StatusCode::UNAVAILABLE:
      // The server's own "not ready / queue full" carries a message; a channel that cannot
      // connect is a transport error.
      return st.error_message().find("failed to connect") != std::string::npos ||
                     st.error_message().find("Connection refused") != std::string::npos ||
                     st.error_message().find("Socket closed") != std::string::npos
                 ? 0
                 : 503;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 503;
    default:
      return 500;
  }
}

void recordInto(WindowStats& w, int status, double latency) {
  w.latency.record(latency);
  if (status >= 200 && status < 300) {
    ++w.ok;
  } else {
    ++w.errors[status];
  }
}

// One call in flight: its context (one per call, as gRPC requires), the request (sharing the
// serialized bytes) and the unparsed answer.
struct Call {
  std::unique_ptr<grpc::ClientContext> ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  SteadyTime intended;
  size_t stub = 0;
};

}  // namespace

struct GrpcLoadDriver::Impl {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  grpc::ByteBuffer request;
  Duration timeout{};

  void issue(Call* c, SteadyTime intended, std::function<void(Call*, grpc::Status)>* on_done) {
    c->ctx = std::make_unique<grpc::ClientContext>();
    c->ctx->set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
    c->intended = intended;
    c->response.Clear();
    stubs[c->stub]->UnaryCall(c->ctx.get(), kInferMethod, grpc::StubOptions(), &c->request,
                              &c->response,
                              [c, on_done](const grpc::Status& st) { (*on_done)(c, st); });
  }

  std::unique_ptr<Call> newCall(size_t index) {
    auto c = std::make_unique<Call>();
    c->request = request;  // shares the slices
    c->stub = index % stubs.size();
    return c;
  }
};

StatusOr<std::string> parseGrpcTarget(std::string_view url) {
  std::string_view rest = url;
  if (rest.rfind("grpc://", 0) == 0) rest.remove_prefix(7);
  if (rest.find("://") != std::string_view::npos || rest.find('/') != std::string_view::npos) {
    return invalidArgument("must be HOST:PORT or grpc://HOST:PORT with --protocol grpc (got '" +
                           std::string(url) + "')");
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return invalidArgument("must be HOST:PORT or grpc://HOST:PORT with --protocol grpc (got '" +
                           std::string(url) + "')");
  }
  for (char ch : rest.substr(colon + 1)) {
    if (ch < '0' || ch > '9') {
      return invalidArgument("bad port in '" + std::string(url) + "'");
    }
  }
  return std::string(rest);
}

StatusOr<std::string> grpcInferRequestFromJson(std::string_view body, const std::string& model,
                                               const std::string& version) {
  ASSIGN_OR_RETURN(RawRequest raw, rawRequestFromJson(body));
  inference::ModelInferRequest req;
  req.set_model_name(model);
  req.set_model_version(version);
  if (raw.has_id) req.set_id(raw.id);
  if (raw.timeout_us >= 0) (*req.mutable_parameters())["timeout"].set_int64_param(raw.timeout_us);
  for (auto& in : raw.inputs) {
    auto* t = req.add_inputs();
    t->set_name(in.name);
    t->set_datatype(in.datatype);
    for (int64_t d : in.shape) t->add_shape(d);
    *req.add_raw_input_contents() = std::move(in.bytes);
  }
  for (const auto& o : raw.outputs) req.add_outputs()->set_name(o);
  return req.SerializeAsString();
}

GrpcLoadDriver::GrpcLoadDriver(std::string address, Duration timeout, int channels)
    : address_(std::move(address)), timeout_(timeout), channel_count_(std::max(1, channels)) {}

GrpcLoadDriver::~GrpcLoadDriver() = default;

Status GrpcLoadDriver::init() {
  // As the server (serving/grpc/grpc_server.cc): no lock-order cycle tracking in absl::Mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  impl_ = std::make_unique<Impl>();
  impl_->timeout = timeout_;
  for (int i = 0; i < channel_count_; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
    args.SetInt("surge.load.channel", i);                // (distinct arguments: distinct channels)
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    auto ch = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
    impl_->stubs.push_back(std::make_unique<grpc::GenericStub>(ch));
    impl_->channels.push_back(std::move(ch));
  }
  auto stub = inference::GRPCInferenceService::NewStub(impl_->channels[0]);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  inference::ServerLiveResponse live;
  grpc::Status st = stub->ServerLive(&ctx, {}, &live);
  if (!st.ok()) {
    return Status(st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                      ? StatusCode::kDeadlineExceeded
                      : StatusCode::kUnavailable,
                  "cannot reach " + address_ + " (gRPC ServerLive): " + st.error_message());
  }
  return Status::ok();
}

StatusOr<std::string> GrpcLoadDriver::metadataJson(const std::string& model) {
  SURGE_CHECK(impl_ != nullptr);
  auto stub = inference::GRPCInferenceService::NewStub(impl_->channels[0]);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  inference::ModelMetadataRequest req;
  req.set_name(model);
  inference::ModelMetadataResponse md;
  grpc::Status st = stub->ModelMetadata(&ctx, req, &md);
  if (!st.ok()) {
    return Status(st.error_code() == grpc::StatusCode::NOT_FOUND ? StatusCode::kNotFound
                                                                 : StatusCode::kUnavailable,
                  "model metadata " + address_ + " (gRPC ModelMetadata '" + model +
                      "'): " + st.error_message());
  }
  json j;
  j["name"] = md.name();
  j["platform"] = md.platform();
  auto tensors = [](const auto& list) {
    json a = json::array();
    for (const auto& t : list) {
      a.push_back({{"name", t.name()},
                   {"datatype", t.datatype()},
                   {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())}});
    }
    return a;
  };
  j["inputs"] = tensors(md.inputs());
  j["outputs"] = tensors(md.outputs());
  return j.dump();
}

void GrpcLoadDriver::setRequest(std::string serialized) {
  SURGE_CHECK(impl_ != nullptr);
  request_ = std::move(serialized);
  grpc::Slice slice(request_);
  impl_->request = grpc::ByteBuffer(&slice, 1);
}

std::vector<WindowStats> GrpcLoadDriver::runClosed(
    int concurrency, Duration window,
    const std::function<bool(const std::vector<WindowStats>&)>& more) {
  SURGE_CHECK(impl_ != nullptr && concurrency > 0);
  std::mutex mu;
  std::condition_variable cv;
  WindowStats cur;
  bool stopping = false;
  size_t in_flight = 0;
  uint64_t completed = 0, errors = 0;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < concurrency; ++i) calls.push_back(impl_->newCall(static_cast<size_t>(i)));
  std::function<void(Call*, grpc::Status)> on_done = [&](Call* c, const grpc::Status& st) {
    auto now = std::chrono::steady_clock::now();
    int status = httpStatusOf(st);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) {
        --in_flight;
        cv.notify_all();
        return;
      }
      recordInto(cur, status, secondsSince(c->intended, now));
      ++completed;
      if (status < 200 || status >= 300) ++errors;
    }
    // Back off briefly so a dead server does not spin the loop.
    if (status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    impl_->issue(c, std::chrono::steady_clock::now(), &on_done);
  };
  const SteadyTime start = std::chrono::steady_clock::now();
  in_flight = calls.size();
  for (auto& c : calls) impl_->issue(c.get(), start, &on_done);

  std::vector<WindowStats> out;
  SteadyTime window_start = start;
  SteadyTime next_progress = start + std::chrono::seconds(1);
  std::unique_lock<std::mutex> lock(mu);
  auto stopRequested = [&] { return stop_ != nullptr && stop_->load(); };
  while (true) {
    SteadyTime end = window_start + window;
    while (std::chrono::steady_clock::now() < end && !stopRequested()) {
      SteadyTime until = progress_ ? std::min(end, next_progress) : end;
      if (stop_) {
        until = std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      }
      cv.wait_until(lock, until);
      auto now = std::chrono::steady_clock::now();
      if (progress_ && now >= next_progress) {
        next_progress += std::chrono::seconds(1);
        progress_({secondsSince(start, now), completed, errors, in_flight, impl_->channels.size()});
      }
    }
    SteadyTime now = std::chrono::steady_clock::now();
    cur.seconds = secondsSince(window_start, now);
    cur.connections = concurrency;
    out.push_back(std::move(cur));
    cur = WindowStats{};
    if (stopRequested() || !more(out)) break;
    window_start = now;
  }
  stopping = true;
  // Every call has a deadline: the wait is bounded by the --timeout.
  cv.wait(lock, [&] { return in_flight == 0; });
  return out;
}

WindowStats GrpcLoadDriver::runOpen(const RateProfile& profile, int max_in_flight,
                                    Duration drain) {
  SURGE_CHECK(impl_ != nullptr && max_in_flight > 0);
  std::mutex mu;
  std::condition_variable cv;
  WindowStats st;
  std::deque<SteadyTime> backlog;
  std::vector<Call*> idle;
  std::vector<std::unique_ptr<Call>> pool;
  size_t in_flight = 0;
  bool finished = false;
  uint64_t completed = 0, errors = 0;
  const SteadyTime start = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
  SteadyTime last_done = start;

  std::function<void(Call*, grpc::Status)> on_done = [&](Call* c, const grpc::Status& s) {
    auto now = std::chrono::steady_clock::now();
    int status = httpStatusOf(s);
    std::unique_lock<std::mutex> lock(mu);
    --in_flight;
    if (finished) {
      cv.notify_all();
      return;
    }
    recordInto(st, status, secondsSince(c->intended, now));
    ++completed;
    if (status < 200 || status >= 300) ++errors;
    last_done = now;
    if (!backlog.empty()) {
      SteadyTime t = backlog.front();
      backlog.pop_front();
      ++in_flight;
      st.max_lateness_s = std::max(st.max_lateness_s, secondsSince(t, now));
      lock.unlock();
      impl_->issue(c, t, &on_done);
      return;
    }
    idle.push_back(c);
    cv.notify_all();
  };

  Schedule schedule(profile);
  SteadyTime next_progress = start + std::chrono::seconds(1);
  auto stopRequested = [&] { return stop_ != nullptr && stop_->load(); };
  bool interrupted = false;
  for (std::optional<Duration> next = schedule.next(); next; next = schedule.next()) {
    SteadyTime t = start + *next;
    // Sleep until the send time, waking every 50 ms to notice a stop request.
    while (stop_ != nullptr && !stopRequested() && std::chrono::steady_clock::now() < t) {
      std::this_thread::sleep_until(
          std::min(t, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }
    if (stopRequested()) {
      interrupted = true;
      break;
    }
    std::this_thread::sleep_until(t);
    auto now = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu);
    if (progress_ && now >= next_progress) {
      next_progress += std::chrono::seconds(1);
      progress_({secondsSince(start, now), completed, errors, in_flight, pool.size()});
    }
    Call* c = nullptr;
    if (!idle.empty()) {
      c = idle.back();
      idle.pop_back();
    } else if (pool.size() < static_cast<size_t>(max_in_flight)) {
      pool.push_back(impl_->newCall(pool.size()));
      c = pool.back().get();
    } else if (backlog.size() < kMaxBacklog) {
      backlog.push_back(t);
      continue;
    } else {
      ++st.dropped;
      continue;
    }
    ++in_flight;
    st.max_lateness_s = std::max(st.max_lateness_s, secondsSince(t, now));
    lock.unlock();
    impl_->issue(c, t, &on_done);
  }
  std::unique_lock<std::mutex> lock(mu);
  const SteadyTime drain_end = std::chrono::steady_clock::now() + drain;
  auto drained = [&] { return in_flight == 0 && backlog.empty(); };
  while (!interrupted && !drained() && std::chrono::steady_clock::now() < drain_end) {
    if (stopRequested()) {
      interrupted = true;
      break;
    }
    cv.wait_until(lock, stop_ ? std::min(drain_end, std::chrono::steady_clock::now() +
                                                        std::chrono::milliseconds(50))
                              : drain_end);
  }
  if (interrupted) {
    // What is in flight or queued is abandoned, not counted; the real elapsed time.
    finished = true;
    backlog.clear();
    st.seconds = std::max(0.0, secondsSince(start, std::chrono::steady_clock::now()));
    st.connections = static_cast<int>(pool.size());
    cv.wait(lock, [&] { return in_flight == 0; });  // bounded by the per-call deadline
    return st;
  }
  finished = true;
  st.dropped += in_flight + backlog.size();
  backlog.clear();
  st.seconds = std::max(std::chrono::duration<double>(profile.totalLength()).count(),
                        secondsSince(start, last_done));
  st.connections = static_cast<int>(pool.size());
  cv.wait(lock, [&] { return in_flight == 0; });  // bounded by the per-call deadline
  return st;
}

}  // namespace surge::loadgen
