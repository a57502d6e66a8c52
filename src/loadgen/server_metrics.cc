#include "loadgen/server_metrics.h"

#include "metrics/text_parser.h"

namespace surge::loadgen {

std::optional<BatchTotals> batchTotals(std::string_view metrics_page) {
  auto page = metrics::parseText(metrics_page);
  if (!page.isOk()) return std::nullopt;
  if (page->find("surge_serve_batch_size_count").empty()) return std::nullopt;
  return BatchTotals{page->sum("surge_serve_batch_size_sum"),
                     page->sum("surge_serve_batch_size_count")};
}

std::optional<double> averageBatch(const std::optional<BatchTotals>& before,
                                   const std::optional<BatchTotals>& after) {
  if (!before || !after) return std::nullopt;
  double batches = after->count - before->count;
  if (batches <= 0) return std::nullopt;
  return (after->sum - before->sum) / batches;
}

}  // namespace surge::loadgen
