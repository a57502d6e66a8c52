// Test helpers for the lb module (test-only; not part of surge_lb).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "lb/balancer.h"
#include "lb/host.h"
#include "lb/host_set.h"

namespace surge::lb::testing {

inline const TimePoint kNow = TimePoint(std::chrono::hours(1));

// "h0000:80", "h0001:80", ... (sorted by address in index order).
inline std::string addressOf(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "h%04zu:80", i);
  return buf;
}

inline std::vector<HostPtr> makeHosts(size_t n, uint32_t weight = 1, std::string zone = "") {
  std::vector<HostPtr> v;
  for (size_t i = 0; i < n; ++i) v.push_back(std::make_shared<Host>(addressOf(i), weight, zone));
  return v;
}

// Snapshot with default options (panic threshold 50%, no slow start, no zones).
inline std::shared_ptr<const HostSet> setOf(const std::vector<HostPtr>& hosts, TimePoint now = kNow,
                                            uint64_t version = 1) {
  return buildHostSet(hosts, HostSetOptions{}, now, version);
}

// A hand-built set that keeps the given order and weights (bypasses buildHostSet's sorting).
inline std::shared_ptr<const HostSet> rawSetOf(const std::vector<HostPtr>& hosts,
                                               std::vector<uint32_t> weights = {}) {
  auto s = std::make_shared<HostSet>();
  s->hosts = hosts;
  s->weights = weights.empty() ? std::vector<uint32_t>(hosts.size(), 1) : std::move(weights);
  s->equal_weights = true;
  for (uint32_t w : s->weights) s->equal_weights = s->equal_weights && w == s->weights.front();
  return s;
}

inline std::unique_ptr<Balancer> mustMake(const BalancerOptions& options, Random* random) {
  auto b = makeBalancer(options, random);
  if (!b.isOk()) std::abort();
  return std::move(b).value();
}

inline std::unique_ptr<Balancer> mustMake(const std::string& algorithm, Random* random) {
  BalancerOptions o;
  o.algorithm = algorithm;
  return mustMake(o, random);
}

inline PickContext ctxAt(TimePoint now = kNow) {
  PickContext c;
  c.now = now;
  return c;
}

inline PickContext keyed(uint64_t key, TimePoint now = kNow) {
  PickContext c;
  c.now = now;
  c.hash_key = key;
  return c;
}

}  // namespace surge::lb::testing
