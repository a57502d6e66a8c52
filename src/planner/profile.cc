#include "planner/profile.h"

#include <cmath>
#include <string>

namespace surge::planner {

namespace {
constexpr double kMaxErrorFraction = 0.01;

bool usable(const LoadLevel& l) {
  return l.stable && l.ok > 0 && l.requests > 0 && l.ok_rps > 0 && l.mean_latency_s > 0 &&
         static_cast<double>(l.errors) <= kMaxErrorFraction * static_cast<double>(l.requests);
}

double loadOf(const LoadLevel& l) {
  return l.closed ? static_cast<double>(l.concurrency) : l.target_rps;
}
}  // namespace

StatusOr<ProfileEstimate> estimateFromLoadLevels(const std::vector<LoadLevel>& levels) {
  ProfileEstimate e;
  bool found = false;
  for (size_t i = 0; i < levels.size(); ++i) {
    const LoadLevel& l = levels[i];
    if (!usable(l)) continue;
    if (!found || l.ok_rps > e.instance_rps) {
      e.instance_rps = l.ok_rps;
      e.instance_level = i;
    }
    if (!found || loadOf(l) < loadOf(levels[e.service_level])) {
      e.service_level = i;
    }
    found = true;
  }
  if (!found) {
    return invalidArgument("no load level is stable with under 1% errors (" +
                           std::to_string(levels.size()) +
                           " levels); measure again with a longer duration or lower load");
  }
  e.service_time_s = levels[e.service_level].mean_latency_s;
  e.slots = std::max<int64_t>(1, std::llround(e.instance_rps * e.service_time_s));
  return e;
}

}  // namespace surge::planner
