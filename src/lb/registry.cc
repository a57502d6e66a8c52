// The one table of load-balancing algorithms: name (= config key) → factory. Adding an algorithm
// is one line here (plus its file, its line in the conformance suite and the benchmark).
#include <cmath>
#include <string>

#include "lb/balancer.h"
#include "lb/consistent_hash.h"
#include "lb/least_connections.h"
#include "lb/least_latency.h"
#include "lb/maglev.h"
#include "lb/power_of_two.h"
#include "lb/random.h"
#include "lb/round_robin.h"
#include "lb/weighted.h"

namespace surge::lb {
namespace {

using Factory = std::unique_ptr<Balancer> (*)(const BalancerOptions&, Random*);

template <typename T>
std::unique_ptr<Balancer> make(const BalancerOptions& options, Random* random) {
  return std::make_unique<T>(options, random);
}

struct Entry {
  const char* name;
  Factory factory;
};

constexpr Entry kRegistry[] = {
    {"round_robin", &make<RoundRobinBalancer>},
    {"weighted", &make<WeightedBalancer>},
    {"random", &make<RandomBalancer>},
    {"least_connections", &make<LeastConnectionsBalancer>},
    {"power_of_two", &make<PowerOfTwoBalancer>},
    {"least_latency", &make<LeastLatencyBalancer>},
    {"consistent_hash", &make<ConsistentHashBalancer>},
};

constexpr uint64_t kMaxMaglevTableSize = uint64_t{1} << 24;
constexpr uint32_t kMaxRingVnodes = 10000;

const Entry* find(const std::string& name) {
  for (const Entry& e : kRegistry) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

std::string joinedNames() {
  std::string s;
  for (const std::string& n : balancerNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const std::vector<std::string>& balancerNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Entry& e : kRegistry) v.emplace_back(e.name);
    return v;
  }();
  return names;
}

Status validateBalancerOptions(const BalancerOptions& o) {
  if (!find(o.algorithm)) {
    return invalidArgument("unknown load-balancing algorithm \"" + o.algorithm +
                           "\"; valid: " + joinedNames());
  }
  if (o.hash_method != "maglev" && o.hash_method != "ring") {
    return invalidArgument("hash_method must be \"maglev\" or \"ring\", got \"" + o.hash_method +
                           "\"");
  }
  if (o.maglev_table_size > kMaxMaglevTableSize || !isPrime(o.maglev_table_size)) {
    return invalidArgument("maglev_table_size must be a prime no larger than " +
                           std::to_string(kMaxMaglevTableSize) + " (e.g. 65537), got " +
                           std::to_string(o.maglev_table_size));
  }
  if (o.ring_vnodes_per_weight < 1 || o.ring_vnodes_per_weight > kMaxRingVnodes) {
    return invalidArgument("ring_vnodes_per_weight must be within 1.." +
                           std::to_string(kMaxRingVnodes) + ", got " +
                           std::to_string(o.ring_vnodes_per_weight));
  }
  if (!std::isfinite(o.hash_balance_factor) ||
      (o.hash_balance_factor != 0 && o.hash_balance_factor <= 1)) {
    return invalidArgument(
        "hash_balance_factor must be 0 (unbounded) or greater than 1 (e.g. 1.25), got " +
        std::to_string(o.hash_balance_factor));
  }
  if (o.ewma_tau <= Duration::zero()) {
    return invalidArgument("ewma_tau must be positive");
  }
  if (o.default_rtt <= Duration::zero()) {
    return invalidArgument("default_rtt must be positive (a host without samples must not look free)");
  }
  return Status::ok();
}

StatusOr<std::unique_ptr<Balancer>> makeBalancer(const BalancerOptions& options, Random* random) {
  RETURN_IF_ERROR(validateBalancerOptions(options));
  return find(options.algorithm)->factory(options, random);
}

}  // namespace surge::lb
