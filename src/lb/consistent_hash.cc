#include "lb/consistent_hash.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/hash.h"

namespace surge::lb {
namespace {
constexpr uint64_t kStrideSalt = 0x9e3779b97f4a7c15ULL;
// Probes of the key's own slot sequence before the deterministic scan over hosts. When loads are
// bounded at least a (1 - 1/c) share of the hosts has room, so a few probes nearly always do.
constexpr int kMaxProbes = 64;
}  // namespace

ConsistentHashBalancer::ConsistentHashBalancer(const BalancerOptions& options, Random* random)
    : random_(random),
      use_ring_(options.hash_method == "ring"),
      maglev_table_size_(options.maglev_table_size),
      ring_vnodes_per_weight_(options.ring_vnodes_per_weight),
      balance_factor_(options.hash_balance_factor) {}

void ConsistentHashBalancer::update(std::shared_ptr<const HostSet> hosts) {
  set_ = std::move(hosts);
  weights_ = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  equal_ = allEqual(weights_);
  total_weight_ = 0;
  for (uint32_t w : weights_) total_weight_ += w;
  if (!set_ || set_->empty()) {
    maglev_ = MaglevTable();
    ring_ = HashRing();
    return;
  }
  if (use_ring_) {
    ring_.build(set_->hosts, weights_, set_->weight_scale, ring_vnodes_per_weight_);
  } else {
    maglev_.build(set_->hosts, weights_,
                  MaglevTable::tableSizeFor(maglev_table_size_, set_->size()));
  }
}

size_t ConsistentHashBalancer::primary(uint64_t mixed_key) const {
  return use_ring_ ? ring_.lookup(mixed_key) : maglev_.lookup(mixed_key);
}

Host* ConsistentHashBalancer::owner(uint64_t key) const {
  if (!set_ || set_->empty()) return nullptr;
  return set_->hosts[primary(mix64(key))].get();
}

// First host accepted along the key's preference order, or npos.
template <typename Accept>
size_t ConsistentHashBalancer::walk(uint64_t mixed_key, Accept&& accept) const {
  const size_t n = set_->size();
  size_t first = 0;
  if (use_ring_) {
    size_t p = ring_.findPoint(mixed_key);
    first = ring_.owner(p);
    const size_t limit = ring_.points();
    for (size_t k = 0; k < limit; ++k, p = ring_.nextPoint(p)) {
      const size_t h = ring_.owner(p);
      if (accept(h)) return h;
    }
  } else {
    const uint64_t m = maglev_.size();
    uint64_t slot = mixed_key % m;
    first = maglev_.owner(slot);
    const uint64_t stride = mix64(mixed_key ^ kStrideSalt) % (m - 1) + 1;
    for (int k = 0; k < kMaxProbes; ++k) {
      const size_t h = maglev_.owner(slot);
      if (accept(h)) return h;
      slot += stride;
      if (slot >= m) slot -= m;
    }
  }
  for (size_t k = 1; k < n; ++k) {
    const size_t h = (first + k) % n;
    if (accept(h)) return h;
  }
  return std::string::npos;
}

Host* ConsistentHashBalancer::pick(const PickContext& ctx) {
  const size_t n = set_ ? set_->size() : 0;
  if (n == 0) return nullptr;
  if (!ctx.hash_key) {
    return set_->hosts[twoChoicesLeastRequest(*set_, weights_, equal_, ctx.exclude, random_.get())]
        .get();
  }
  const uint64_t key = mix64(*ctx.hash_key);
  const auto allowed = [&](size_t i) { return !isExcluded(set_->hosts[i].get(), ctx.exclude); };
  size_t chosen = std::string::npos;
  if (balance_factor_ > 1) {
    uint64_t total = 0;
    if (ctx.total_in_flight) {
      total = static_cast<uint64_t>(std::max<int64_t>(*ctx.total_in_flight, 0));
    } else {
      for (const HostPtr& h : set_->hosts) total += activeRequests(*h);
    }
    const double budget = balance_factor_ * static_cast<double>(total + 1);
    const auto has_room = [&](size_t i) {
      const double share = equal_ ? budget / static_cast<double>(n)
                                  : budget * weights_[i] / static_cast<double>(total_weight_);
      // The epsilon keeps an exact integer quotient from rounding up through float error.
      const auto cap = static_cast<uint64_t>(std::ceil(share - 1e-9));
      return activeRequests(*set_->hosts[i]) < cap;
    };
    chosen = walk(key, [&](size_t i) { return allowed(i) && has_room(i); });
  } else if (ctx.exclude.empty()) {
    chosen = primary(key);
  }
  if (chosen == std::string::npos) chosen = walk(key, allowed);
  if (chosen == std::string::npos) chosen = primary(key);  // every host excluded
  return set_->hosts[chosen].get();
}

}  // namespace surge::lb
