// Fuzzes the HorizontalPodAutoscaler (autoscaling/v2) spec parser, its behavior parser and
// Kubernetes quantities ("250m", "1.5Gi", "2e3").
#include <cstdint>
#include <string_view>

#include "autoscale/hpa/hpa.h"
#include "config/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (size < 64) (void)surge::autoscale::parseQuantityMilli(text);
  auto node = surge::config::Node::loadString(text, "hpa.yaml");
  if (!node.isOk()) return 0;
  (void)surge::autoscale::parseHpaSpec(*node);
  (void)surge::autoscale::parseHpaBehavior((*node)["behavior"]);
  return 0;
}
