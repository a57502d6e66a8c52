#include "autoscale/sources/composite_collector.h"

#include <utility>

#include "common/status.h"

namespace surge::autoscale {
namespace {

void merge(MetricsSnapshot& into, MetricsSnapshot&& from) {
  for (auto& [k, v] : from.pod_metrics) into.pod_metrics[k] = std::move(v);
  for (auto& [k, v] : from.object_metrics) into.object_metrics[k] = v;
  for (auto& [k, v] : from.external_metrics) into.external_metrics[k] = std::move(v);
  for (auto& [k, v] : from.failed) into.failed[k] = std::move(v);
}

}  // namespace

CompositeCollector::CompositeCollector(std::shared_ptr<MetricsCollector> pods_source,
                                       std::shared_ptr<MetricsCollector> external_source)
    : pods_(std::move(pods_source)), external_(std::move(external_source)) {
  SURGE_CHECK(pods_ != nullptr);
}

MetricsSnapshot CompositeCollector::collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                                            TimePoint now) {
  HpaSpec local = spec, external = spec;
  local.metrics.clear();
  external.metrics.clear();
  for (const auto& m : spec.metrics) {
    (m.type == MetricSourceType::kExternal && external_ ? external : local).metrics.push_back(m);
  }
  MetricsSnapshot out;
  if (!local.metrics.empty()) merge(out, pods_->collect(local, pods, now));
  if (external_ && !external.metrics.empty()) merge(out, external_->collect(external, pods, now));
  return out;
}

}  // namespace surge::autoscale
