#include "lb/least_latency.h"

#include <algorithm>
#include <cmath>

namespace surge::lb {

LeastLatencyBalancer::LeastLatencyBalancer(const BalancerOptions& options, Random* random)
    : random_(random), default_rtt_(options.default_rtt), tau_(options.ewma_tau) {}

void LeastLatencyBalancer::update(std::shared_ptr<const HostSet> hosts) {
  set_ = std::move(hosts);
  weights_ = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  equal_ = allEqual(weights_);
}

double LeastLatencyBalancer::cost(const Host& host, uint32_t weight, TimePoint now) const {
  // A 0 ns sample must not make a host look free whatever its queue: floor the estimate at 1 ns.
  double estimate;
  if (host.latency().hasSamples()) {
    estimate = host.latency().decayedEstimateNanos(default_rtt_, now, tau_);
  } else {
    // No sample yet: the default RTT, as a pseudo-sample taken when the host became healthy, that
    // decays like any other. A pessimistic default (30 ms against 1 ms replicas) then delays a new
    // host's first request by tau x ln(default / others) under light load instead of for ever.
    estimate = static_cast<double>(default_rtt_.count());
    const TimePoint since = host.healthySince();
    if (since.time_since_epoch().count() != 0 && now > since && tau_.count() > 0) {
      estimate *=
          std::exp(-static_cast<double>((now - since).count()) / static_cast<double>(tau_.count()));
    }
  }
  estimate = std::max(1.0, estimate);
  const double c = estimate * static_cast<double>(activeRequests(host) + 1);
  return equal_ ? c : c / static_cast<double>(std::max<uint32_t>(weight, 1));
}

Host* LeastLatencyBalancer::pick(const PickContext& ctx) {
  if (!set_ || set_->empty()) return nullptr;
  const IndexPair p = sampleTwoAllowed(*set_, ctx.exclude, random_.get());
  if (p.first == p.second) return set_->hosts[p.first].get();
  const double a = cost(*set_->hosts[p.first], weights_[p.first], ctx.now);
  const double b = cost(*set_->hosts[p.second], weights_[p.second], ctx.now);
  return set_->hosts[b < a ? p.second : p.first].get();
}

}  // namespace surge::lb
