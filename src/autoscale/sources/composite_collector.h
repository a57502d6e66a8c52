// CompositeCollector: one MetricsCollector over several sources — External metrics go to the
// KEDA scaler (when there is one), everything else (Resource, ContainerResource, Pods, Object) to
// the scrape collector. Each source gets the spec restricted to its metrics; the snapshots are
// merged. Without a KEDA scaler, External metrics go to the scrape collector too (which marks
// them failed with the reason).
// Thread-safety: one collect() at a time (the sources' contract).
#pragma once

#include <memory>
#include <vector>

#include "autoscale/metrics_collector.h"

namespace surge::autoscale {

class CompositeCollector : public MetricsCollector {
 public:
  // `pods_source`: required (normally a ScrapeCollector); `external_source`: may be null
  // (normally a KedaScaler, which the caller may keep a pointer to for decide()).
  CompositeCollector(std::shared_ptr<MetricsCollector> pods_source,
                     std::shared_ptr<MetricsCollector> external_source);
  MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                          TimePoint now) override;

 private:
  std::shared_ptr<MetricsCollector> pods_;
  std::shared_ptr<MetricsCollector> external_;
};

}  // namespace surge::autoscale
