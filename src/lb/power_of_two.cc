#include "lb/power_of_two.h"

namespace surge::lb {

PowerOfTwoBalancer::PowerOfTwoBalancer(const BalancerOptions& /*options*/, Random* random)
    : random_(random) {}

void PowerOfTwoBalancer::update(std::shared_ptr<const HostSet> hosts) {
  set_ = std::move(hosts);
  weights_ = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  equal_ = allEqual(weights_);
}

Host* PowerOfTwoBalancer::pick(const PickContext& ctx) {
  if (!set_ || set_->empty()) return nullptr;
  return set_->hosts[twoChoicesLeastRequest(*set_, weights_, equal_, ctx.exclude, random_.get())]
      .get();
}

}  // namespace surge::lb
