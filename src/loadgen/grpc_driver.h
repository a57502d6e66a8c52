// The gRPC load engine of `surge load --protocol grpc`: the same closed loop (N requests in
// flight, each resent when answered, measured in windows) and open loop (sends at a Schedule's
// intended times, latency from the intended time, a FIFO when the in-flight cap is reached) as
// the HTTP driver (driver.h), issuing inference.GRPCInferenceService/ModelInfer over a few
// channels (each its own TCP connection, requests spread round-robin) with grpc++'s callback
// API. The request is serialized once (a ModelInferRequest with raw_input_contents, built from
// the same JSON request body the HTTP driver sends) and answers are counted, not parsed.
// Status of a call, for the report's error counts: the HTTP status of Triton's mapping (OK 200,
// INVALID_ARGUMENT 400, NOT_FOUND 404, UNIMPLEMENTED 501, UNAVAILABLE and RESOURCE_EXHAUSTED 503,
// other codes 500), DEADLINE_EXCEEDED (the --timeout) and a broken channel 0.
// Thread-safety: a driver is used by one thread at a time; its completions run on gRPC threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "loadgen/driver.h"
#include "loadgen/schedule.h"
#include "loadgen/stats.h"

namespace surge::loadgen {

// "HOST:PORT" or "grpc://HOST:PORT" → "HOST:PORT". InvalidArgument for anything else.
StatusOr<std::string> parseGrpcTarget(std::string_view url);

// A JSON inference request body ({"id"?, "inputs": [{"name","datatype","shape","data"}],
// "outputs"?: [{"name"}], "parameters"?: {"timeout": n}}; data flat or nested) as a serialized
// ModelInferRequest for `model` (`version` may be empty), every input in raw_input_contents.
// InvalidArgument when the body is not such an object or a datatype is unknown.
StatusOr<std::string> grpcInferRequestFromJson(std::string_view body, const std::string& model,
                                               const std::string& version = "");

class GrpcLoadDriver {
 public:
  GrpcLoadDriver(std::string address, Duration timeout = std::chrono::seconds(30),
                 int channels = 4);
  ~GrpcLoadDriver();

  // Creates the channels and checks the server answers ServerLive (Unavailable "cannot reach
  // HOST:PORT: ..." otherwise).
  Status init();
  // ModelMetadata as the JSON GET /v2/models/NAME answers ({"name","inputs":[...]...}), for
  // buildInferBody. NotFound/other errors carry the server's message.
  StatusOr<std::string> metadataJson(const std::string& model);
  // The serialized ModelInferRequest every run sends.
  void setRequest(std::string serialized);

  void setProgress(std::function<void(const Progress&)> fn) { progress_ = std::move(fn); }
  // As LoadDriver::setStopFlag (polled every 50 ms). Calls in flight when it is set are not
  // counted; the run returns once they end (each is bounded by the per-call deadline).
  void setStopFlag(const std::atomic<bool>* stop) { stop_ = stop; }

  // As LoadDriver::runClosed: `concurrency` requests in flight.
  std::vector<WindowStats> runClosed(int concurrency, Duration window,
                                     const std::function<bool(const std::vector<WindowStats>&)>& more);
  // As LoadDriver::runOpen: at most `max_in_flight` requests outstanding (the rest wait in a FIFO).
  WindowStats runOpen(const RateProfile& profile, int max_in_flight, Duration drain);

  int channels() const { return channel_count_; }

  struct Impl;

 private:
  std::string address_;
  Duration timeout_;
  int channel_count_;
  std::string request_;
  std::function<void(const Progress&)> progress_;
  const std::atomic<bool>* stop_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace surge::loadgen
