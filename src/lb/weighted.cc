#include "lb/weighted.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace surge::lb {
namespace {
// Fold step_ into base_ now and then so that step x weight never nears int64 overflow.
constexpr int64_t kRebaseSteps = int64_t{1} << 20;
}  // namespace

WeightedBalancer::WeightedBalancer(const BalancerOptions& /*options*/, Random* /*random*/) {}

void WeightedBalancer::update(std::shared_ptr<const HostSet> hosts) {
  std::unordered_map<std::string_view, int64_t> kept;
  if (set_) {
    kept.reserve(set_->size());
    for (size_t i = 0; i < set_->size(); ++i) kept.emplace(set_->hosts[i]->address(), currentWeight(i));
  }
  const uint32_t old_scale = weight_scale_;
  const auto old_set = std::move(set_);  // keeps the string_views above alive until we are done
  set_ = std::move(hosts);
  const size_t n = set_ ? set_->size() : 0;
  weight_scale_ = set_ ? std::max<uint32_t>(set_->weight_scale, 1) : 1;
  const std::vector<uint32_t> w = set_ ? effectiveWeights(*set_) : std::vector<uint32_t>{};
  weight_.assign(w.begin(), w.end());
  base_.assign(n, 0);
  step_ = 0;
  total_ = 0;
  for (size_t i = 0; i < n; ++i) {
    total_ += weight_[i];
    auto it = kept.find(set_->hosts[i]->address());
    if (it == kept.end()) continue;
    // Weights change units when slow start begins or ends; keep the current weight's meaning.
    base_[i] = it->second * static_cast<int64_t>(weight_scale_) / static_cast<int64_t>(old_scale);
  }
  classes_.clear();
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return weight_[a] < weight_[b]; });
  for (uint32_t i : order) {
    if (classes_.empty() || classes_.back().weight != weight_[i]) {
      classes_.push_back({weight_[i], {}, 0});
    }
    classes_.back().ring.push_back(i);
  }
  for (WeightClass& c : classes_) {
    std::sort(c.ring.begin(), c.ring.end(), [&](uint32_t a, uint32_t b) { return better(a, b); });
  }
}

void WeightedBalancer::rotateFront(WeightClass& c) {
  const size_t k = c.ring.size();
  c.head = c.head + 1 == k ? 0 : c.head + 1;
  // The old front now sits at the back; bubble it forward while it beats its predecessor.
  size_t pos = c.head == 0 ? k - 1 : c.head - 1;
  for (size_t moved = 0; moved + 1 < k; ++moved) {
    const size_t prev = pos == 0 ? k - 1 : pos - 1;
    if (!better(c.ring[pos], c.ring[prev])) break;
    std::swap(c.ring[pos], c.ring[prev]);
    pos = prev;
  }
}

void WeightedBalancer::resort(WeightClass& c) {
  std::rotate(c.ring.begin(), c.ring.begin() + static_cast<std::ptrdiff_t>(c.head), c.ring.end());
  c.head = 0;
  for (size_t i = 1; i < c.ring.size(); ++i) {
    for (size_t j = i; j > 0 && better(c.ring[j], c.ring[j - 1]); --j) {
      std::swap(c.ring[j], c.ring[j - 1]);
    }
  }
}

void WeightedBalancer::rebase() {
  for (size_t i = 0; i < base_.size(); ++i) base_[i] += step_ * weight_[i];
  step_ = 0;  // same shift within a weight class: order unchanged
}

size_t WeightedBalancer::pickExcluding(ExcludeList exclude) {
  // nginx's own loop: excluded peers get no increment and do not count in the total.
  const size_t n = base_.size();
  int64_t total = 0;
  size_t best = n;
  for (size_t i = 0; i < n; ++i) {
    if (isExcluded(set_->hosts[i].get(), exclude)) continue;
    base_[i] += weight_[i];
    total += weight_[i];
    if (best == n || currentWeight(i) > currentWeight(best)) best = i;
  }
  if (best == n) return n;
  base_[best] -= total;
  for (WeightClass& c : classes_) resort(c);
  return best;
}

Host* WeightedBalancer::pick(const PickContext& ctx) {
  const size_t n = base_.size();
  if (n == 0) return nullptr;
  if (!ctx.exclude.empty()) {
    const size_t i = pickExcluding(ctx.exclude);
    if (i < n) return set_->hosts[i].get();
  }
  ++step_;
  WeightClass* best_class = nullptr;
  uint32_t best = 0;
  int64_t best_current = 0;
  for (WeightClass& c : classes_) {
    const uint32_t top = c.ring[c.head];
    const int64_t current = base_[top] + step_ * c.weight;
    if (!best_class || current > best_current || (current == best_current && top < best)) {
      best_class = &c;
      best = top;
      best_current = current;
    }
  }
  base_[best] -= total_;
  rotateFront(*best_class);
  if (step_ >= kRebaseSteps) rebase();
  return set_->hosts[best].get();
}

}  // namespace surge::lb
