#include "sim/autoscaler.h"

namespace surge::sim {

StatusOr<std::unique_ptr<Scaler>> makeScaler(const SimConfig& config) {
  if (!config.autoscaler.enabled) return std::unique_ptr<Scaler>();
  return config.autoscaler.node.error("the simulated autoscaler is not available in this build");
}

}  // namespace surge::sim
