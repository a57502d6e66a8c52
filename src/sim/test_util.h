// Test helpers for sim/: a SimConfig from inline YAML.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/node.h"
#include "sim/sim_config.h"

namespace surge::sim::testing {

inline SimConfig configFromYaml(const std::string& yaml) {
  auto node = config::Node::loadString(yaml, "sim.yaml");
  EXPECT_TRUE(node.isOk()) << node.status().message();
  auto c = parseSimConfig(*node);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return c.isOk() ? *c : SimConfig{};
}

inline std::string configError(const std::string& yaml) {
  auto node = config::Node::loadString(yaml, "sim.yaml");
  if (!node.isOk()) return node.status().message();
  auto c = parseSimConfig(*node);
  return c.isOk() ? "" : c.status().message();
}

}  // namespace surge::sim::testing
