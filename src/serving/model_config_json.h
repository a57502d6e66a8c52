// Triton's model configuration as JSON (GET /v2/models/{m}[/versions/{v}]/config): the validated
// ModelConfig rendered the way Triton renders its normalized ModelConfig protobuf — protobuf's JSON
// printer with the proto field names (lower_snake_case) and every scalar, repeated and map field
// printed even at its default, message fields only when set, fields in the declaration order of
// Triton's model_config.proto, enums by name, and the 64-bit integers (dims, reshape shape,
// specific versions, microsecond delays and timeouts) as JSON numbers rather than protobuf's
// strings (Triton's ModelConfigToJson fixes those up).
// Normalized as Triton does: name = the model's directory, version_policy defaults to
// {"latest":{"num_versions":1}}, preferred_batch_size to [max_batch_size] under dynamic_batching,
// instance groups named "<model>_<i>" (or "<model>" when none was configured), KIND_AUTO resolved
// to KIND_CPU/KIND_GPU (KIND_MODEL reported as declared) and count 0 to 1, preferred_batch_size
// in the order written, and "optimization" always present with pinned input/output memory
// enabled (Triton's NormalizeModelConfig; surge has no pinned buffers, the block is reported as
// Triton reports it).
// Left out (docs/serving.md, "Model configuration"): "response_cache", "model_operations",
// sequence batching and ensembles (surge has none of them).
// Output: always valid UTF-8 JSON (strings go through appendJsonString).
// Thread-safety: pure function.
#pragma once

#include <string>

#include "serving/model_config.h"

namespace surge::serving {

// The JSON object Triton answers for this model's configuration.
std::string modelConfigJson(const ModelConfig& config);

}  // namespace surge::serving
