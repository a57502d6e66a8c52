// Builds an Open Inference Protocol request body for `surge load` from a model's metadata
// (GET /v2/models/NAME: {"inputs":[{"name","datatype","shape"}]}): every input gets seeded random
// data of its datatype; a leading -1 dim is the batch dim (set to `batch`), other -1 dims are 1.
// FP16/FP32/FP64: uniform [0,1); integers: uniform [0,100); BOOL: true/false; BYTES: "s<N>".
// Complexity O(total elements). Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace surge::loadgen {

// InvalidArgument when the metadata is malformed, names an unknown datatype, or batch > 1 for a
// model whose inputs have no leading -1 dim.
StatusOr<std::string> buildInferBody(std::string_view metadata_json, int batch, uint64_t seed);

}  // namespace surge::loadgen
