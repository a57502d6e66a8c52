// The output of `surge load`: the run's configuration and per-level results as one JSON object
// (schema "surge.load/v1", documented in docs/load.md, read back by the planner) and as a
// human-readable table (perf_analyzer-like: concurrency, infer/s, p50/p95/p99, errors, batch).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "loadgen/stats.h"
#include "loadgen/thresholds.h"

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

// How the run ended: interrupted by a signal (its name, the real elapsed time) and the
// thresholds' verdicts.
struct RunOutcome {
  bool interrupted = false;
  std::string signal;      // "SIGINT" | "SIGTERM"
  double elapsed_s = 0;    // wall time of the measured runs
  std::vector<ThresholdResult> thresholds;
};

// {"schema":"surge.load/v1","config":{...},"levels":[{...}]}; with an outcome also
// "interrupted", "elapsed_s" and "thresholds":[{"name","level","limit","measured","ok"}].
std::string toJson(const RunConfig& config, const std::vector<LevelResult>& levels,
                   const RunOutcome& outcome = {});
// Header plus one line per level; latencies in ms. An interrupted level ends in
// "(interrupted)"; after the table, "interrupted by SIGINT after 3.2 s: partial results" and one
// line per threshold.
std::string formatTable(const std::vector<LevelResult>& levels, const RunOutcome& outcome = {});

}  // namespace surge::loadgen
