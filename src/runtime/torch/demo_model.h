// The demo model: a TorchScript MLP written through the libtorch C++ API (no Python), with a
// Triton config.pbtxt next to it, so that `surge model demo DIR` yields a ready model repository.
// Layers: sizes[0] → sizes[1] → ... → sizes.back(); ReLU between layers, none after the last.
// Layer i has parameters w<i> [in, out] and b<i> [out], forward is x = addmm(b, x, w) — a
// row-major GEMM per layer. Weights are uniform in ±1/sqrt(in) (nn.Linear's scale) from a seeded
// surge Random, so the same options write the same model.
// Complexity: O(Σ in×out) to build. Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace surge::runtime {

struct DemoModelOptions {
  std::string name = "mlp";
  std::vector<int64_t> sizes = {512, 1024, 1024, 16};
  uint64_t seed = 1;
  int max_batch_size = 64;
};

// The config.pbtxt text for `options` (platform pytorch_libtorch, INPUT0/OUTPUT0 FP32,
// dynamic batching with preferred sizes 16, 32, 64 capped at max_batch_size).
std::string demoModelConfig(const DemoModelOptions& options);

// Writes DIR/<name>/config.pbtxt and DIR/<name>/1/model.pt (directories created as needed).
Status writeDemoModel(const std::string& dir, const DemoModelOptions& options);

}  // namespace surge::runtime
