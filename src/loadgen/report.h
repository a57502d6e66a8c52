// The output of `surge load`: the run's configuration and per-level results as one JSON object
// (schema "surge.load/v1", documented in docs/load.md, read back by the planner) and as a
// human-readable table (perf_analyzer-like: concurrency, infer/s, p50/p95/p99, errors, batch).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "loadgen/stats.h"

namespace surge::loadgen {

struct RunConfig {
  std::string url;
  std::string model;       // empty with --input and no --model
  std::string path;        // request target
  std::string mode;        // "closed" | "open" | "sweep"
  int batch = 1;
  std::vector<int> concurrency;  // closed loop / sweep levels
  std::string rate_spec;   // open loop: "100", "step:...", "ramp:...", "trace:FILE"
  double duration_s = 0;
  double window_s = 0;     // sweep window
  uint64_t seed = 1;
  size_t body_bytes = 0;
};

// {"schema":"surge.load/v1","config":{...},"levels":[{...}]}
std::string toJson(const RunConfig& config, const std::vector<LevelResult>& levels);
// Header plus one line per level; latencies in ms.
std::string formatTable(const std::vector<LevelResult>& levels);

}  // namespace surge::loadgen
