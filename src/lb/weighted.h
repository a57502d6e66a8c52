// weighted: nginx smooth weighted round robin (ngx_http_upstream_get_peer). Every pick adds each
// host's effective weight to its current weight, picks the largest current (first in address
// order on ties) and subtracts the total from it: weights {5,1,1} give a a b a c a a, and every
// host's picks stay within one of its exact share at every point of the sequence.
// A host keeps its current weight across update() while it stays in the set (matched by address);
// new hosts start at 0. Excluded hosts (retries) sit the round out as nginx skips `tried` peers.
//
// Implementation: current_i = base_i + step x weight_i, so only the picked host changes per pick.
// Hosts of equal weight keep their relative order, so each weight class is kept sorted (best
// first: larger base, then smaller index) in a rotating ring; a pick compares the fronts of the
// classes, lowers the winner's base by the total and rotates it to the back of its class, where it
// nearly always belongs (it moves forward otherwise). O(k) per pick for k distinct weights (k = 1
// for equal weights) instead of nginx's O(n) scan; exclusions take nginx's O(n) path.
// Complexity: pick O(k) typical; update O(n log n). Thread-safety: none; one instance per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class WeightedBalancer final : public Balancer {
 public:
  WeightedBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

  // nginx's current_weight of set.hosts[i] (for tests and the admin API).
  int64_t currentWeight(size_t i) const { return base_[i] + step_ * weight_[i]; }

 private:
  // Hosts of one weight, sorted best first, starting at ring[head] and wrapping around.
  struct WeightClass {
    int64_t weight;
    std::vector<uint32_t> ring;
    size_t head = 0;
  };
  bool better(uint32_t a, uint32_t b) const {
    return base_[a] != base_[b] ? base_[a] > base_[b] : a < b;
  }
  // Moves the front of `c` (whose base just dropped) to its sorted place from the back.
  void rotateFront(WeightClass& c);
  // Re-sorts `c` after arbitrary base changes (insertion sort: the order is nearly right).
  void resort(WeightClass& c);
  void rebase();
  size_t pickExcluding(ExcludeList exclude);

  std::shared_ptr<const HostSet> set_;
  uint32_t weight_scale_ = 1;
  std::vector<int64_t> weight_;
  std::vector<int64_t> base_;
  std::vector<WeightClass> classes_;
  int64_t step_ = 0;
  int64_t total_ = 0;
};

}  // namespace surge::lb
