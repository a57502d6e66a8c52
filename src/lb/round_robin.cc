#include "lb/round_robin.h"

namespace surge::lb {

RoundRobinBalancer::RoundRobinBalancer(const BalancerOptions& /*options*/, Random* random)
    : random_(random) {}

void RoundRobinBalancer::update(std::shared_ptr<const HostSet> hosts) {
  if (set_ && last_index_ < set_->size()) {
    last_address_ = set_->hosts[last_index_]->address();
    has_last_ = true;
  }
  set_ = std::move(hosts);
  last_index_ = std::string::npos;
  const size_t n = set_ ? set_->size() : 0;
  if (n == 0) {
    next_ = 0;
    return;
  }
  if (!has_last_) {
    next_ = random_.get().uniform(n);
    return;
  }
  // Resume after the last-picked address: the host itself when it is still there, else the one
  // that would have followed it (hosts are sorted by address).
  next_ = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& a = set_->hosts[i]->address();
    if (a == last_address_) {
      last_index_ = i;
      next_ = i + 1 == n ? 0 : i + 1;
      break;
    }
    if (a > last_address_) {
      next_ = i;
      break;
    }
  }
}

Host* RoundRobinBalancer::pick(const PickContext& ctx) {
  const size_t n = set_ ? set_->size() : 0;
  if (n == 0) return nullptr;
  size_t i = next_;
  if (!ctx.exclude.empty()) {
    for (size_t k = 0; k < n; ++k) {
      const size_t j = (next_ + k) % n;
      if (!isExcluded(set_->hosts[j].get(), ctx.exclude)) {
        i = j;
        break;
      }
    }
  }
  last_index_ = i;
  next_ = i + 1 == n ? 0 : i + 1;
  return set_->hosts[i].get();
}

}  // namespace surge::lb
