// least_connections: the host with the fewest in-flight requests, counted across all workers
// (Host::inFlight()). Weighted as Envoy's least request: highest weight / (in_flight + 1) wins, so
// slow start applies here too (Envoy #19437). Up to options.full_scan_max_hosts hosts it scans them
// all and breaks ties uniformly at random (a deterministic first-index tie-break herds every
// worker onto the same host; Envoy reverted one, #29873); above that it takes the better of two
// distinct random choices. Source: HAProxy `leastconn`, Envoy LEAST_REQUEST, Mitzenmacher.
// Complexity: pick O(n) up to the scan limit, O(1) above; update O(n).
// Thread-safety: none; one instance per worker (the counters it reads are shared atomics).
#pragma once

#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class LeastConnectionsBalancer final : public Balancer {
 public:
  LeastConnectionsBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

 private:
  // Best index by full scan, ties at random; npos when every host is excluded and honor_exclude.
  size_t scan(ExcludeList exclude, bool honor_exclude);

  RandomSource random_;
  size_t full_scan_max_hosts_;
  std::shared_ptr<const HostSet> set_;
  std::vector<uint32_t> weights_;
  bool equal_ = true;
};

}  // namespace surge::lb
