// HashRing: a ketama-style consistent-hash ring (Karger et al. 1997; libketama; nginx `hash ...
// consistent` with 160 points per unit of weight; HAProxy `hash-type consistent`). Host i gets
// points_per_weight x weight_i points (weights in units of 1/weight_scale), point j at
// hash64(address, seed j); a key belongs to the first point clockwise from its hash. Removing one
// of n hosts moves only that host's keys (~1/n). Shares have a std-dev of ~1/sqrt(points per host).
// The total is capped at kMaxPoints (points scaled down proportionally beyond it).
// Lookup: a bucket index on the top bits of the hash (about one point per bucket) narrows the
// search to a few neighbouring points, so a lookup is ~2 cache misses instead of log2(P).
// Complexity: build O(P log P) for P points; lookup O(1) expected. Thread-safety: immutable
// after build.
#pragma once

#include <cstdint>
#include <vector>

#include "lb/host.h"

namespace surge::lb {

class HashRing {
 public:
  static constexpr uint64_t kMaxPoints = uint64_t{1} << 23;  // Envoy's default maximum ring size

  void build(const std::vector<HostPtr>& hosts, const std::vector<uint32_t>& weights,
             uint32_t weight_scale, uint32_t points_per_weight);

  size_t points() const { return hashes_.size(); }
  bool empty() const { return hashes_.empty(); }
  // First point at or clockwise after key_hash (wrapping past the top).
  size_t findPoint(uint64_t key_hash) const;
  size_t nextPoint(size_t point) const { return point + 1 == hashes_.size() ? 0 : point + 1; }
  // Owner (index into the hosts given to build) of a point.
  uint32_t owner(size_t point) const { return owners_[point]; }
  uint32_t lookup(uint64_t key_hash) const { return owners_[findPoint(key_hash)]; }

 private:
  std::vector<uint64_t> hashes_;  // sorted
  std::vector<uint32_t> owners_;  // parallel to hashes_
  // buckets_[b] = first point whose hash >> shift_ >= b; size 2^bits + 1.
  std::vector<uint32_t> buckets_;
  int shift_ = 64;
};

}  // namespace surge::lb
