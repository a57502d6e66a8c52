// ScaleTarget: what the autoscaler scales — the scale subresource plus the pods behind it. The
// local actuator (local_actuator.h) runs `surge serve` processes; the Kubernetes one (later)
// talks to the API server. The controller reads, decides, writes; it never assumes a write took
// effect at once (replicas become ready later).
// Thread-safety: implementations are called from the controller's thread only, unless stated.
#pragma once

#include <vector>

#include "autoscale/hpa/types.h"
#include "common/status.h"

namespace surge::autoscale {

class ScaleTarget {
 public:
  virtual ~ScaleTarget() = default;
  virtual StatusOr<ScaleState> getScale() = 0;
  virtual Status setScale(int32_t replicas) = 0;
  virtual StatusOr<std::vector<PodInfo>> listPods() = 0;
};

}  // namespace surge::autoscale
