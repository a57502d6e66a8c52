// Metric values: Counter, Gauge, Histogram — the Prometheus data model
// (https://prometheus.io/docs/concepts/metric_types/). Each is one time series; Family (family.h)
// groups series under one name.
// Hot path: inc/set/add/observe are lock-free atomics (relaxed; a scrape may see one series a few
// increments behind another, never a torn value). Histogram::observe is O(log buckets).
// Thread-safety: every method may be called from any thread. Objects never move (callers cache
// references handed out by Family::labels()).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace surge::metrics {

// Monotonic. inc() of a negative or NaN amount is ignored (a counter never goes down; a reset is
// a process restart).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(double v = 1) {
    if (v > 0) value_.fetch_add(v, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram with fixed upper bounds (le is inclusive: v <= bound). Counts are kept
// per bucket and summed at scrape time, so +Inf always equals _count. NaN observations are
// ignored (one would poison _sum forever).
class Histogram {
 public:
  // `bounds`: finite, strictly increasing upper bounds; +Inf is implicit. SURGE_CHECKs them.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;        // without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries; the last is +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1, non-cumulative
  std::atomic<double> sum_{0};
};

// Checks buckets as Histogram does; false on empty, unsorted, duplicate or non-finite bounds.
bool validBuckets(const std::vector<double>& bounds);

// Seconds: .0005 .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 30 60.
std::vector<double> defaultLatencyBuckets();
// start, start*factor, ... (`count` bounds); start > 0, factor > 1, count >= 1.
std::vector<double> exponentialBuckets(double start, double factor, int count);
// start, start+width, ... (`count` bounds); width > 0, count >= 1.
std::vector<double> linearBuckets(double start, double width, int count);

}  // namespace surge::metrics
