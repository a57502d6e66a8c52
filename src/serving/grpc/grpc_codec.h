// The gRPC inference codec: a ModelInferRequest checked against a model's spec into the same
// InferRequest the JSON codec (infer_json.h) produces, and the outputs rendered as a
// ModelInferResponse. Pure: no sockets, no threads (fuzzed by fuzz/grpc_infer_request_fuzz.cc).
// Request rules — the HTTP path's, in protobuf terms:
//   every model input given once (unknown or repeated names rejected); datatype equal to the
//   config's; shape matching the config dims (-1 = any) with, when max_batch_size > 0, a leading
//   batch dim in [1, max_batch_size] shared by every input; the element count (overflow-checked
//   product of the shape) equal to what the request carries, checked BEFORE the tensor is
//   allocated: the one contents field of the datatype (BOOL bool_contents, INT8/16/32
//   int_contents, INT64 int64_contents, UINT8/16/32 uint_contents, UINT64 uint64_contents, FP32
//   fp32_contents, FP64 fp64_contents, BYTES bytes_contents; every other field empty; INT8/16 and
//   UINT8/16 values in range; FP16 only as raw) or raw_input_contents' entry
//   (element size × count bytes; BYTES: 4-byte little-endian length + bytes per element, at least
//   4 bytes per element).
//   Raw or typed, not both: with raw_input_contents it holds exactly one entry per input (in the
//   order of `inputs`) and no input has `contents`.
//   Request parameters: "timeout" (µs, int64_param or uint64_param, 0..3600000000) as the HTTP
//   path; "binary_data_output" and output "binary_data" are ignored (gRPC outputs are always raw);
//   output "classification" is rejected (extension not supported); other parameters ignored.
// Response: model_name, model_version, id (when given), one InferOutputTensor per requested output
//   (config order by default; config dims, reshape undone) with its bytes in
//   raw_output_contents — Triton's default.
// Errors: InvalidArgument with the message a client sees (gRPC INVALID_ARGUMENT).
// Thread-safety: functions are reentrant.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/backend.h"
#include "runtime/tensor.h"
#include "serving/grpc/grpc_service.h"
#include "serving/infer_json.h"
#include "serving/model_config.h"

namespace surge::serving {

// Parses and checks `req` against `spec` into `out` (reset first). The model name and version of
// the request are not looked at (the caller found the model by them).
Status parseGrpcInferRequest(const inference::ModelInferRequest& req,
                             const runtime::ModelSpec& spec, InferRequest* out);

// Fills `out` (cleared first). `outputs`: one tensor per model output (config order, backend
// shapes, as the batcher returns them); only the requested ones are written.
// Errors: Internal when an output is missing from `outputs`.
Status renderGrpcInferResponse(const runtime::ModelSpec& spec, const InferRequest& request,
                               const std::vector<runtime::Tensor>& outputs,
                               inference::ModelInferResponse* out);

// The model metadata (as GET /v2/models/{m}): name, the served `versions`, platform (or backend),
// inputs and outputs with config dims (a leading -1 when the model batches).
void fillModelMetadata(const runtime::ModelSpec& spec, const std::vector<std::string>& versions,
                       inference::ModelMetadataResponse* out);

// The served configuration as Triton's ModelConfig message (ModelConfigResponse.config),
// normalized as the HTTP /config answer (model_config_json.h): defaults filled in, instance kinds
// resolved, preferred_batch_size defaulted to [max_batch_size] under dynamic batching.
void fillModelConfig(const ModelConfig& config, pb::ModelConfig* out);

}  // namespace surge::serving
