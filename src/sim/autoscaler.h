// sim/autoscaler: builds the Scaler a simulation's `autoscaler:` block describes — surge's HPA
// core (autoscale/hpa runSync, unchanged) fed with metrics as the real controller scrapes them,
// plus predictive scaling and panic mode. See docs/design/simulation.md.
// Thread-safety: a Scaler belongs to one simulation.
#pragma once

#include <memory>

#include "common/status.h"
#include "sim/sim_config.h"
#include "sim/simulator.h"

namespace surge::sim {

// nullptr when the config has no autoscaler. InvalidArgument (file:line:col) for a bad block.
StatusOr<std::unique_ptr<Scaler>> makeScaler(const SimConfig& config);

}  // namespace surge::sim
