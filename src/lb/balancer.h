// Balancer: the interface every load-balancing algorithm implements (HAProxy's lb_ops, Katran's
// CHFactory). One algorithm per file; chosen by name from the registry in registry.cc.
// Threading: one Balancer instance per worker thread (Envoy's thread-local balancers). update()
// and pick() are called only from that worker; Host load counters are shared atomics, so
// least-connections sees the in-flight requests of all workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/status.h"
#include "lb/host.h"
#include "lb/host_set.h"

namespace surge::lb {

// What a single pick may depend on besides the host set.
struct PickContext {
  TimePoint now{};
  // Key for consistent hashing (hash of the header/query/cookie value); nullopt = no key.
  std::optional<uint64_t> hash_key;
  // Hosts already tried for this request (retries go to a different host when one exists).
  std::span<const Host* const> exclude{};
  // Optional: total in-flight requests over the set's hosts, when the caller keeps that count
  // (e.g. an atomic bumped beside Host::onRequestStart/End). Bounded-load consistent hashing
  // then skips its O(n) sum over the hosts. nullopt = the balancer sums Host::inFlight().
  std::optional<int64_t> total_in_flight;
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Replaces the host set (eligible hosts and effective weights). O(n) or the algorithm's build
  // cost (Maglev: O(M)); never called on the request path unless the set changed.
  virtual void update(std::shared_ptr<const HostSet> hosts) = 0;
  // Chooses a host from the current set, never one in ctx.exclude unless every host is excluded
  // (then it may return an excluded one). Returns nullptr only when the set is empty.
  virtual Host* pick(const PickContext& ctx) = 0;
};

// Options of every algorithm, validated at config load. Names equal the config keys.
struct BalancerOptions {
  std::string algorithm = "least_latency";
  // consistent_hash
  std::string hash_method = "maglev";     // "maglev" | "ring"
  uint64_t maglev_table_size = 65537;     // prime; raised to nextPrime(size x 2^k) >= 100 x hosts
  uint32_t ring_vnodes_per_weight = 160;  // ring points per unit of weight (nginx: 160)
  double hash_balance_factor = 0;         // 0 = unbounded; else > 1 (e.g. 1.25)
  // least_latency (peak EWMA)
  Duration ewma_tau = std::chrono::seconds(10);
  Duration default_rtt = std::chrono::milliseconds(30);  // estimate of a host without samples
  // least_connections: full scan up to this many hosts, two distinct random choices above it
  size_t full_scan_max_hosts = 16;
};

// Registry: builds the named algorithm. Unknown name or bad option → InvalidArgument naming it.
StatusOr<std::unique_ptr<Balancer>> makeBalancer(const BalancerOptions& options, Random* random);
// The registered names, in registry order.
const std::vector<std::string>& balancerNames();
// Validates options without building (for config loading).
Status validateBalancerOptions(const BalancerOptions& options);

}  // namespace surge::lb
