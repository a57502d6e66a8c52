#include "lb/host_set.h"

#include <algorithm>
#include <cmath>

namespace surge::lb {
namespace {

// Slow-start factor in [min%, 1] of a host at `now`, or 1 when it is outside its window.
double rampFactor(const Host& h, const HostSetOptions& o, TimePoint now) {
  if (o.slow_start <= Duration::zero()) return 1.0;
  const TimePoint since = h.healthySince();
  if (now >= since + o.slow_start) return 1.0;
  const double min = std::clamp(o.slow_start_min_weight_percent, 0.0, 100.0) / 100.0;
  const double elapsed = std::max(0.0, toSeconds(now - since));
  return min + (1.0 - min) * (elapsed / toSeconds(o.slow_start));
}

bool inRamp(const Host& h, const HostSetOptions& o, TimePoint now) {
  return o.slow_start > Duration::zero() && now < h.healthySince() + o.slow_start;
}

}  // namespace

std::shared_ptr<const HostSet> buildHostSet(const std::vector<HostPtr>& all,
                                            const HostSetOptions& options, TimePoint now,
                                            uint64_t version) {
  auto set = std::make_shared<HostSet>();
  set->version = version;

  size_t candidates = 0;  // non-draining
  size_t eligible = 0;
  size_t local_total = 0;
  size_t local_eligible = 0;
  const bool zone_aware = options.zone_aware && !options.local_zone.empty();
  for (const HostPtr& h : all) {
    if (!h || h->draining()) continue;
    ++candidates;
    const bool ok = h->eligible(now);
    eligible += ok;
    if (zone_aware && h->zone() == options.local_zone) {
      ++local_total;
      local_eligible += ok;
    }
  }

  // Envoy: below the threshold, spreading over every host beats overloading the few healthy ones.
  // Zone-aware routing is skipped in panic mode, as in Envoy.
  set->panic = options.panic_threshold_percent > 0 && candidates > 0 &&
               static_cast<double>(eligible) * 100.0 <
                   options.panic_threshold_percent * static_cast<double>(candidates);
  set->local_zone_only =
      !set->panic && zone_aware && local_eligible > 0 &&
      static_cast<double>(local_eligible) * 100.0 >=
          options.zone_min_healthy_percent * static_cast<double>(local_total);

  set->hosts.reserve(set->panic ? candidates : eligible);
  for (const HostPtr& h : all) {
    if (!h || h->draining()) continue;
    if (!set->panic && !h->eligible(now)) continue;
    if (set->local_zone_only && h->zone() != options.local_zone) continue;
    set->hosts.push_back(h);
  }
  std::sort(set->hosts.begin(), set->hosts.end(), [](const HostPtr& a, const HostPtr& b) {
    return a->address() < b->address();
  });

  bool ramping = false;
  for (const HostPtr& h : set->hosts) ramping = ramping || inRamp(*h, options, now);
  set->weight_scale = ramping ? kRampWeightScale : 1;
  set->weights.reserve(set->hosts.size());
  for (const HostPtr& h : set->hosts) {
    const double configured = std::max<uint32_t>(h->weight(), 1);
    const double w = configured * set->weight_scale * rampFactor(*h, options, now);
    set->weights.push_back(static_cast<uint32_t>(std::max(1.0, std::round(w))));
  }
  set->equal_weights = std::adjacent_find(set->weights.begin(), set->weights.end(),
                                          std::not_equal_to<>()) == set->weights.end();
  return set;
}

bool anyHostRamping(const std::vector<HostPtr>& all, const HostSetOptions& options,
                    TimePoint now) {
  return std::any_of(all.begin(), all.end(), [&](const HostPtr& h) {
    return h && !h->draining() && h->healthy() && inRamp(*h, options, now);
  });
}

}  // namespace surge::lb
