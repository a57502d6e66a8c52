// round_robin: cycles over the hosts of the set in address order, ignoring weights (use
// `weighted` for weighted round robin). Starts at a random host (Envoy randomizes the start so that
// workers and gateways do not march in lockstep). When the set changes, continues right after the
// last-picked host, located by address, so a host leaving or returning makes no other host skip a
// turn or repeat one. Source: HAProxy `roundrobin`, Envoy ROUND_ROBIN (equal weights).
// Complexity: pick O(1) (O(n) when excluded hosts must be stepped over); update O(n).
// Thread-safety: none; one instance per worker.
#pragma once

#include <memory>
#include <string>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class RoundRobinBalancer final : public Balancer {
 public:
  RoundRobinBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

 private:
  RandomSource random_;
  std::shared_ptr<const HostSet> set_;
  size_t next_ = 0;
  // Index in set_ of the last pick, or npos; its address survives set changes in last_address_.
  size_t last_index_ = std::string::npos;
  std::string last_address_;
  bool has_last_ = false;
};

}  // namespace surge::lb
