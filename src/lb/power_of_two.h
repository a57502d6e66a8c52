// power_of_two: least request over two DISTINCT random choices ("The Power of Two Random
// Choices", Mitzenmacher 2001): max load ln ln n / ln 2 + O(1) against ln n / ln ln n for one
// random choice, with no scan and no herding. Weighted as Envoy: weight / (in_flight + 1), highest
// wins; a tie keeps the first draw. Envoy LEAST_REQUEST draws with replacement (then with two hosts
// it picks the busier one 25% of the time); surge draws distinct hosts like Ray Serve and Knative.
// Complexity: pick O(1); update O(n). Thread-safety: none; one instance per worker.
#pragma once

#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class PowerOfTwoBalancer final : public Balancer {
 public:
  PowerOfTwoBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

 private:
  RandomSource random_;
  std::shared_ptr<const HostSet> set_;
  std::vector<uint32_t> weights_;
  bool equal_ = true;
};

}  // namespace surge::lb
