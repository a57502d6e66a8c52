// MetricsCollector (an interface of the core; adapters implement it): fetches, for one sync, every metric an HPA spec names (the Kubernetes metrics
// APIs' role: metrics.k8s.io, custom.metrics.k8s.io, external.metrics.k8s.io). Implementations in
// sources/: scraping replicas' and the gateway's /metrics, /proc for local CPU and memory,
// Prometheus queries for KEDA triggers. A fetch that fails lands in snapshot.failed with the
// reason; collect() itself never fails (the HPA core then holds replicas).
// Thread-safety: one sync at a time (the controller's thread).
#pragma once

#include <vector>

#include "autoscale/hpa/types.h"

namespace surge::autoscale {

class MetricsCollector {
 public:
  virtual ~MetricsCollector() = default;
  virtual MetricsSnapshot collect(const HpaSpec& spec, const std::vector<PodInfo>& pods,
                                  TimePoint now) = 0;
};

}  // namespace surge::autoscale
