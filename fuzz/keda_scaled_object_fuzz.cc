// Fuzzes KEDA ScaledObject parsing and its translation into the HPA KEDA would generate.
#include <cstdint>
#include <string_view>

#include "autoscale/keda.h"
#include "config/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto node = surge::config::Node::loadString(text, "scaledobject.yaml");
  if (!node.isOk()) return 0;
  auto so = surge::autoscale::parseScaledObject(*node);
  if (so.isOk()) (void)surge::autoscale::kedaHpaSpec(*so);
  return 0;
}
