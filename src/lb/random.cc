#include "lb/random.h"

#include <algorithm>

namespace surge::lb {

RandomBalancer::RandomBalancer(const BalancerOptions& /*options*/, Random* random)
    : random_(random) {}

void RandomBalancer::update(std::shared_ptr<const HostSet> hosts) {
  set_ = std::move(hosts);
  weights_ = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  equal_ = allEqual(weights_);
  prefix_.resize(weights_.size());
  uint64_t sum = 0;
  for (size_t i = 0; i < weights_.size(); ++i) prefix_[i] = sum += weights_[i];
}

size_t RandomBalancer::draw() {
  if (equal_) return random_.get().uniform(prefix_.size());
  const uint64_t r = random_.get().uniform(prefix_.back());
  return std::upper_bound(prefix_.begin(), prefix_.end(), r) - prefix_.begin();
}

size_t RandomBalancer::drawAllowed(ExcludeList exclude) {
  for (int t = 0; t < 8; ++t) {
    const size_t i = draw();
    if (!isExcluded(set_->hosts[i].get(), exclude)) return i;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < set_->size(); ++i) {
    if (!isExcluded(set_->hosts[i].get(), exclude)) total += weights_[i];
  }
  if (total == 0) return draw();  // everything excluded: any host will do
  uint64_t r = random_.get().uniform(total);
  for (size_t i = 0; i < set_->size(); ++i) {
    if (isExcluded(set_->hosts[i].get(), exclude)) continue;
    if (r < weights_[i]) return i;
    r -= weights_[i];
  }
  return 0;  // unreachable
}

Host* RandomBalancer::pick(const PickContext& ctx) {
  if (!set_ || set_->empty()) return nullptr;
  const size_t i = ctx.exclude.empty() ? draw() : drawAllowed(ctx.exclude);
  return set_->hosts[i].get();
}

}  // namespace surge::lb
