#include "sim/histogram.h"

#include <algorithm>
#include <cmath>

namespace surge::sim {

LatencyHistogram::LatencyHistogram(int sub_bucket_bits)
    : bits_(sub_bucket_bits),
      sub_count_(uint64_t{1} << sub_bucket_bits),
      counts_(static_cast<size_t>(kMaxLog2 - sub_bucket_bits + 1) << sub_bucket_bits, 0) {}

void LatencyHistogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  max_ = 0;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size() && i < other.counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::midpointOf(size_t index) const {
  if (index < sub_count_) return static_cast<double>(index);
  size_t shift = (index >> bits_) - 1;
  uint64_t sub = (index & (sub_count_ - 1)) + sub_count_;
  double lo = std::ldexp(static_cast<double>(sub), static_cast<int>(shift));
  double width = std::ldexp(1.0, static_cast<int>(shift));
  return lo + width / 2;
}

double LatencyHistogram::percentileNanos(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(midpointOf(i), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

double LatencyHistogram::fractionAbove(int64_t ns) const {
  if (count_ == 0) return 0;
  size_t limit = indexOf(ns < 0 ? 0 : static_cast<uint64_t>(ns));
  uint64_t above = 0;
  for (size_t i = limit + 1; i < counts_.size(); ++i) above += counts_[i];
  return static_cast<double>(above) / static_cast<double>(count_);
}

}  // namespace surge::sim
