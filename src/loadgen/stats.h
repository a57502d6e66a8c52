// Measurements of one load level for `surge load`: a latency recorder (exact percentiles over the
// recorded samples, bounded by reservoir sampling once `capacity` samples are held), error counts
// by HTTP status (0 = transport error: refused, reset, timeout), and the level result the report
// prints as a table row and a JSON object (schema in docs/load.md).
// Percentiles: nearest rank (the smallest sample with at least q of the samples <= it).
// Complexity: record O(1); percentiles O(n log n) once (sorts a copy). Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/random.h"

namespace surge::loadgen {

// Nearest-rank percentile of ascending `sorted`, q in [0, 1]; 0 when empty.
double percentile(const std::vector<double>& sorted, double q);

class LatencyRecorder {
 public:
  explicit LatencyRecorder(size_t capacity = 1 << 20, uint64_t seed = 1)
      : capacity_(capacity), random_(seed) {}

  void record(double seconds);
  void merge(const LatencyRecorder& other);
  uint64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  double max() const { return max_; }
  // The held samples, sorted.
  std::vector<double> sorted() const;

 private:
  size_t capacity_;
  Random random_;
  std::vector<double> samples_;
  uint64_t count_ = 0;
  double sum_ = 0;
  double max_ = 0;
};

struct LevelResult {
  std::string mode;           // "closed" | "open"
  int concurrency = 0;        // closed loop: connections; open loop: peak connections used
  double target_rps = 0;      // open loop: the schedule's mean rate; 0 for closed loop
  double duration_s = 0;      // measured interval
  uint64_t requests = 0;      // completed (ok + errors)
  uint64_t ok = 0;            // 2xx
  std::map<int, uint64_t> errors;  // status → count (0 = transport error / timeout)
  uint64_t dropped = 0;       // open loop: sends still unanswered when the drain timed out
  double rps = 0;             // completed requests per second
  double ok_rps = 0;
  double mean_s = 0, min_s = 0, p50_s = 0, p90_s = 0, p95_s = 0, p99_s = 0, p999_s = 0, max_s = 0;
  std::optional<double> avg_batch;  // from the server's surge_serve_batch_size delta
  int windows = 0;            // sweep: windows measured
  bool stable = true;         // sweep: last 3 windows within the tolerance
  double max_lateness_s = 0;  // open loop: worst delay between intended and actual send
  bool interrupted = false;   // the run was stopped (SIGINT/SIGTERM) during this level

  uint64_t errorCount() const;
  void fillLatency(const LatencyRecorder& rec);
};

}  // namespace surge::loadgen
