// sim/histogram: a log-linear latency histogram (HdrHistogram's bucketing, written for the
// simulator): values in ns; below 2^b exact, above it 2^b linear sub-buckets per power of two, so a
// bucket spans at most 2^-b of its value (b = 10: 0.1%, b = 7: 0.8%). Percentiles return the
// bucket midpoint. Values above 2^45 ns (~9.8 h) land in the last bucket.
// Complexity: record O(1) (one count-leading-zeros), percentile O(buckets). Memory:
// (46 − b)·2^b counters. Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace surge::sim {

class LatencyHistogram {
 public:
  static constexpr int kMaxLog2 = 45;
  explicit LatencyHistogram(int sub_bucket_bits = 10);

  void record(int64_t ns) {
    uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    counts_[indexOf(v)] += 1;
    ++count_;
    sum_ += static_cast<double>(v);
    if (ns > max_) max_ = ns;
  }
  void clear();
  void merge(const LatencyHistogram& other);  // same sub_bucket_bits

  uint64_t count() const { return count_; }
  double meanNanos() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  int64_t maxNanos() const { return max_; }
  // The smallest recorded value v (bucket midpoint) with at least ceil(p·count) values ≤ v;
  // 0 when empty. p in [0, 1].
  double percentileNanos(double p) const;
  // The fraction of recorded values above `ns` (bucket resolution).
  double fractionAbove(int64_t ns) const;

 private:
  size_t indexOf(uint64_t v) const {
    if (v < sub_count_) return static_cast<size_t>(v);
    if (v >= (uint64_t{1} << kMaxLog2)) return counts_.size() - 1;
    int e = 63 - __builtin_clzll(v);  // 2^e ≤ v < 2^(e+1), e ≥ bits_
    int shift = e - bits_;
    return static_cast<size_t>((shift + 1) << bits_) + static_cast<size_t>((v >> shift) - sub_count_);
  }
  double midpointOf(size_t index) const;

  int bits_;
  uint64_t sub_count_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace surge::sim
