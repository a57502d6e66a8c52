// Pass/fail thresholds of `surge load` (like k6's): --max-error-rate and --max-p99, checked
// against every measured level once the run ends (or is interrupted). A level fails a threshold
// when its measured value is above the limit, or when it has nothing to measure (no request
// answered): a gate must not pass on no data. The error rate counts open-loop drops (sends
// unanswered when the drain timed out) as failures: (errors + dropped) / (requests + dropped).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "loadgen/stats.h"

namespace surge::loadgen {

// "0.01" (a fraction 0..1) or "1%" / "0.5%" (a percentage 0..100%) → the fraction.
// InvalidArgument naming what was found otherwise (a value above 1 without '%' is refused: "5"
// would be ambiguous between 5% and 500%).
StatusOr<double> parseErrorRate(std::string_view text);

struct Thresholds {
  std::optional<double> max_error_rate;  // fraction
  std::string max_error_rate_text;       // as the user wrote it, for the messages
  std::optional<double> max_p99_s;
  std::string max_p99_text;
  bool any() const { return max_error_rate.has_value() || max_p99_s.has_value(); }
};

struct ThresholdResult {
  std::string name;     // "max-error-rate" | "max-p99"
  std::string level;    // "closed c=4" (also a sweep level), "open"
  double limit = 0;     // fraction | seconds
  double measured = 0;  // fraction | seconds (0 when nothing was measured)
  bool measured_any = true;
  bool ok = true;
  std::string message;  // "max-error-rate 1%: ok, measured 0.00% (0 of 1234 failed)"
};

// The error rate of a level as the threshold sees it.
double errorRate(const LevelResult& level);

// One result per threshold and level, in level order.
std::vector<ThresholdResult> evaluateThresholds(const Thresholds& t,
                                                const std::vector<LevelResult>& levels);

}  // namespace surge::loadgen
