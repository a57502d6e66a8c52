// Sampling and load-comparison helpers shared by the balancers: exclusion checks, two distinct
// random choices (Mitzenmacher, "The Power of Two Random Choices"; distinct as in Ray Serve and
// Knative, not Envoy's with-replacement draw) and Envoy's weighted least-request score
// weight / (active + 1). Also the seeded-or-owned Random every balancer holds.
// Complexity: O(1) expected per draw without exclusions; O(n) on the rare retry path where the
// excluded hosts are a large share of the set. Thread-safety: none (per-worker use).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/random.h"
#include "lb/host.h"
#include "lb/host_set.h"

namespace surge::lb {

using ExcludeList = std::span<const Host* const>;

inline bool isExcluded(const Host* h, ExcludeList exclude) {
  for (const Host* e : exclude) {
    if (e == h) return true;
  }
  return false;
}

// The Random a balancer draws from: the injected one, or an OS-seeded one it owns when none was
// injected (production convenience; tests always inject a seeded Random).
class RandomSource {
 public:
  explicit RandomSource(Random* injected)
      : owned_(injected ? nullptr : std::make_unique<Random>(Random::osSeed())),
        random_(injected ? injected : owned_.get()) {}
  Random& get() const { return *random_; }

 private:
  std::unique_ptr<Random> owned_;
  Random* random_;
};

struct IndexPair {
  size_t first;
  size_t second;  // == first only when a single candidate is allowed
};

// Two distinct indices of [0, n), n >= 2: `first` uniform, `second` uniform over the others.
// The draw order is part of the contract (tests replay it with the same seed as an oracle).
inline IndexPair sampleTwoDistinct(size_t n, Random& random) {
  const size_t a = random.uniform(n);
  size_t b = random.uniform(n - 1);
  if (b >= a) ++b;
  return {a, b};
}

// Two distinct indices of hosts not in `exclude` (set non-empty). One allowed host → {i, i};
// none allowed → drawn over all hosts (the caller may then return an excluded host).
IndexPair sampleTwoAllowed(const HostSet& set, ExcludeList exclude, Random& random);

// A host's in-flight count as a load, clamped at 0 (a late onRequestEnd may briefly undershoot).
inline uint64_t activeRequests(const Host& h) {
  const int64_t f = h.inFlight();
  return f > 0 ? static_cast<uint64_t>(f) : 0;
}

// Envoy's weighted least request: a is better than b when wa/(fa+1) > wb/(fb+1). Exact (integer
// cross-multiplication) so ties are real ties. Returns > 0 if a is better, < 0 if b, 0 on a tie.
inline int compareLeastRequest(uint64_t fa, uint64_t wa, uint64_t fb, uint64_t wb) {
  const unsigned __int128 lhs = static_cast<unsigned __int128>(wa) * (fb + 1);
  const unsigned __int128 rhs = static_cast<unsigned __int128>(wb) * (fa + 1);
  return lhs > rhs ? 1 : (lhs < rhs ? -1 : 0);
}

// Effective weights of `set` (its weights, or 1 each when a hand-built set left them out).
std::vector<uint32_t> effectiveWeights(const HostSet& set);
bool allEqual(const std::vector<uint32_t>& weights);

// Least request over two distinct random choices (power of two choices). `weights` parallel to
// set.hosts; `equal` skips the weight arithmetic. Returns an index; set non-empty.
size_t twoChoicesLeastRequest(const HostSet& set, const std::vector<uint32_t>& weights, bool equal,
                              ExcludeList exclude, Random& random);

}  // namespace surge::lb
