// Text parser: reads a Prometheus text-format 0.0.4 page (what Registry::render and any
// Prometheus client write) back into samples, for consumers of /metrics such as the autoscaler's
// MetricsSource and integration tests. Plus the aggregations they need: sum over series and
// histogram_quantile (Prometheus' linear interpolation within the bucket holding the rank).
// Accepts: "# HELP"/"# TYPE" lines (kept), other comments and blank lines (skipped), label sets
// with escapes (\\ \" \n) and an optional trailing comma, values incl. +Inf/-Inf/NaN, an optional
// integer timestamp. Errors: InvalidArgument "line 7: expected '=' after label name 'code'".
// Complexity O(page size). Thread-safety: pure functions; ParsedPage is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace surge::metrics {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;  // in page order

struct ParsedSample {
  std::string name;  // series name as written ("x_bucket", "y_total")
  LabelPairs labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;

  // The value of label `name`, or null.
  const std::string* label(std::string_view name) const;
  // True when every (name, value) in `filter` is among labels.
  bool matches(const LabelPairs& filter) const;
};

struct ParsedPage {
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string> types;  // family name → "counter", "gauge", ...
  std::map<std::string, std::string> help;   // family name → unescaped help

  // Samples named `name` whose labels include `filter`.
  std::vector<const ParsedSample*> find(std::string_view name, const LabelPairs& filter = {}) const;
  // The first such sample's value, or null when there is none.
  std::optional<double> value(std::string_view name, const LabelPairs& filter = {}) const;
  // Sum over all such samples (0 when there is none) — e.g. total requests over all backends.
  double sum(std::string_view name, const LabelPairs& filter = {}) const;
  // histogram_quantile(q) over the histogram family `name` (its name_bucket series, summed per
  // `le` across the series matching `filter`). Null when there are no observations.
  std::optional<double> quantile(double q, std::string_view name,
                                 const LabelPairs& filter = {}) const;
};

StatusOr<ParsedPage> parseText(std::string_view page);

// Prometheus histogram_quantile on cumulative buckets (upper bound, cumulative count), sorted by
// bound, last bound +Inf. q in [0, 1]. The lowest bucket interpolates from 0 (if its bound is
// positive); a rank in the +Inf bucket returns the highest finite bound; q < 0 gives -Inf and
// q > 1 +Inf (as Prometheus). Null when the total is 0, or with fewer than two buckets or no +Inf.
std::optional<double> histogramQuantile(double q,
                                        const std::vector<std::pair<double, double>>& buckets);

}  // namespace surge::metrics
