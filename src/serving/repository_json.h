// The HTTP/JSON side of Triton's model repository extension (docs/protocol/
// extension_model_repository.md): the request bodies of POST /v2/repository/index,
// .../models/{m}/load and .../models/{m}/unload, and the index response. Pure functions.
//   index   {"ready": bool}                      optional; an empty body = {}
//   load    {"parameters": {"config": "<JSON model config>"}}
//           "file:<path>" parameters (Triton's model file overrides) are not supported: an
//           InvalidArgument names them; any other parameter is an error too (Triton's
//           "Unrecognized load parameter").
//   unload  {"parameters": {"unload_dependents": bool}}  accepted (surge has no ensembles, so
//           there are no dependents)
// Errors: InvalidArgument with the client's message (the route answers 400).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/model_control.h"

namespace surge::serving {

// ready_only.
StatusOr<bool> parseIndexRequest(std::string_view body);
// The "config" parameter, if any.
StatusOr<std::optional<std::string>> parseLoadRequest(std::string_view body);
// unload_dependents.
StatusOr<bool> parseUnloadRequest(std::string_view body);

// [{"name","version","state","reason"}, ...]: a model never loaded has its name only (Triton);
// "version" is left out when empty, "reason" when empty.
std::string renderRepositoryIndex(const std::vector<ModelIndexEntry>& entries);

}  // namespace surge::serving
