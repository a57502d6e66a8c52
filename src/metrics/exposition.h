// Exposition: the pieces of the Prometheus text format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats) that the registry writes:
//   # HELP <name> <help, escaped \\ and \n>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, escaped \\ \" \n>",...} <value>
// Values: integral values up to 2^63 are written without exponent ("1000000"), others in the
// shortest round-trip form ("0.005", "1e-05"), and +Inf, -Inf, NaN as Prometheus spells them.
// Complexity O(output). Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace surge::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool validMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself).
bool validLabelName(std::string_view name);

void appendValue(std::string& out, double v);
std::string formatValue(double v);
void appendEscapedLabelValue(std::string& out, std::string_view v);
void appendEscapedHelp(std::string& out, std::string_view help);

// Appends `{n1="v1",n2="v2"}` (nothing when there are no labels); `le`, when non-empty, is added as
// the last label (histogram buckets). names.size() == values.size().
void appendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le = {});

}  // namespace surge::metrics
