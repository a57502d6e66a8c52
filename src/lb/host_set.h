// HostSet: an immutable snapshot of the hosts a balancer may pick from, with effective weights.
// Built by buildHostSet() whenever membership, health, weights or slow-start ramps change, and
// shared by all workers through shared_ptr<const HostSet> (swap on change).
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "lb/host.h"

namespace surge::lb {

// Resolution of effective weights while some host in the set ramps up (slow start): weights are
// then expressed in 1/kRampWeightScale of a configured weight so that even a weight-1 host can
// ramp from 10% to 100% (HAProxy scales its weights by 16 internally for the same reason).
inline constexpr uint32_t kRampWeightScale = 1000;

struct HostSet {
  // Hosts sorted by address: the order is the same whatever order hosts were added in.
  std::vector<HostPtr> hosts;
  // Effective weight of hosts[i] (configured weight x slow-start factor), >= 1, in units of
  // 1/weight_scale of a configured weight. Balancers use only ratios of weights (the ring also
  // divides by weight_scale to count its points per unit of configured weight).
  std::vector<uint32_t> weights;
  // 1 when no host ramps (weights == configured weights); kRampWeightScale while one does.
  uint32_t weight_scale = 1;
  bool equal_weights = true;
  // True when fewer hosts than the panic threshold were eligible and the set holds all hosts.
  bool panic = false;
  // True when zone-aware routing kept only hosts of the local zone.
  bool local_zone_only = false;
  uint64_t version = 0;

  size_t size() const { return hosts.size(); }
  bool empty() const { return hosts.empty(); }
};

struct HostSetOptions {
  // Envoy's healthy panic threshold, percent: when fewer than this share of (non-draining) hosts
  // are eligible, balance over all non-draining hosts. 0 disables panic mode.
  double panic_threshold_percent = 50;
  // Slow start: a host that became healthy ramps its weight linearly from
  // slow_start_min_weight_percent to 100% over slow_start (0 = off).
  Duration slow_start{0};
  double slow_start_min_weight_percent = 10;
  // Zone awareness: keep traffic in local_zone while it has at least
  // zone_min_healthy_percent of its hosts eligible (and at least one).
  bool zone_aware = false;
  std::string local_zone;
  double zone_min_healthy_percent = 70;
};

// Builds the snapshot from all known hosts at time `now` (pure: reads the hosts' flags only).
// Draining hosts are never included, not even in panic mode.
std::shared_ptr<const HostSet> buildHostSet(const std::vector<HostPtr>& all,
                                            const HostSetOptions& options, TimePoint now,
                                            uint64_t version);

// True while some host in `all` is inside its slow-start window at `now` (the owner then rebuilds
// the snapshot periodically so the ramp advances). Rebuild once more after it turns false: the
// last snapshot built inside the window still holds a weight slightly below 100%.
bool anyHostRamping(const std::vector<HostPtr>& all, const HostSetOptions& options, TimePoint now);

}  // namespace surge::lb
