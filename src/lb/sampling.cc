#include "lb/sampling.h"

#include <algorithm>

namespace surge::lb {
namespace {

// Rejection sampling keeps draws uniform over the allowed hosts; after this many misses the
// excluded hosts are a large share of the set and an exact O(n) draw is cheaper.
constexpr int kRejectionTries = 8;

// Index of the k-th (0-based) host not excluded.
size_t kthAllowed(const HostSet& set, ExcludeList exclude, size_t k) {
  for (size_t i = 0; i < set.size(); ++i) {
    if (isExcluded(set.hosts[i].get(), exclude)) continue;
    if (k-- == 0) return i;
  }
  return 0;  // unreachable when k < number of allowed hosts
}

}  // namespace

IndexPair sampleTwoAllowed(const HostSet& set, ExcludeList exclude, Random& random) {
  const size_t n = set.size();
  if (n == 1) return {0, 0};
  if (exclude.empty()) return sampleTwoDistinct(n, random);
  for (int t = 0; t < kRejectionTries; ++t) {
    const IndexPair p = sampleTwoDistinct(n, random);
    if (!isExcluded(set.hosts[p.first].get(), exclude) &&
        !isExcluded(set.hosts[p.second].get(), exclude)) {
      return p;
    }
  }
  size_t allowed = 0;
  for (const HostPtr& h : set.hosts) allowed += !isExcluded(h.get(), exclude);
  if (allowed == 0) return sampleTwoDistinct(n, random);
  if (allowed == 1) {
    const size_t i = kthAllowed(set, exclude, 0);
    return {i, i};
  }
  const IndexPair r = sampleTwoDistinct(allowed, random);
  return {kthAllowed(set, exclude, r.first), kthAllowed(set, exclude, r.second)};
}

std::vector<uint32_t> effectiveWeights(const HostSet& set) {
  if (set.weights.size() != set.hosts.size()) return std::vector<uint32_t>(set.hosts.size(), 1);
  std::vector<uint32_t> w = set.weights;
  for (uint32_t& x : w) x = std::max<uint32_t>(x, 1);
  return w;
}

bool allEqual(const std::vector<uint32_t>& weights) {
  return std::adjacent_find(weights.begin(), weights.end(), std::not_equal_to<>()) ==
         weights.end();
}

size_t twoChoicesLeastRequest(const HostSet& set, const std::vector<uint32_t>& weights, bool equal,
                              ExcludeList exclude, Random& random) {
  const IndexPair p = sampleTwoAllowed(set, exclude, random);
  if (p.first == p.second) return p.first;
  const uint64_t fa = activeRequests(*set.hosts[p.first]);
  const uint64_t fb = activeRequests(*set.hosts[p.second]);
  // On a tie keep the first draw: it is already uniformly random.
  if (equal) return fb < fa ? p.second : p.first;
  return compareLeastRequest(fa, weights[p.first], fb, weights[p.second]) < 0 ? p.second : p.first;
}

}  // namespace surge::lb
