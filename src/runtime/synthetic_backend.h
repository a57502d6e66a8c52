// The synthetic backend (`backend: "synthetic"`): a model that costs time but no CPU, for load
// tests, simulations and benchmarks on machines without accelerators.
//   Cost of one batch of b rows: base_latency_us + per_item_latency_us × b, plus a uniform extra
//   delay in [0, jitter_us) — spent sleeping, as an accelerator would leave the CPU idle (the
//   outputs are computed first, then the instance sleeps until the cost has elapsed).
//   Outputs (deterministic): for every output, element j of row r is
//       out[r][j] = S(r) + j
//   where S(r) is the sum of every element of row r of every input (BOOL counts 0/1, FP16 widened,
//   a BYTES element counts its length), converted to the output datatype (integers saturate,
//   BOOL = value != 0, BYTES = shortest decimal text). With max_batch_size 0 the whole request
//   is one row. Output dims must be fixed (no -1).
// Parameters (config.pbtxt `parameters`, string_value; unknown keys are errors):
//   base_latency_us, per_item_latency_us, jitter_us   (non-negative numbers, default 0)
//   load_latency_us   time each instance takes to load (cold start), default 0
//   seed              jitter seed (default 1; instance i uses seed + i)
// Thread-safety: as runtime/backend.h.
#pragma once

#include <memory>

#include "runtime/backend.h"

namespace surge::runtime {

struct SyntheticParams {
  double base_latency_us = 0;
  double per_item_latency_us = 0;
  double jitter_us = 0;
  double load_latency_us = 0;
  uint64_t seed = 1;
};

// Reads and checks the parameters of a spec (InvalidArgument naming the bad key or value).
StatusOr<SyntheticParams> parseSyntheticParams(const ModelSpec& spec);

// Computes the synthetic outputs for one batch (no sleeping): exposed for tests and for clients
// that want to check answers.
std::vector<Tensor> syntheticOutputs(const ModelSpec& spec, const ExecuteRequest& request);

std::unique_ptr<Backend> makeSyntheticBackend();

}  // namespace surge::runtime
