// The one allowlist of promtool lint deviations: metric names another system fixed — NVIDIA
// Triton's, which Triton dashboards, alerts and KEDA/HPA queries use verbatim — and exactly the
// `promtool check metrics` lint messages each of them is allowed to cause. Everything else on a
// surge /metrics page must pass promtool without a message (docs/design/serving-metrics.md).
//   - Registry (registry.h) lets a counter go without the _total suffix only when its name is
//     allowed kLintTotalSuffix here.
//   - The tests that run promtool over /metrics pages accept promtool's exit status 3 (lint
//     problems only) when disallowedLint() returns nothing.
// Header-only, so the process tests under tests/ can use it without linking surge_metrics.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace surge::metrics {

// promtool's lint messages (github.com/prometheus/client_golang, testutil/promlint), verbatim.
inline constexpr std::string_view kLintTotalSuffix =
    "counter metrics should have \"_total\" suffix";
inline constexpr std::string_view kLintCountSuffix =
    "non-histogram and non-summary metrics should not have \"_count\" suffix";
inline constexpr std::string_view kLintAbbreviatedUnits =
    "metric names should not contain abbreviated units";

struct LintAllowance {
  std::string_view name;
  std::array<std::string_view, 2> messages;  // unused slots are empty
};

// Triton's names (triton-inference-server/core src/metrics.cc), each with what it breaks.
inline constexpr std::array<LintAllowance, 14> kLintAllowlist = {{
    {"nv_inference_request_success", {kLintTotalSuffix, {}}},
    {"nv_inference_request_failure", {kLintTotalSuffix, {}}},
    {"nv_inference_count", {kLintTotalSuffix, kLintCountSuffix}},
    {"nv_inference_exec_count", {kLintTotalSuffix, kLintCountSuffix}},
    {"nv_inference_request_duration_us", {kLintTotalSuffix, kLintAbbreviatedUnits}},
    {"nv_inference_queue_duration_us", {kLintTotalSuffix, kLintAbbreviatedUnits}},
    {"nv_inference_compute_input_duration_us", {kLintTotalSuffix, kLintAbbreviatedUnits}},
    {"nv_inference_compute_infer_duration_us", {kLintTotalSuffix, kLintAbbreviatedUnits}},
    {"nv_inference_compute_output_duration_us", {kLintTotalSuffix, kLintAbbreviatedUnits}},
    {"nv_inference_pending_request_count", {kLintCountSuffix, {}}},
    {"nv_cache_num_hits_per_model", {kLintTotalSuffix, {}}},
    {"nv_cache_num_misses_per_model", {kLintTotalSuffix, {}}},
    {"nv_cache_hit_duration_per_model", {kLintTotalSuffix, {}}},
    {"nv_cache_miss_duration_per_model", {kLintTotalSuffix, {}}},
}};

// True when `name` may cause the lint message `message`.
inline bool lintAllowed(std::string_view name, std::string_view message) {
  if (message.empty()) return false;
  for (const auto& a : kLintAllowlist) {
    if (a.name != name) continue;
    for (std::string_view m : a.messages) {
      if (m == message) return true;
    }
  }
  return false;
}

// The lines of `promtool check metrics` output (lint lines are "<metric name> <message>") that
// the allowlist does not cover; empty when every problem promtool reported is an allowed one.
inline std::vector<std::string> disallowedLint(std::string_view output) {
  std::vector<std::string> bad;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view line = output.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos ||
        !lintAllowed(line.substr(0, space), line.substr(space + 1))) {
      bad.emplace_back(line);
    }
  }
  return bad;
}

}  // namespace surge::metrics
