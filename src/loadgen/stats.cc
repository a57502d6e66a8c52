#include "loadgen/stats.h"

#include <algorithm>
#include <cmath>

namespace surge::loadgen {

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  if (rank == 0) rank = 1;
  return sorted[rank - 1];
}

void LatencyRecorder::record(double seconds) {
  ++count_;
  sum_ += seconds;
  max_ = std::max(max_, seconds);
  if (samples_.size() < capacity_) {
    samples_.push_back(seconds);
  } else {
    uint64_t j = random_.uniform(count_);  // reservoir sampling (Vitter's algorithm R)
    if (j < capacity_) samples_[j] = seconds;
  }
}

void LatencyRecorder::merge(const LatencyRecorder& other) {
  for (double s : other.samples_) {
    if (samples_.size() < capacity_) samples_.push_back(s);
  }
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::vector<double> LatencyRecorder::sorted() const {
  std::vector<double> s = samples_;
  std::sort(s.begin(), s.end());
  return s;
}

uint64_t LevelResult::errorCount() const {
  uint64_t n = 0;
  for (const auto& [status, count] : errors) n += count;
  return n;
}

void LevelResult::fillLatency(const LatencyRecorder& rec) {
  auto s = rec.sorted();
  mean_s = rec.mean();
  max_s = rec.max();
  min_s = s.empty() ? 0 : s.front();
  p50_s = percentile(s, 0.50);
  p90_s = percentile(s, 0.90);
  p95_s = percentile(s, 0.95);
  p99_s = percentile(s, 0.99);
  p999_s = percentile(s, 0.999);
}

}  // namespace surge::loadgen
