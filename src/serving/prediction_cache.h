// PredictionCache: the hook for the shared prediction cache (`surge serve --cache redis://...`,
// the stateless model server). InferenceService consults it after a request is parsed and
// checked, before it is queued: a hit answers without inference; a miss goes to the batcher and
// the successful outputs are stored afterwards. Implementations (Redis) live elsewhere; this file
// only fixes the contract and the key.
// Key: a SHA-256 digest (OpenSSL 3 libcrypto, EVP) of everything that decides the answer — model
// name and version; every input's name, datatype, shape and bytes; the requested outputs (name,
// index, binary_data) — each field length-prefixed and tagged, so no two different requests
// serialize to the same byte stream (predictionKey). Identical requests map to the same key on
// every replica and every run; a different request collides only if SHA-256 does. Parameters that
// cannot change the outputs (timeout, request id) are left out (docs/serving.md, "Prediction
// cache").
// Contract: the cache must never fail a request — errors and timeouts are misses. lookup() calls
// `done` exactly once, inline or from another thread; store() must not block the caller.
// Thread-safety: implementations must allow concurrent calls from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "serving/infer_json.h"

namespace surge::serving {

struct PredictionKey {
  static constexpr size_t kDigestSize = 32;  // SHA-256
  using Digest = std::array<uint8_t, kDigestSize>;

  std::string model;
  int64_t version = 0;
  Digest digest{};  // SHA-256 over the request (see above)

  // "model/version/<64 hex digits of the digest>", usable as a Redis key.
  std::string toString() const;
  std::string digestHex() const;
  bool operator==(const PredictionKey&) const = default;
};

// The key of a parsed request (before its inputs are moved to the batcher). `spec` names the
// inputs and outputs (request tensors are in config order).
PredictionKey predictionKey(const runtime::ModelSpec& spec, const InferRequest& request);

class PredictionCache {
 public:
  // Outputs as the batcher returns them: one per model output (config order, backend shapes),
  // default-constructed for outputs the request did not ask for.
  using Outputs = std::vector<runtime::Tensor>;

  // How a lookup ended: `outputs` on a hit; nullopt on a miss, an error or a timeout.
  // `looked_up`: the cache answered (a hit, or a miss it found) — false when the lookup was
  // dropped or failed (breaker open, queue full, expired, connection error, stopping). Only
  // answered lookups count as Triton's cache hits and misses.
  using LookupDone = std::function<void(std::optional<Outputs> outputs, bool looked_up)>;

  virtual ~PredictionCache() = default;
  virtual void lookup(const PredictionKey& key, const InferRequest& request,
                      LookupDone done) = 0;
  // Stores the outputs of a successful inference (fire and forget). `request.inputs` is empty by
  // then (the tensors went to the batcher): everything about the inputs is in the key.
  virtual void store(const PredictionKey& key, const InferRequest& request,
                     const Outputs& outputs) = 0;
};

}  // namespace surge::serving
