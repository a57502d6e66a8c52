// Planner inputs measured instead of guessed: `surge plan --profile FILE` reads what `surge load
// --json` (schema surge.load/v1) measured against ONE replica and derives
//  - instance_rps: the highest ok_rps of a level that is stable and has < 1% errors (the
//    replica's sustainable throughput, single_instance_rps);
//  - service_time: the mean latency at the lightest load level (closed loop: lowest concurrency;
//    open loop: lowest rate) — at light load the wait is ~0, so latency ≈ service time;
//  - slots: round(instance_rps × service_time), at least 1 — Little's law at saturation: how
//    many requests the replica serves at once (with dynamic batching, the equivalent number of
//    parallel servers).
// Pure function; the CLI parses the JSON. Complexity O(levels). Thread-safety: pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace surge::planner {

struct LoadLevel {
  bool closed = true;       // mode "closed" (concurrency) or "open" (target_rps)
  int64_t concurrency = 0;  // closed loop
  double target_rps = 0;    // open loop
  int64_t requests = 0, ok = 0, errors = 0;
  double ok_rps = 0;
  double mean_latency_s = 0;
  bool stable = true;
};

struct ProfileEstimate {
  double instance_rps = 0;
  size_t instance_level = 0;  // index of the level instance_rps came from
  double service_time_s = 0;
  size_t service_level = 0;  // index of the level service_time came from
  int64_t slots = 1;
};

// Error when no level is usable ("no load level is stable with < 1% errors").
StatusOr<ProfileEstimate> estimateFromLoadLevels(const std::vector<LoadLevel>& levels);

}  // namespace surge::planner
