// The pytorch_libtorch backend: TorchScript models (REPO/<model>/<version>/model.pt) run through
// libtorch on the CPU. Registered as backend "pytorch", platform "pytorch_libtorch".
//   - One torch::jit::Module copy per instance (torch::jit::load on the instance's thread), eval
//     mode, executed under c10::InferenceMode (no autograd bookkeeping).
//   - Inputs are wrapped with from_blob (no copy) in the config's input order and passed
//     positionally to forward(); outputs are taken in the config's output order from a single
//     tensor, a tuple/list of tensors, or a Dict[str, Tensor] (by name). Each output is copied once
//     into a surge Tensor; datatype and shape are checked against the config.
//   - Parameters (config.pbtxt, string_value): intra_op_threads (default 1): threads one instance
//     uses for one batch. See docs/design/torch.md for how this maps onto libtorch's and
//     OpenBLAS's process-global thread settings.
//   - No CUDA in Debian's libtorch: gpuCount() is 0, so KIND_GPU is a startup error (serving/).
// Thread-safety: as backend.h (the backend is stateless; an instance runs on its own thread).
#pragma once

#include <memory>

#include "runtime/backend.h"

namespace surge::runtime {

std::unique_ptr<Backend> makeTorchBackend();

}  // namespace surge::runtime
