// Open-loop request schedules for `surge load`: a rate profile (constant, steps, ramp, or a CSV
// trace of timestamp,rps) as piecewise-linear rate segments, and the deterministic arrival times
// it implies — the k-th request is due when the integral of the rate reaches k (k = 0, 1, ...),
// so a constant 100/s for 1 s yields exactly 100 sends at 0, 10 ms, ... 990 ms. Sends are due at
// these intended times whatever the server does (no coordinated omission): the driver measures
// latency from them.
// Complexity: parsing O(spec size); next() O(1) amortised. Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace surge::loadgen {

// "10s", "500ms", "2.5s", "1m", "100us" → Duration. InvalidArgument otherwise.
StatusOr<Duration> parseDuration(std::string_view text);

// One segment: the rate goes linearly from rps_from to rps_to over `length`.
struct RateSegment {
  Duration length{0};
  double rps_from = 0;
  double rps_to = 0;
};

class RateProfile {
 public:
  RateProfile() = default;
  explicit RateProfile(std::vector<RateSegment> segments) : segments_(std::move(segments)) {}

  static RateProfile constant(double rps, Duration length);
  // "step:100,200,400@10s" (each rate held 10 s) or "ramp:100..1000@60s" (linear over 60 s).
  static StatusOr<RateProfile> parse(std::string_view spec);
  // CSV "timestamp,rps" rows (seconds from the start, ascending; a header row whose fields are
  // not numbers, blank lines and '#' comments are skipped). Each row's rate holds until the next
  // row's timestamp; the last row holds for `last_hold`. Errors name "file:line".
  static StatusOr<RateProfile> parseTrace(std::string_view text, std::string_view file_name,
                                          Duration last_hold = std::chrono::seconds(1));

  const std::vector<RateSegment>& segments() const { return segments_; }
  Duration totalLength() const;
  // Expected number of requests (the integral of the rate).
  double expectedRequests() const;
  double peakRps() const;

 private:
  std::vector<RateSegment> segments_;
};

// Walks a profile's arrival times in order.
class Schedule {
 public:
  explicit Schedule(RateProfile profile) : profile_(std::move(profile)) {}
  // The next intended send time (offset from the start), or nullopt when the profile is over.
  std::optional<Duration> next();

 private:
  RateProfile profile_;
  size_t segment_ = 0;
  double segment_start_count_ = 0;  // integral of the rate before the current segment
  Duration segment_start_{0};
  uint64_t k_ = 0;  // index of the next request
};

// All arrival times (for tests and small runs).
std::vector<Duration> arrivalTimes(const RateProfile& profile);

}  // namespace surge::loadgen
