// Fuzzes gateway.yaml: YAML → config::Node → parseGatewayConfig → validateGatewayConfig, and the
// --upstreams list parser. Property: an error or a config, never a crash, hang or huge allocation.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/node.h"
#include "gateway/gateway_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto node = surge::config::Node::loadString(text, "gateway.yaml");
  if (node.isOk()) {
    auto config = surge::gateway::parseGatewayConfig(*node);
    if (config.isOk()) (void)surge::gateway::validateGatewayConfig(*config);
  }
  if (size < 512) (void)surge::gateway::parseBackendList(std::string(text));
  return 0;
}
