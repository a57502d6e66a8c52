// The Open Inference Protocol's body codec (KServe v2 / Triton HTTP/REST, "inference request" and
// "inference response" objects, with Triton's binary tensor data extension), checked against a
// model's spec.
// Request: {"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "parameters"?, "data"}],
//           "outputs"?: [{"name", "parameters"?}]}
//   data is row-major, flat or nested (nesting is flattened, only the element count is checked).
//   Every model input must be sent once; datatype must equal the config's; shape must match the
//   config dims (-1 = any) with, when max_batch_size > 0, a leading batch dim in [1, max] that all
//   inputs share. Request parameters: "timeout" (µs, the request's queue timeout, honoured when
//   the model allows timeout overrides), "binary_data_output" (every output as binary data).
//   Parsed by a forward-only reader over the body (no document tree): a request costs its body
//   plus its tensors. Before a tensor is allocated its element count (the overflow-checked product
//   of its shape) must equal the data given — the number of JSON leaves in "data", or
//   binary_data_size / element size (BYTES: at most binary_data_size / 4 elements) — so no
//   allocation is larger than a constant times the body. Nesting deeper than 64 is rejected.
// Binary tensor data: with the Inference-Header-Content-Length header the body is that many bytes
//   of JSON followed by raw tensors; an input with parameters.binary_data_size (and no "data")
//   takes the next that many bytes, in the order of the "inputs" array — little-endian elements,
//   BOOL one byte, BYTES as a 4-byte little-endian length then the bytes, per element. An output
//   asked for with parameters.binary_data (or every output with binary_data_output) is answered
//   the same way: {"parameters": {"binary_data_size": n}} in the JSON, its bytes after the JSON.
// Response: {"model_name", "model_version", "id"?, "outputs": [{"name", "datatype", "shape",
//   "data"}]}, outputs in the order requested (config order by default); floats written with
//   std::to_chars (shortest round-trip form); non-finite floats as null (JSON has no NaN).
//   The JSON is always valid UTF-8: a BYTES output holding bytes that are not UTF-8 goes out as
//   binary tensor data when the client uses the binary extension (binary inputs,
//   binary_data_output, or binary_data on some output) and did not refuse it for that output
//   (binary_data: false); otherwise the response is an InvalidArgument error naming the output.
// Errors: InvalidArgument with the message a client sees in {"error": "..."} (HTTP 400).
// Thread-safety: functions are reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "runtime/backend.h"
#include "runtime/tensor.h"

namespace surge::serving {

struct InferRequest {
  std::string id;
  bool has_id = false;
  std::vector<runtime::Tensor> inputs;  // one per model input, config order: [rows] + backend dims
  std::vector<int> outputs;             // requested outputs (indices into spec.outputs), in order
  std::vector<bool> outputs_wanted;     // one per model output
  std::vector<bool> binary_outputs;     // one per model output: answer as binary tensor data
  std::vector<bool> binary_set;         // one per model output: binary_data given explicitly
  bool binary_accepted = false;         // the client uses the binary tensor data extension
  bool binary_default_set = false;      // "binary_data_output" given (either value)
  int64_t rows = 1;                     // batch rows (1 when the model does not batch)
  uint64_t shape_key = 0;               // hash of the non-batch dims of every input
  Duration timeout{0};                  // "timeout" parameter; 0 = none
};

// Parses and checks a request body against `spec`. `json_length`: the Inference-Header-Content-
// Length header (npos when absent: the whole body is JSON).
Status parseInferRequest(std::string_view body, const runtime::ModelSpec& spec, InferRequest* out,
                         size_t json_length = std::string_view::npos);

// Appends the response. `outputs` holds one tensor per model output (config order, backend
// shapes, as the batcher returns them); only the requested ones are written, in config dims.
// Returns the length of the JSON part when binary tensor data follows it (the response's
// Inference-Header-Content-Length), 0 when the response is JSON only. Errors (nothing usable
// appended): InvalidArgument for a non-UTF-8 BYTES output the client cannot take as binary.
StatusOr<size_t> appendInferResponse(std::string& out, const runtime::ModelSpec& spec,
                                     const InferRequest& request,
                                     const std::vector<runtime::Tensor>& outputs);

// Appends `s` as a JSON string literal (quotes included).
void appendJsonString(std::string& out, std::string_view s);

}  // namespace surge::serving
