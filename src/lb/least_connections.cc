#include "lb/least_connections.h"

#include <string>

namespace surge::lb {

LeastConnectionsBalancer::LeastConnectionsBalancer(const BalancerOptions& options, Random* random)
    : random_(random), full_scan_max_hosts_(options.full_scan_max_hosts) {}

void LeastConnectionsBalancer::update(std::shared_ptr<const HostSet> hosts) {
  set_ = std::move(hosts);
  weights_ = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  equal_ = allEqual(weights_);
}

size_t LeastConnectionsBalancer::scan(ExcludeList exclude, bool honor_exclude) {
  size_t best = std::string::npos;
  uint64_t best_load = 0;
  uint64_t ties = 0;
  for (size_t i = 0; i < set_->size(); ++i) {
    const Host* h = set_->hosts[i].get();
    if (honor_exclude && isExcluded(h, exclude)) continue;
    const uint64_t load = activeRequests(*h);
    int cmp = 1;
    if (best != std::string::npos) {
      cmp = equal_ ? (load < best_load ? 1 : (load > best_load ? -1 : 0))
                   : compareLeastRequest(load, weights_[i], best_load, weights_[best]);
    }
    if (cmp > 0) {
      best = i;
      best_load = load;
      ties = 1;
    } else if (cmp == 0 && random_.get().uniform(++ties) == 0) {
      best = i;  // reservoir sampling: each of the `ties` equal hosts kept with probability 1/ties
      best_load = load;
    }
  }
  return best;
}

Host* LeastConnectionsBalancer::pick(const PickContext& ctx) {
  const size_t n = set_ ? set_->size() : 0;
  if (n == 0) return nullptr;
  if (n == 1) return set_->hosts[0].get();
  if (n > full_scan_max_hosts_) {
    return set_->hosts[twoChoicesLeastRequest(*set_, weights_, equal_, ctx.exclude, random_.get())]
        .get();
  }
  size_t i = scan(ctx.exclude, true);
  if (i == std::string::npos) i = scan(ctx.exclude, false);
  return set_->hosts[i].get();
}

}  // namespace surge::lb
