// random: weighted random choice, each host with probability weight / total (Envoy RANDOM,
// HAProxy `random(1)`). Prefix sums of the weights and a binary search over them (uniform index
// when all weights are equal). Exclusions by rejection, then an exact draw over the allowed hosts.
// Complexity: pick O(log n) (O(1) equal weights); update O(n). Thread-safety: none; per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class RandomBalancer final : public Balancer {
 public:
  RandomBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

 private:
  size_t draw();
  size_t drawAllowed(ExcludeList exclude);

  RandomSource random_;
  std::shared_ptr<const HostSet> set_;
  std::vector<uint32_t> weights_;
  std::vector<uint64_t> prefix_;  // prefix_[i] = weights_[0] + ... + weights_[i]
  bool equal_ = true;
};

}  // namespace surge::lb
