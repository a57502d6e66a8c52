#include "lb/ring.h"

#include <algorithm>
#include <cmath>

#include "common/hash.h"

namespace surge::lb {

void HashRing::build(const std::vector<HostPtr>& hosts, const std::vector<uint32_t>& weights,
                     uint32_t weight_scale, uint32_t points_per_weight) {
  hashes_.clear();
  owners_.clear();
  const size_t n = hosts.size();
  if (n == 0) return;
  const double scale = std::max<uint32_t>(weight_scale, 1);
  std::vector<uint64_t> count(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += static_cast<double>(points_per_weight) * std::max<uint32_t>(weights[i], 1) / scale;
  }
  const double shrink = total > static_cast<double>(kMaxPoints) ? kMaxPoints / total : 1.0;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double c =
        static_cast<double>(points_per_weight) * std::max<uint32_t>(weights[i], 1) / scale;
    count[i] = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(c * shrink)));
    sum += count[i];
  }
  struct Point {
    uint64_t hash;
    uint32_t owner;
  };
  std::vector<Point> points;
  points.reserve(sum);
  for (size_t i = 0; i < n; ++i) {
    const std::string& a = hosts[i]->address();
    for (uint64_t j = 0; j < count[i]; ++j) points.push_back({hash64(a, j), static_cast<uint32_t>(i)});
  }
  // Colliding points are ordered by address so the ring does not depend on insertion order.
  std::sort(points.begin(), points.end(), [&](const Point& x, const Point& y) {
    if (x.hash != y.hash) return x.hash < y.hash;
    return hosts[x.owner]->address() < hosts[y.owner]->address();
  });
  hashes_.reserve(sum);
  owners_.reserve(sum);
  for (const Point& p : points) {
    hashes_.push_back(p.hash);
    owners_.push_back(p.owner);
  }
  int bits = 1;
  while (bits < 24 && (uint64_t{1} << bits) < sum) ++bits;
  shift_ = 64 - bits;
  const size_t nb = size_t{1} << bits;
  buckets_.assign(nb + 1, 0);
  size_t p = 0;
  for (size_t b = 0; b < nb; ++b) {
    while (p < hashes_.size() && (hashes_[p] >> shift_) < b) ++p;
    buckets_[b] = static_cast<uint32_t>(p);
  }
  buckets_[nb] = static_cast<uint32_t>(hashes_.size());
}

size_t HashRing::findPoint(uint64_t key_hash) const {
  // Every point of an earlier bucket is below key_hash, every point of a later one above it.
  const size_t b = key_hash >> shift_;
  const auto first = hashes_.begin() + buckets_[b];
  const auto last = hashes_.begin() + buckets_[b + 1];
  const size_t i = std::lower_bound(first, last, key_hash) - hashes_.begin();
  return i == hashes_.size() ? 0 : i;
}

}  // namespace surge::lb
