// sim/report: what `surge sim` writes — the summary table (one column per configuration), the
// summary as JSON (schema surge.sim/v1), the per-interval CSV time series, and a self-contained
// SVG chart (no dependencies) with three panels over time: traffic, replicas, and the SLO
// percentile latency against its target, one coloured line per configuration.
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
