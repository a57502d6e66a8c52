// Builds an Open Inference Protocol request body for `surge load` from a model's metadata
// (GET /v2/models/NAME: {"inputs":[{"name","datatype","shape"}]}): every input gets seeded random
// data of its datatype; a leading -1 dim is the batch dim (set to `batch`), other -1 dims are 1.
// FP16/FP32/FP64: uniform [0,1); integers: uniform [0,100); BOOL: true/false; BYTES: "s<N>".
// Complexity O(total elements). Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace surge::loadgen {

// InvalidArgument when the metadata is malformed, names an unknown datatype, or batch > 1 for a
// model whose inputs have no leading -1 dim.
StatusOr<std::string> buildInferBody(std::string_view metadata_json, int batch, uint64_t seed);

// A JSON request body ({"id"?, "parameters"?: {"timeout"}, "inputs": [{"name", "datatype",
// "shape", "data"}], "outputs"?: [{"name"}]}, data flat or nested) with every input's data as raw
// little-endian bytes (BOOL one byte, FP16 binary16, BYTES a 4-byte length + the bytes per
// element): what binary tensor data (HTTP) and raw_input_contents (gRPC) carry.
struct RawRequest {
  struct Input {
    std::string name, datatype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  std::string id;
  bool has_id = false;
  int64_t timeout_us = -1;  // -1: none
  std::vector<Input> inputs;
  std::vector<std::string> outputs;  // requested outputs, empty = all
};
// InvalidArgument when the body is not such an object or an element does not fit its datatype.
StatusOr<RawRequest> rawRequestFromJson(std::string_view body);

// The same request with Triton's binary tensor data extension: the JSON header (inputs with
// parameters.binary_data_size, "binary_data_output": true) followed by the raw bytes;
// `json_length` is the Inference-Header-Content-Length header's value.
struct BinaryBody {
  std::string body;
  size_t json_length = 0;
};
StatusOr<BinaryBody> binaryInferBody(std::string_view json_body);

}  // namespace surge::loadgen
