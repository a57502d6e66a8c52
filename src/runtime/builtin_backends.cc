#include "runtime/builtin_backends.h"

#include "runtime/synthetic_backend.h"
#ifdef SURGE_HAVE_TORCH
#include "runtime/torch/torch_backend.h"
#endif

namespace surge::runtime {

void registerBuiltinBackends(BackendRegistry& registry) {
  registry.add(makeSyntheticBackend());
#ifdef SURGE_HAVE_TORCH
  registry.add(makeTorchBackend(), {"pytorch_libtorch"});
#endif
}

}  // namespace surge::runtime
