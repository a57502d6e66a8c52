// sim/report: what `surge sim` writes — the summary table (one column per configuration), the
// summary as JSON (schema surge.sim/v1), the per-interval CSV time series, and a self-contained
// SVG chart (no dependencies) with panels over time: traffic, replicas, the SLO percentile
// latency against its target (minutes over the SLO shaded; the axis capped at 4× the target,
// values above it marked on the edge and the peak labelled), one strip per configuration of its
// SLO-violation minutes, and rejected requests/s. Each configuration has its own colour and dash
// pattern; the legend gives its rejected requests and SLO-violation minutes. Elements carry
// classes (run-N, latency, rejections, clip-marker, slo-violation) for tests and styling.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "sim/simulator.h"

namespace surge::sim {

std::string formatSummaryTable(const std::vector<SimSummary>& runs);
std::string summaryJson(const std::vector<SimSummary>& runs, uint64_t seed);
std::string seriesCsv(const std::vector<IntervalRow>& series);
// `names` and `runs` are parallel; the traffic panel uses the first run's rates.
std::string chartSvg(const std::vector<std::string>& names,
                     const std::vector<const std::vector<IntervalRow>*>& runs,
                     double slo_target_ms, const std::string& slo_label);

}  // namespace surge::sim
