// The backends compiled into this build, registered in one explicit table (builtin_backends.cc):
// adding a backend is one line there plus its own folder. "synthetic" is always present;
// "pytorch" (platform "pytorch_libtorch") when runtime/torch/ is built (SURGE_HAVE_TORCH).
// Thread-safety: call during setup.
#pragma once

#include "runtime/backend_registry.h"

namespace surge::runtime {

void registerBuiltinBackends(BackendRegistry& registry);

}  // namespace surge::runtime
