// least_latency: peak-EWMA load (Finagle PeakEwma, Linkerd, tower `peak_ewma`): each host's
// cost = latency estimate x (in_flight + 1), where the estimate is the host's PeakEwma (fed by the
// gateway with time to first byte) or options.default_rtt when it has no sample yet (Linkerd: 30 ms;
// never 0, so a new host is not flooded); the estimate decays toward 0 with idle time (Finagle),
// so a host that was slow once is tried again. Picks the cheaper of two distinct random hosts (one host:
// that host). With unequal effective weights the cost is divided by the weight, so slow start and
// configured weights still shift load. Ties keep the first draw.
// Complexity: pick O(1) (two estimate reads, each a short spinlock); update O(n).
// Thread-safety: none; one instance per worker.
#pragma once

#include <memory>
#include <vector>

#include "lb/balancer.h"
#include "lb/sampling.h"

namespace surge::lb {

class LeastLatencyBalancer final : public Balancer {
 public:
  LeastLatencyBalancer(const BalancerOptions& options, Random* random);
  void update(std::shared_ptr<const HostSet> hosts) override;
  Host* pick(const PickContext& ctx) override;

  // The cost the balancer compares (lower wins); public for tests and the admin API.
  // The estimate decays toward 0 while the host gets no samples (PeakEwma::decayedEstimateNanos).
  double cost(const Host& host, uint32_t weight, TimePoint now) const;

 private:
  RandomSource random_;
  Duration default_rtt_;
  Duration tau_;
  std::shared_ptr<const HostSet> set_;
  std::vector<uint32_t> weights_;
  bool equal_ = true;
};

}  // namespace surge::lb
