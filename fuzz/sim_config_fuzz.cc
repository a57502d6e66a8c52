// Fuzzes sim.yaml: YAML → config::Node → parseSimConfig (traffic components, service
// distributions incl. percentiles, replicas incl. a cold-start list, gateway, SLO, output) and the
// autoscaler block (makeSimAutoscaler: the policy, sync phase, sim-only keys). Property: an error
// or a config, never a crash, hang or huge allocation. Trace files are not read from the corpus.
#include <cstdint>
#include <string_view>

#include "config/node.h"
#include "sim/autoscaler.h"
#include "sim/sim_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find("trace") != std::string_view::npos) return 0;  // would open files
  auto node = surge::config::Node::loadString(text, "sim.yaml");
  if (!node.isOk()) return 0;
  auto config = surge::sim::parseSimConfig(*node);
  if (!config.isOk() || !config->autoscaler.enabled) return 0;
  surge::sim::RateCurve curve = surge::sim::makeRateCurve(*config);
  (void)surge::sim::makeSimAutoscaler(*config, curve);
  return 0;
}
