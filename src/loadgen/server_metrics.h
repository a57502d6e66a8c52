// Reads what `surge load` wants from a model server's /metrics page: the surge_serve_batch_size
// histogram's running sum and count (summed over models), so the average batch size over a load
// level is (sum1 - sum0) / (count1 - count0). Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace surge::loadgen {

struct BatchTotals {
  double sum = 0;
  double count = 0;
};

// Null when the page does not parse or has no surge_serve_batch_size histogram.
std::optional<BatchTotals> batchTotals(std::string_view metrics_page);
// Average rows per batch between two scrapes; null when either is missing or no batch ran.
std::optional<double> averageBatch(const std::optional<BatchTotals>& before,
                                   const std::optional<BatchTotals>& after);

}  // namespace surge::loadgen
